//! Everything hdh shows: plans as text, JSON, Markdown and saved files, apply progress, state
//! listings.
//! Only this module and `main` print; sensitive values pass through `Value`'s redacting forms.

pub mod closing;
pub mod plan_json;
pub mod plan_markdown;
pub mod plan_text;
pub mod progress;
pub mod run_json;
pub mod value_paths;
