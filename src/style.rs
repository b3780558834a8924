//! How the terminal is written to, set once from the command line: colours (on only for a
//! terminal, off with --no-color or NO_COLOR) and how much detail (`-v`).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

static COLOR: AtomicBool = AtomicBool::new(false);
static VERBOSE: AtomicBool = AtomicBool::new(false);

pub fn init(no_color: bool, verbose: u8) {
    let on = !no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
    COLOR.store(on, Ordering::Relaxed);
    VERBOSE.store(verbose > 0, Ordering::Relaxed);
}

/// `-v`: what providers report from inside long calls, refresh figures.
pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

fn paint(code: &str, text: &str) -> String {
    if COLOR.load(Ordering::Relaxed) {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

pub fn green(t: &str) -> String {
    paint("32", t)
}

pub fn yellow(t: &str) -> String {
    paint("33", t)
}

pub fn red(t: &str) -> String {
    paint("31", t)
}

pub fn cyan(t: &str) -> String {
    paint("36", t)
}

pub fn bold(t: &str) -> String {
    paint("1", t)
}

pub fn dim(t: &str) -> String {
    paint("2", t)
}
