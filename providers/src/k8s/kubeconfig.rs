//! The kubeconfig hdh writes for one cluster: its endpoint and CA from the EKS cluster's
//! attributes, and an exec credential that runs `hdh eks-token --cluster NAME --region R`.
//! Written into a private temporary directory (0700) that is removed when dropped.

use std::path::{Path, PathBuf};

use hdh_engine::{OpContext, ProviderError, ValueMap};

use super::K8sSettings;
use crate::props;

/// The inputs every Kubernetes resource has, to reach its cluster.
pub(crate) const CLUSTER_INPUTS: [&str; 3] = ["cluster_name", "cluster_endpoint", "cluster_ca"];

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
    pub fn file(&self, name: &str, contents: &str) -> Result<PathBuf, ProviderError> {
        let path = self.dir.join(name);
        write_private(&path, contents)?;
        Ok(path)
    }
}

fn write_private(path: &Path, contents: &str) -> Result<(), ProviderError> {
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

/// A fresh private directory with the kubeconfig for the cluster `p` names.
pub(crate) fn workdir(
    settings: &K8sSettings,
    ctx: &OpContext,
    p: &ValueMap,
) -> Result<Workdir, ProviderError> {
    let name = props::required_string(p, "cluster_name")?;
    let endpoint = props::required_string(p, "cluster_endpoint")?;
    let ca = props::string(p, "cluster_ca")?.unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("hdh-k8s-{}", uuid::Uuid::new_v4()));
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
