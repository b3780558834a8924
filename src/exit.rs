//! Exit codes, and the one error type the CLI maps onto them: a one-line cause, an optional
//! hint, and a code. Everything a user can get wrong ends here, never in a panic.

use std::fmt;

/// What the process exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Error = 1,
    /// `--detailed-exitcode`: the plan has changes.
    Changes = 2,
    /// `--fail-on`: the plan does what was forbidden.
    Forbidden = 3,
    /// Ctrl-C: stopped after in-flight work, state saved.
    Interrupted = 130,
}

/// A failure with a message meant for the user and, where it helps, what to do about it.
#[derive(Debug)]
pub struct UserError {
    pub message: String,
    pub hint: Option<String>,
    pub exit: Exit,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        UserError {
            message: message.into(),
            hint: None,
            exit: Exit::Error,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// Shorthand for returning a [`UserError`].
pub fn user_error(message: impl Into<String>) -> anyhow::Error {
    UserError::new(message).into()
}
