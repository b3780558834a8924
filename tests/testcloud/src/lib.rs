//! hdh's test cloud for Rust tests: a private AWS emulator per test.
//!
//! [`Emulator::start`] (or [`Emulator::builder`]) runs `tests/emulator/serve --port 0`, waits for
//! its `ready http://127.0.0.1:PORT` line, and hands out the endpoint. Each test gets its own
//! process on its own port, so tests run in parallel; dropping the [`Emulator`] stops its whole
//! process group, and the emulator also exits by itself when the test process dies (it watches
//! its standard input). See `tests/emulator/README.md` for what the emulator does.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hdh_testcloud::Error> {
//! use hdh_testcloud::{Emulator, Profile};
//! let emu = Emulator::builder().profile(Profile::Realistic).time_scale(0.001).start()?;
//! let config = emu.aws_config("us-east-1").await;
//! let ec2 = aws_sdk_sts::Client::new(&config);
//! emu.reset()?;
//! # let _ = ec2; Ok(()) }
//! ```

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

/// Time scale used when a test does not choose one: realistic durations run 1000 times faster
/// (a 12-minute EKS cluster creation takes 0.72 s).
pub const DEFAULT_TIME_SCALE: f64 = 0.001;

/// Dummy credentials every client of the emulator uses.
pub const ACCESS_KEY_ID: &str = "testing";
/// See [`ACCESS_KEY_ID`].
pub const SECRET_ACCESS_KEY: &str = "testing";

/// Everything that can go wrong while starting or talking to an emulator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The launcher could not be executed.
    #[error("cannot run the emulator launcher {program}: {source}")]
    Spawn {
        /// Path of the launcher (`tests/emulator/serve`).
        program: PathBuf,
        /// Why it could not be run.
        source: std::io::Error,
    },
    /// No ready line arrived in time.
    #[error(
        "the emulator did not report ready within {waited:?} (its stderr is this test's stderr)"
    )]
    StartTimeout {
        /// How long we waited.
        waited: Duration,
    },
    /// The launcher exited (or closed stdout) before it was ready.
    #[error("the emulator exited before it was ready: {status}")]
    ExitedEarly {
        /// Exit status, as text.
        status: String,
    },
    /// The first line on stdout was not the ready line.
    #[error("the emulator printed {line:?} instead of its ready line")]
    BadReadyLine {
        /// What it printed.
        line: String,
    },
    /// A control-API call failed (connection, HTTP status or body).
    #[error("control call {method} {path} failed: {message}")]
    Control {
        /// HTTP method.
        method: &'static str,
        /// Path under the endpoint.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A stand-in tool could not be run.
    #[error("cannot run stand-in {tool}: {source}")]
    Tool {
        /// `helm` or `kubectl`.
        tool: String,
        /// Why.
        source: std::io::Error,
    },
}

/// How AWS-like the emulator behaves; see `tests/emulator/profiles/`.
#[derive(Debug, Clone, PartialEq)]
pub enum Profile {
    /// moto's own behaviour: immediate, forgiving, no side effects.
    Instant,
    /// AWS-like durations, refusals and side effects (scaled by the time scale).
    Realistic,
    /// A JSON profile file (may name a `base` profile).
    File(PathBuf),
}

impl Profile {
    fn arg(&self) -> String {
        match self {
            Profile::Instant => "instant".into(),
            Profile::Realistic => "realistic".into(),
            Profile::File(p) => p.display().to_string(),
        }
    }
}

/// One record of the request log: one AWS call.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct LogRecord {
    /// Arrival order, from 1.
    pub seq: u64,
    /// RFC 3339 time.
    pub time: String,
    /// Seconds since the Unix epoch.
    pub unix: f64,
    /// Short service name: `ec2`, `eks`, `efs`, `elb`, `s3`, `iam`, `sts`, ...
    pub service: String,
    /// Operation name, e.g. `DescribeVpcs`.
    pub operation: String,
    /// Region of the call.
    pub region: String,
    /// HTTP status.
    pub status: u16,
    /// `ok` or the AWS error code.
    pub outcome: String,
    /// `throttle`, `error5xx`, `notfound_after_create`, or `None` when moto answered.
    pub fault: Option<String>,
    /// Time spent in the emulator.
    pub duration_ms: f64,
    /// A hash of the request's path, query and body: equal digests are the same request.
    #[serde(default)]
    pub digest: String,
    /// The crash switch's counted-call number (AWS calls and stand-in tool runs share it).
    #[serde(default)]
    pub call: Option<u64>,
    /// `before`/`after` when the crash switch killed the caller on this call.
    #[serde(default)]
    pub killed: Option<String>,
}

/// When the crash switch kills: before the call acts, or after it acted but before the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KillWhen {
    /// The call does nothing.
    Before,
    /// The call's change happened; the caller never sees the answer.
    After,
}

