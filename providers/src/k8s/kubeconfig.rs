//! The kubeconfig hdh writes for one cluster: its endpoint and CA from the EKS cluster's
//! attributes, and an exec credential that runs `hdh eks-token --cluster NAME --region R`.
//! Written into a private temporary directory (0700) that is removed when dropped; a directory
//! a killed run left behind (no secret is ever written there: sensitive values reach helm on its
//! stdin) is removed by the next run that needs one.

use std::path::{Path, PathBuf};

use hdh_engine::{OpContext, ProviderError, ValueMap};

use super::K8sSettings;
use crate::props;
use crate::Answer;

/// A private directory holding the kubeconfig and any values files of one call.
pub(crate) struct Workdir {
    dir: PathBuf,
    pub kubeconfig: PathBuf,
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Workdir {
    /// Writes `name` (mode 0600) into the directory and returns its path.
    pub fn file(&self, name: &str, contents: &str) -> Answer<PathBuf> {
        let path = self.dir.join(name);
        write_private(&path, contents)?;
        Ok(path)
    }
}

fn write_private(path: &Path, contents: &str) -> Answer<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .map_err(|e| ProviderError::other(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(contents.as_bytes())
        .map_err(|e| ProviderError::other(format!("cannot write {}: {e}", path.display())))
}

/// YAML double-quoted scalar.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The kubeconfig text for a cluster.
pub(crate) fn render(
    settings: &K8sSettings,
    name: &str,
    endpoint: &str,
    ca: &str,
    region: &str,
) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {n}\n  cluster:\n    server: {e}\n    certificate-authority-data: {c}\ncontexts:\n- name: {n}\n  context:\n    cluster: {n}\n    user: {n}\ncurrent-context: {n}\nusers:\n- name: {n}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {x}\n      args: [\"eks-token\", \"--cluster\", {n}, \"--region\", {r}]\n      interactiveMode: Never\n",
        n = q(name),
        e = q(endpoint),
        c = q(ca),
        x = q(&settings.hdh_exe.display().to_string()),
        r = q(region),
    )
}

/// Every work directory is `hdh-k8s-<pid>-<uuid>`: the pid says whether its run is still alive.
const PREFIX: &str = "hdh-k8s-";

/// Removes the work directories of runs that are no longer alive (killed before their `Drop`
/// ran). Where the system cannot say whether a process lives (no `/proc`), nothing is removed.
fn sweep_orphans(tmp: &Path) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !proc.join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A fresh private directory with the kubeconfig for the cluster `p` names.
pub(crate) fn workdir(settings: &K8sSettings, ctx: &OpContext, p: &ValueMap) -> Answer<Workdir> {
    let name = props::required_string(p, "cluster_name")?;
    let endpoint = props::required_string(p, "cluster_endpoint")?;
    let ca = props::string(p, "cluster_ca")?.unwrap_or_default();
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| sweep_orphans(&std::env::temp_dir()));
    let dir = std::env::temp_dir().join(format!(
        "{PREFIX}{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(&dir)
        .map_err(|e| ProviderError::other(format!("cannot create {}: {e}", dir.display())))?;
    let w = Workdir {
        kubeconfig: dir.join("kubeconfig"),
        dir,
    };
    write_private(
        &w.kubeconfig,
        &render(settings, &name, &endpoint, &ca, &ctx.region),
    )?;
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_runs_directory_is_swept_and_a_living_ones_kept() {
        let tmp = std::env::temp_dir().join(format!("hdh-sweep-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&tmp).unwrap();
        // A pid far above any pid_max in use is not alive.
        let dead = tmp.join(format!("{PREFIX}4194999-abc"));
        let living = tmp.join(format!("{PREFIX}{}-def", std::process::id()));
        let other = tmp.join("hdh-k8s-not-a-pid");
        for d in [&dead, &living, &other] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("values.yaml"), "x: 1").unwrap();
        }
        sweep_orphans(&tmp);
        let on_linux = Path::new("/proc/self").exists();
        assert_eq!(dead.exists(), !on_linux);
        assert!(living.exists());
        assert!(other.exists());
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn the_kubeconfig_runs_hdh_eks_token() {
        let s = K8sSettings {
            hdh_exe: "/usr/bin/hdh".into(),
            ..K8sSettings::default()
        };
        let k = render(&s, "eks-helio", "https://x.eks", "Q0E=", "us-east-1");
        assert!(k.contains("server: \"https://x.eks\""));
        assert!(k.contains("command: \"/usr/bin/hdh\""));
        assert!(
            k.contains(r#"args: ["eks-token", "--cluster", "eks-helio", "--region", "us-east-1"]"#)
        );
    }
}
