//! The DaskHub example through the `hdh` binary on a private emulator (realistic profile,
//! scaled time) with the stand-in `helm`/`kubectl` first on PATH: a scratch directory holding a
//! copy of `examples/daskhub.yaml`, a runner that keeps everything hdh printed (tests search it
//! for secrets), and the stand-in tools with a kubeconfig naming the cluster.

use std::path::{Path, PathBuf};

use hdh_testcloud::{Emulator, Profile};

use super::runner::{Hdh, Ran};

/// A DaskHub stack's scratch directory and the private emulator it is applied to.
pub struct Hub {
    pub time_scale: f64,
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub emu: Emulator,
    /// Everything hdh printed, to search for secrets at the end.
    pub printed: String,
}

impl Hub {
    /// hdh in the stack's directory against its emulator, with the test's environment
    /// otherwise; callers add the time scale and TMPDIR they want.
    pub fn runner(&self) -> Hdh {
        Hdh::plain().dir(&self.dir).envs(self.emu.env())
    }

    /// Runs hdh (`--no-color`, the stack's time scale and TMPDIR) to its end and keeps what it
    /// printed.
    pub fn hdh(&mut self, args: &[&str]) -> Ran {
        let ran = self
            .runner()
            .env("HDH_TIME_SCALE", self.time_scale.to_string())
            .env("TMPDIR", self.tmpdir())
            .run(args.iter().chain(&["--no-color"]));
        self.printed.push_str(&ran.stdout);
        self.printed.push_str(&ran.stderr);
        ran
    }

    /// [`Hub::hdh`], which must exit 0; returns what it printed.
    pub fn ok(&mut self, args: &[&str]) -> String {
        let ran = self.hdh(args);
        ran.assert_success(&format!("hdh {args:?}"));
        ran.printed()
    }

    /// hdh's TMPDIR: inside the run's scratch directory, so a test sees what a run leaves there.
    pub fn tmpdir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    pub fn edit(&self, from: &str, to: &str) {
        let p = self.dir.join("daskhub.yaml");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{from} not in the config");
        std::fs::write(&p, text.replace(from, to)).unwrap();
    }

    /// `helm get values` / `status` through the stand-in, with a kubeconfig naming the cluster.
    pub fn tool(&self, tool: &str, args: &[&str]) -> String {
        let kc = self.dir.join("test-kubeconfig");
        std::fs::write(
            &kc,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: eks-helio\n  cluster: { server: https://unknown }\ncontexts:\n- name: c\n  context: { cluster: eks-helio, user: u }\ncurrent-context: c\nusers:\n- name: u\n  user: {}\n",
        )
        .unwrap();
        let mut all: Vec<&str> = args.to_vec();
        let kcs = kc.display().to_string();
        all.extend(["--kubeconfig", &kcs]);
        let out = self.emu.run_tool(tool, &all).unwrap();
        assert!(out.success(), "{tool} {args:?}: {}", out.stderr);
        out.stdout
    }

    /// The hosted zone the example's DNS record goes in, made beforehand as the admin's account
    /// already has it (hdh looks it up, never creates it); returns its id.
    pub async fn hosted_zone(&self) -> String {
        let r53 = aws_sdk_route53::Client::new(&self.emu.aws_config("us-east-1").await);
        let made = r53
            .create_hosted_zone()
            .name("example.org")
            .caller_reference("hub")
            .send()
            .await
            .unwrap();
        let id = made.hosted_zone().unwrap().id();
        id.trim_start_matches("/hostedzone/").to_string()
    }

    pub fn helm_values(&self) -> serde_json::Value {
        serde_json::from_str(&self.tool(
            "helm",
            &["get", "values", "daskhub", "-n", "daskhub", "-o", "json"],
        ))
        .unwrap()
    }
}

/// A private emulator (realistic profile at `time_scale`) and a scratch copy of the example.
pub fn setup(time_scale: f64) -> Hub {
    let emu = Emulator::builder()
        .profile(Profile::Realistic)
        .time_scale(time_scale)
        .start()
        .expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/daskhub.yaml");
    std::fs::copy(example, dir.join("daskhub.yaml")).unwrap();
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    Hub {
        time_scale,
        _tmp: tmp,
        dir,
        emu,
        printed: String::new(),
    }
}