impl KillWhen {
    /// `before` / `after`, as the control API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            KillWhen::Before => "before",
            KillWhen::After => "after",
        }
    }
}

/// Where the crash switch fires: the `at`-th counted call from arming that matches the
/// optional service (`ec2`, `helm`…) and operation (`CreateSubnet`, `upgrade`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillAt {
    /// 1-based position among the matching calls.
    pub at: u64,
    /// Before or after the call acts.
    pub when: KillWhen,
    /// Only calls of this service count.
    pub service: Option<String>,
    /// Only calls of this operation count.
    pub operation: Option<String>,
    /// When not empty, only calls of one of these (service, operation) pairs count.
    pub any_of: Vec<(String, String)>,
}

/// One normalised thing in the emulator (`GET /_hdh/inventory`): ids and random tokens are `*`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InventoryItem {
    /// `ec2:subnet`, `eks:nodegroup`, `helm:release`, ...
    pub kind: String,
    /// The name a user recognises it by.
    pub name: String,
    /// Identifying tags, `k=v,k=v`.
    pub tags: String,
    /// What tells copies apart (CIDR, state, routes...).
    pub detail: String,
    /// How many indistinguishable copies exist.
    pub count: u32,
}

/// Output of a stand-in tool run.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// Exit code (`-1` if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl ToolOutput {
    /// Exit code 0?
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// Settings for [`Emulator::start`].
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    profile: Profile,
    time_scale: f64,
    seed: u64,
    faults: Option<String>,
    startup_timeout: Option<Duration>,
    serve: PathBuf,
    charts: Option<PathBuf>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            profile: Profile::Realistic,
            time_scale: DEFAULT_TIME_SCALE,
            seed: 0,
            faults: None,
            startup_timeout: None,
            serve: std::env::var_os("HDH_EMULATOR_SERVE")
                .map(PathBuf::from)
                .unwrap_or_else(|| emulator_dir().join("serve")),
            charts: None,
        }
    }
}

impl EmulatorBuilder {
    /// Behaviour profile (default: realistic).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// Multiplier for every profile duration (default [`DEFAULT_TIME_SCALE`]).
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Seed of the fault injection (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Fault spec, e.g. `throttle=0.3,error5xx=0.05,notfound_after_create=2s`.
    pub fn faults(mut self, spec: impl Into<String>) -> Self {
        self.faults = Some(spec.into());
        self
    }

    /// How long to wait for the ready line (default 60 s, or 15 min when the emulator's
    /// virtualenv does not exist yet and `serve` has to create it).
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = Some(timeout);
        self
    }

    /// Launcher to run instead of `tests/emulator/serve` (also: `HDH_EMULATOR_SERVE`).
    pub fn serve_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.serve = path.into();
        self
    }

    /// Where the offline DaskHub chart trees are (default: `HDH_DASKHUB_CHARTS` as inherited,
    /// else `/work/shared/charts`); the stand-in helm renders daskhub releases with them.
    pub fn charts_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.charts = Some(path.into());
        self
    }

    /// Start the emulator and wait until it accepts connections.
    pub fn start(self) -> Result<Emulator, Error> {
        let mut cmd = Command::new(&self.serve);
        if let Some(c) = &self.charts {
            cmd.env("HDH_DASKHUB_CHARTS", c);
        }
        cmd.args(["--port", "0", "--watch-stdin", "--profile"])
            .arg(self.profile.arg())
            .arg("--time-scale")
            .arg(format!("{}", self.time_scale))
            .arg("--seed")
            .arg(self.seed.to_string());
        if let Some(f) = &self.faults {
            cmd.arg("--faults").arg(f);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0);
        let mut child = cmd.spawn().map_err(|source| Error::Spawn {
            program: self.serve.clone(),
            source,
        })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("emulator-stdout".into())
            .spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut line = String::new();
                let first = reader.read_line(&mut line).map(|_| line.clone());
                let _ = tx.send(first);
                // keep draining so the emulator can never block on a full pipe
                let mut sink = [0u8; 4096];
                while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
            })
            .map_err(|source| Error::Spawn {
                program: self.serve.clone(),
                source,
            })?;
        let waited = self.startup_timeout.unwrap_or_else(|| {
            if self
                .serve
                .with_file_name(".venv")
                .join("bin/python")
                .exists()
            {
                Duration::from_secs(60)
            } else {
                Duration::from_secs(15 * 60)
            }
        });
        let guard = ChildGuard(Some(child));
        let line = match rx.recv_timeout(waited) {
            Ok(Ok(line)) if line.is_empty() => {
                let mut guard = guard;
                let status = guard.wait_exit();
                return Err(Error::ExitedEarly { status });
            }
            Ok(Ok(line)) => line,
            Ok(Err(e)) => {
                return Err(Error::ExitedEarly {
                    status: e.to_string(),
                })
            }
            Err(mpsc::RecvTimeoutError::Timeout) => return Err(Error::StartTimeout { waited }),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Error::ExitedEarly {
                    status: "stdout closed".into(),
                })
            }
        };
        let line = line.trim_end().to_string();
        let endpoint = match line.strip_prefix("ready ") {
            Some(url) if url.starts_with("http://127.0.0.1:") => url.to_string(),
            _ => return Err(Error::BadReadyLine { line }),
        };
        let port = endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| Error::BadReadyLine { line: line.clone() })?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Ok(Emulator {
            child: guard,
            _stdin: stdin,
            endpoint,
            port,
            agent,
        })
    }
}

