//! The one way the tests run the `hdh` binary: [`Hdh`] says how (working directory,
//! environment), [`Ran`] is what a run ended with.
//!
//! `env!("CARGO_BIN_EXE_hdh")` is defined for every integration test of the `hdh` package, and
//! this file is compiled into each of them (`mod support;`), so the path is known here.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};

use hdh_testcloud::{Emulator, KillAt};

/// How to run hdh: its working directory and environment. Stdin is always empty.
///
/// [`Hdh::new`] is how the CLI tests run it (`NO_COLOR=1`, `USER=tester`); [`Hdh::plain`] adds
/// nothing to the test's own environment. Variables are applied in the order they were given,
/// so a later one wins.
#[derive(Clone)]
pub struct Hdh {
    program: OsString,
    dir: Option<PathBuf>,
    clear_env: ClearEnv,
    /// `(name, Some(value))` sets, `(name, None)` removes.
    vars: Vec<(OsString, Option<OsString>)>,
}

#[derive(Clone, Copy, PartialEq)]
enum ClearEnv {
    No,
    All,
    KeepPath,
}

impl Default for Hdh {
    fn default() -> Self {
        Hdh::new()
    }
}

impl Hdh {
    /// hdh as the CLI tests run it: no colours, and `tester` as the user a lock names.
    pub fn new() -> Hdh {
        Hdh::plain().no_color().env("USER", "tester")
    }

    /// hdh with the test's environment as it is, plus what is added here.
    pub fn plain() -> Hdh {
        Hdh {
            program: env!("CARGO_BIN_EXE_hdh").into(),
            dir: None,
            clear_env: ClearEnv::No,
            vars: Vec::new(),
        }
    }

    /// Another build of hdh than this test's (a release, or a copy kept while the tree is
    /// rebuilt).
    pub fn program(mut self, path: impl Into<OsString>) -> Hdh {
        self.program = path.into();
        self
    }

    pub fn dir(mut self, dir: impl AsRef<Path>) -> Hdh {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Hdh {
        self.vars.push((key.into(), Some(value.into())));
        self
    }

    pub fn envs<K: Into<OsString>, V: Into<OsString>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Hdh {
        for (key, value) in vars {
            self = self.env(key, value);
        }
        self
    }

    /// `key` unset, whatever the test's environment holds.
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Hdh {
        self.vars.push((key.into(), None));
        self
    }

    /// `NO_COLOR=1`.
    pub fn no_color(self) -> Hdh {
        self.env("NO_COLOR", "1")
    }

    /// None of the test's environment, not even PATH: only what is added here.
    pub fn clear_env(mut self) -> Hdh {
        self.clear_env = ClearEnv::All;
        self
    }

    /// None of the test's environment but its PATH.
    pub fn clear_env_keep_path(mut self) -> Hdh {
        self.clear_env = ClearEnv::KeepPath;
        self
    }

    /// No AWS config or credentials file and no instance metadata: the SDK finds only what the
    /// environment gives it.
    pub fn without_aws_config_files(self) -> Hdh {
        self.env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_EC2_METADATA_DISABLED", "true")
    }

    fn configure(&self, cmd: &mut Command) {
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        if self.clear_env != ClearEnv::No {
            cmd.env_clear();
        }
        if self.clear_env == ClearEnv::KeepPath {
            cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
        }
        for (key, value) in &self.vars {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd.stdin(Stdio::null());
    }

    /// The command, for callers that set its output streams themselves.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(args);
        self.configure(&mut cmd);
        cmd
    }

    /// The command through a `sh` that stops itself first and, once continued, becomes hdh with
    /// the same pid: a crash switch can be armed on that pid before hdh makes any call (see
    /// [`arm_and_continue`]).
    pub fn command_stopped<S: AsRef<std::ffi::OsStr>>(
        &self,
        args: impl IntoIterator<Item = S>,
    ) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("kill -STOP $$; exec \"$0\" \"$@\"")
            .arg(&self.program)
            .args(args);
        self.configure(&mut cmd);
        cmd
    }

    /// Runs hdh to its end, keeping what it printed.
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Ran {
        self.command(args).output().expect("hdh runs").into()
    }

    /// Starts hdh with stdout and stderr piped.
    pub fn spawn<S: AsRef<std::ffi::OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hdh starts")
    }
}

/// Waits for `child` (from [`Hdh::command_stopped`]) to stop, arms the emulator's crash switch
/// on it, and lets it go on.
pub fn arm_and_continue(child: &Child, emu: &Emulator, kill: &KillAt) {
    let pid = child.id() as libc::pid_t;
    let mut wstatus = 0;
    // SAFETY: waitpid on our own child; WUNTRACED only reports the stop, reaps nothing.
    let r = unsafe { libc::waitpid(pid, &mut wstatus, libc::WUNTRACED) };
    assert!(
        r == pid && libc::WIFSTOPPED(wstatus),
        "the launcher did not stop"
    );
    emu.arm_crash(pid as u32, kill)
        .expect("arm the crash switch");
    // SAFETY: signalling our own stopped child.
    unsafe { libc::kill(pid, libc::SIGCONT) };
}

/// What one hdh run ended with.
pub struct Ran {
    pub status: ExitStatus,
    /// The exit code; -1 when a signal ended the run.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn new(status: ExitStatus, stdout: &[u8], stderr: &[u8]) -> Ran {
        Ran {
            status,
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(stdout).into_owned(),
            stderr: String::from_utf8_lossy(stderr).into_owned(),
        }
    }

    /// Exit code, stdout and stderr, as the snapshots show a run.
    pub fn text(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// Everything it printed: stdout, then stderr.
    pub fn printed(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The last `n` lines of what it printed, for failure reports.
    pub fn tail(&self, n: usize) -> String {
        let printed = self.printed();
        let lines: Vec<&str> = printed.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Panics, showing what the run printed, unless it exited 0.
    pub fn assert_success(&self, what: &str) -> &Ran {
        assert!(self.status.success(), "{what} failed:\n{}", self.text());
        self
    }
}

impl From<Output> for Ran {
    fn from(out: Output) -> Ran {
        Ran::new(out.status, &out.stdout, &out.stderr)
    }
}
