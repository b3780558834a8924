//! The `snap!` macro: an insta snapshot named without the module, with what changes from run to
//! run (hashes, ids, times, pids, the host) redacted.

/// The redactions every snapshot gets, in the order they apply.
pub const REDACTIONS: &[(&str, &str)] = &[
    (r"\b[0-9a-f]{64}\b", "[sha256]"),
    (
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        "[uuid]",
    ),
    (r"\b[0-9a-f]{16}\b", "[id]"),
    (r"\[\d+\.\d+s\]", "[time]"),
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[timestamp]"),
    (r"pid \d+", "pid [pid]"),
    (r"tester@[\w.-]+", "tester@[host]"),
    (r"\([0-9smhd ]+ ago\)", "([age] ago)"),
];

/// Insta's settings for a snapshot: `filters` in that order, no module in the name.
pub fn settings(filters: &[(&str, &str)]) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_filters(filters.to_vec());
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// `snap!(name, value)` pins `value` as snapshot `name` with [`REDACTIONS`];
/// `snap!(name, value, [extra, ...])` applies the extra `(regex, replacement)` pairs after them.
#[macro_export]
macro_rules! snap {
    ($name:expr, $value:expr) => {
        $crate::snap!($name, $value, [])
    };
    ($name:expr, $value:expr, [$($extra:expr),* $(,)?]) => {{
        let extra: &[(&str, &str)] = &[$($extra),*];
        let filters = [$crate::support::snap::REDACTIONS, extra].concat();
        $crate::support::snap::settings(&filters).bind(|| {
            insta::assert_snapshot!($name, $value);
        });
    }};
}