/// Kills the emulator's process group when dropped.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn wait_exit(&mut self) -> String {
        match self.0.take().map(|mut c| c.wait()) {
            Some(Ok(status)) => status.to_string(),
            Some(Err(e)) => e.to_string(),
            None => "unknown".into(),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let Some(mut child) = self.0.take() else {
            return;
        };
        let pgid = child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals the process group we created with
        // process_group(0); it has no memory-safety preconditions.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    // SAFETY: as above.
                    unsafe {
                        libc::kill(-pgid, libc::SIGKILL);
                    }
                    let _ = child.wait();
                    break;
                }
            }
        }
        // SAFETY: as above; reaps nothing, just makes sure no straggler of the group survives.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

/// A running emulator, private to its owner. Dropping it stops it.
pub struct Emulator {
    child: ChildGuard,
    _stdin: Option<ChildStdin>,
    endpoint: String,
    port: u16,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// `tests/emulator/` of this checkout.
pub fn emulator_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../emulator")
}

impl Emulator {
    /// Start an emulator with the default settings (realistic profile, [`DEFAULT_TIME_SCALE`],
    /// seed 0, no faults).
    pub fn start() -> Result<Emulator, Error> {
        EmulatorBuilder::default().start()
    }

    /// Settings for a new emulator.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// `http://127.0.0.1:PORT`: the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Process id of the emulator (the leader of its process group).
    pub fn pid(&self) -> u32 {
        self.child.0.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// SDK configuration for this emulator: its endpoint, the region, dummy static credentials,
    /// the latest behaviour version and the SDK's standard retry policy.
    pub async fn aws_config(&self, region: &str) -> aws_config::SdkConfig {
        let credentials = aws_sdk_sts::config::Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "hdh-testcloud",
        );
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .endpoint_url(self.endpoint.clone())
            .credentials_provider(credentials)
            .load()
            .await
    }

    /// An S3 client for this emulator, with path-style addressing (`http://127.0.0.1:PORT/bucket`).
    pub async fn s3_client(&self, region: &str) -> aws_sdk_s3::Client {
        let config = self.aws_config(region).await;
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(s3)
    }

