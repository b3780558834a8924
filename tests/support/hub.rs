//! The DaskHub example through the `hdh` binary on a private emulator (realistic profile,
//! scaled time) with the stand-in `helm`/`kubectl` first on PATH: a scratch directory holding a
//! copy of `examples/daskhub.yaml`, a runner that keeps everything hdh printed (tests search it
//! for secrets), and the stand-in tools with a kubeconfig naming the cluster.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hdh_testcloud::{Emulator, Profile};

pub struct Run {
    pub time_scale: f64,
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub emu: Emulator,
    /// Everything hdh printed, to search for secrets at the end.
    pub printed: String,
}

impl Run {
    pub fn hdh(&mut self, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_hdh"))
            .args(args)
            .args(["--no-color"])
            .envs(self.emu.env())
            .env("HDH_TIME_SCALE", self.time_scale.to_string())
            .env("TMPDIR", self.tmpdir())
            .current_dir(&self.dir)
            .output()
            .expect("hdh runs");
        self.printed.push_str(&String::from_utf8_lossy(&out.stdout));
        self.printed.push_str(&String::from_utf8_lossy(&out.stderr));
        out
    }

    pub fn ok(&mut self, args: &[&str]) -> String {
        let out = self.hdh(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "hdh {args:?} failed:\n{text}");
        text
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
pub fn setup(time_scale: f64) -> Run {
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
    Run {
        time_scale,
        _tmp: tmp,
        dir,
        emu,
        printed: String::new(),
    }
}