    /// Environment for child processes that should use this emulator: `AWS_ENDPOINT_URL`, dummy
    /// credentials, and `PATH` with the stand-in `helm`/`kubectl` first.
    pub fn env(&self) -> Vec<(String, String)> {
        let path = std::env::var("PATH").unwrap_or_default();
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), SECRET_ACCESS_KEY.into()),
            ("PATH".into(), format!("{}:{path}", bin_dir().display())),
        ]
    }

    /// Run a stand-in tool (`helm` or `kubectl`) against this emulator.
    pub fn run_tool(&self, tool: &str, args: &[&str]) -> Result<ToolOutput, Error> {
        let out = Command::new(bin_dir().join(tool))
            .args(args)
            .envs(self.env())
            .stdin(Stdio::null())
            .output()
            .map_err(|source| Error::Tool {
                tool: tool.to_string(),
                source,
            })?;
        Ok(ToolOutput {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    // -- control API ---------------------------------------------------------------------------

    fn control(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Error> {
        let url = format!("{}{}", self.endpoint, path);
        let err = |message: String| Error::Control {
            method,
            path: path.to_string(),
            message,
        };
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            (_, Some(body)) => self.agent.post(&url).send_json(body),
            (_, None) => self.agent.post(&url).send_empty(),
        }
        .map_err(|e| err(e.to_string()))?;
        let status = response.status().as_u16();
        let text = response
            .into_body()
            .read_to_string()
            .map_err(|e| err(e.to_string()))?;
        if status != 200 {
            return Err(err(format!("HTTP {status}: {text}")));
        }
        serde_json::from_str(&text).map_err(|e| err(format!("bad JSON ({e}): {text}")))
    }

    /// Forget every AWS resource, the request log, the scenario and pending transitions.
    /// Returns the time the emulator spent resetting, in milliseconds.
    pub fn reset(&self) -> Result<f64, Error> {
        let v = self.control("POST", "/_hdh/reset", None)?;
        Ok(v["ms"].as_f64().unwrap_or(f64::NAN))
    }

    /// Merge scenario flags, e.g. `json!({"leak_cni_enis": 1})`; returns all flags.
    pub fn scenario(&self, flags: Value) -> Result<Value, Error> {
        self.control("POST", "/_hdh/scenario", Some(&flags))
    }

    /// The whole request log.
    pub fn request_log(&self) -> Result<Vec<LogRecord>, Error> {
        self.request_log_since(0)
    }

    /// Request-log records with `seq` greater than `seq`.
    pub fn request_log_since(&self, seq: u64) -> Result<Vec<LogRecord>, Error> {
        let v = self.control("GET", &format!("/_hdh/log?since={seq}"), None)?;
        serde_json::from_value(v["records"].clone()).map_err(|e| Error::Control {
            method: "GET",
            path: "/_hdh/log".into(),
            message: e.to_string(),
        })
    }

    /// The stand-in tools' invocations (argv, resolved cluster, exit code), oldest first.
    pub fn tool_log(&self) -> Result<Vec<Value>, Error> {
        let v = self.control("GET", "/_hdh/k8s/log", None)?;
        Ok(v["records"].as_array().cloned().unwrap_or_default())
    }

    /// Profile, clock, faults, scenario, pending transitions and managed ENIs.
    pub fn state(&self) -> Result<Value, Error> {
        self.control("GET", "/_hdh/state", None)
    }

    /// Stop AWS time (transitions wait) until [`Emulator::resume_clock`].
    pub fn pause_clock(&self) -> Result<(), Error> {
        self.control(
            "POST",
            "/_hdh/clock",
            Some(&serde_json::json!({"pause": true})),
        )
        .map(drop)
    }

    /// Let AWS time run again.
    pub fn resume_clock(&self) -> Result<(), Error> {
        self.control(
            "POST",
            "/_hdh/clock",
            Some(&serde_json::json!({"pause": false})),
        )
        .map(drop)
    }

    /// Move AWS time forward by `aws_seconds` (unscaled profile seconds) and run what is due.
    pub fn advance(&self, aws_seconds: f64) -> Result<(), Error> {
        self.control(
            "POST",
            "/_hdh/clock",
            Some(&serde_json::json!({"advance": aws_seconds})),
        )
        .map(drop)
    }

    /// Arm the crash switch: SIGKILL `pid` at the call `kill` names (counted from now).
    pub fn arm_crash(&self, pid: u32, kill: &KillAt) -> Result<Value, Error> {
        let mut body = serde_json::json!({
            "pid": pid,
            "at": kill.at,
            "when": kill.when.as_str(),
        });
        if let Some(s) = &kill.service {
            body["service"] = Value::from(s.as_str());
        }
        if let Some(o) = &kill.operation {
            body["operation"] = Value::from(o.as_str());
        }
        if !kill.any_of.is_empty() {
            body["any_of"] = serde_json::json!(kill.any_of);
        }
        self.control("POST", "/_hdh/crash", Some(&body))
    }

    /// The crash switch: `calls` counted so far, `armed`, and `fired` (which call, result).
    pub fn crash_status(&self) -> Result<Value, Error> {
        self.control("GET", "/_hdh/crash", None)
    }

    /// Everything that exists in the emulator, normalised (see `hdh_emulator/inventory.py`).
    /// A walk that failed inside the emulator is an error, never a silently shorter list.
    pub fn inventory(&self) -> Result<Vec<InventoryItem>, Error> {
        let v = self.control("GET", "/_hdh/inventory", None)?;
        let err = |message: String| Error::Control {
            method: "GET",
            path: "/_hdh/inventory".into(),
            message,
        };
        if let Some(errors) = v["errors"].as_array().filter(|e| !e.is_empty()) {
            return Err(err(format!("inventory walk failed: {errors:?}")));
        }
        serde_json::from_value(v["items"].clone()).map_err(|e| err(e.to_string()))
    }

    /// Replace the fault spec (and seed) of the running emulator.
    pub fn set_faults(&self, spec: &str, seed: u64) -> Result<(), Error> {
        self.control(
            "POST",
            "/_hdh/faults",
            Some(&serde_json::json!({"spec": spec, "seed": seed})),
        )
        .map(drop)
    }
}

/// `tests/emulator/bin`: the stand-in `helm` and `kubectl`.
pub fn bin_dir() -> PathBuf {
    emulator_dir().join("bin")
}

/// Poll `check` until it returns `Some`, or fail after `deadline` with `what` in the message.
/// For waiting on emulator state without fixed sleeps.
pub async fn poll_until<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    let mut delay = Duration::from_millis(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > deadline {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(200));
    }
}
