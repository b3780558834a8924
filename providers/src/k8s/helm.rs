//! `helm_release`: a chart installed with `helm upgrade --install --wait` (so create and
//! upgrade are the same call, in place), read with `helm status` and `helm get values` (a manual
//! `helm upgrade` shows as drift of `version`, `values` and `sensitive_values`: see
//! `release_values`), uninstalled on delete.
//!
//! `values` is YAML text, so the plan shows a change as a unified diff; `sensitive_values` (API
//! tokens, client secrets) is a structured map merged over it by helm as a second values file
//! read from helm's stdin (`-f -`), never shown and never written to disk. The plain values
//! file is 0600 in a private directory removed after the call.
//! With `load_balancer_service` set, the release is ready only once that Service of type
//! LoadBalancer has its hostname, which becomes `load_balancer_hostname`.

use async_trait::async_trait;
use hdh_engine::provider::{Candidate, CreateRequest, DeleteRequest, ImportRequest, ReadRequest};
use hdh_engine::{Observed, OpContext, ProviderError, Value, ValueMap};

use super::kubeconfig;
use super::release_values;
use super::tool::{self, Invocation};
use super::{Cx, K8sSettings, Kind};
use crate::poll::{Poll, Wait};
use crate::props;
use crate::{Answer, Found};

pub(crate) const TYPE: &str = "helm_release";

pub(crate) fn id_of(p: &ValueMap) -> Answer<String> {
    Ok(format!(
        "{}/{}",
        props::string(p, "namespace")?.unwrap_or_else(|| "default".into()),
        props::required_string(p, "name")?
    ))
}

fn kube(w: &kubeconfig::Workdir) -> [String; 2] {
    ["--kubeconfig".into(), w.kubeconfig.display().to_string()]
}

/// `helm status -o json`: (revision, status, chart version); `None` when not installed.
async fn status(
    s: &K8sSettings,
    w: &kubeconfig::Workdir,
    name: &str,
    ns: &str,
) -> Answer<Option<(i64, String, String)>> {
    let mut args: Vec<String> = ["status", name, "-n", ns, "-o", "json"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    args.extend(kube(w));
    let out = match tool::run_once(Invocation::new(&s.helm, &args)).await {
        Ok(o) => o,
        Err(ProviderError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let j: serde_json::Value = serde_json::from_str(&out)
        .map_err(|e| ProviderError::other(format!("`helm status` answered no JSON: {e}")))?;
    Ok(Some((
        j["version"].as_i64().unwrap_or(0),
        j["info"]["status"].as_str().unwrap_or_default().to_string(),
        j["chart"]["metadata"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )))
}

/// `helm get values -o json`: the release's user-supplied values, every values file and
/// `--set` of its current revision merged (secrets included: never logged, never in an error).
async fn user_values(
    s: &K8sSettings,
    w: &kubeconfig::Workdir,
    name: &str,
    ns: &str,
) -> Answer<serde_json::Value> {
    let mut args: Vec<String> = ["get", "values", name, "-n", ns, "-o", "json"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    args.extend(kube(w));
    let out = tool::run_once(Invocation::new(&s.helm, &args)).await?;
    serde_json::from_str(&out).map_err(|e| {
        ProviderError::other(format!(
            "`helm get values` of {ns}/{name} answered no JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// Frees a release that a stopped helm left pending (killed mid-install or mid-upgrade: helm
/// records the revision as pending before it acts and marks it deployed only at the end), which
/// helm refuses to upgrade until it is rolled back or uninstalled. hdh holds this stack's lock,
/// so no other hdh run is at work on the release: a pending install is uninstalled (there is no
/// earlier revision to go back to), a pending upgrade or rollback is rolled back to the
/// revision before it. The user is told what was done at the end of the run. `refused` is helm's
/// answer, returned as it is when the release turns out not to be pending after all.
#[allow(clippy::too_many_arguments)]
async fn unstick(
    s: &K8sSettings,
    ctx: &OpContext,
    address: &str,
    w: &kubeconfig::Workdir,
    name: &str,
    ns: &str,
    timeout: i64,
    refused: String,
) -> Answer<()> {
    let Some((revision, st, _)) = status(s, w, name, ns).await? else {
        return Ok(());
    };
    let verb = match st.as_str() {
        "pending-install" => "uninstall",
        "pending-upgrade" | "pending-rollback" => "rollback",
        _ => return Err(ProviderError::Conflict { message: refused }),
    };
    let mut args: Vec<String> = [verb, name, "-n", ns, "--wait"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    if verb == "rollback" {
        args.extend([
            "--timeout".into(),
            format!("{}m{}s", timeout / 60, timeout % 60),
        ]);
    }
    args.extend(kube(w));
    tool::run(ctx, address, s.poll, Invocation::new(&s.helm, &args)).await?;
    let done = if verb == "uninstall" {
        "uninstalled to install it again"
    } else {
        "rolled back to the revision before it to upgrade again"
    };
    ctx.cleaned_up(
        address,
        "pending Helm revision",
        &format!("{ns}/{name} revision {revision}"),
        &format!("left {st} by a helm that was stopped mid-way; {done}"),
    );
    Ok(())
}

/// `KEY: value` from helm's human output.
fn field(out: &str, key: &str) -> Option<String> {
    out.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// Waits for the Service's load balancer hostname.
async fn hostname(
    s: &K8sSettings,
    ctx: &OpContext,
    address: &str,
    w: &kubeconfig::Workdir,
    svc: &str,
    ns: &str,
) -> Answer<String> {
    let mut args: Vec<String> = ["get", "svc", svc, "-n", ns, "-o", "json"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    args.extend(kube(w));
    Wait {
        ctx,
        address,
        verb: "waiting",
        what: format!("service {svc} to have a load balancer"),
        policy: s.poll,
    }
    .until(|| async {
        let out = match tool::run_once(Invocation::new(&s.kubectl, &args)).await {
            Ok(o) => o,
            Err(ProviderError::NotFound { .. }) => {
                return Ok(Poll::Pending("no service yet".into()))
            }
            Err(e) => return Err(e),
        };
        let j: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        match j["status"]["loadBalancer"]["ingress"][0]["hostname"].as_str() {
            Some(h) if !h.is_empty() => Ok(Poll::Ready(h.to_string())),
            _ => Ok(Poll::Pending("load balancer pending".into())),
        }
    })
    .await
}

/// After an interrupted install: the release if it is deployed, with every output an install
/// gives (the load balancer's hostname, waited for as an install waits), so what depends on it
/// (the DNS record) gets what it would have got. A release that is not deployed (failed, still
/// pending) is not adopted: the plan installs it again.
async fn find_installed(cx: Cx<'_>, address: &str, p: &ValueMap) -> Found {
    let r = ReadRequest {
        address: address.to_string(),
        id: id_of(p)?,
        prior: p.clone(),
    };
    let Some(mut found) = Release.read(cx, &r).await? else {
        return Ok(None);
    };
    if props::string(&found.attributes, "status")?.as_deref() != Some("deployed") {
        return Ok(None);
    }
    let host = match props::string(p, "load_balancer_service")? {
        Some(svc) => {
            let ns = props::string(p, "namespace")?.unwrap_or_else(|| "default".into());
            let w = kubeconfig::workdir(&cx.k8s.settings, cx.op, p)?;
            Value::String(hostname(&cx.k8s.settings, cx.op, address, &w, &svc, &ns).await?)
        }
        None => Value::Null,
    };
    found
        .attributes
        .insert("load_balancer_hostname".into(), host);
    Ok(Some(found))
}

/// `helm_release`.
pub(super) struct Release;

#[async_trait]
impl Kind for Release {
    async fn read(&self, cx: Cx<'_>, r: &ReadRequest) -> Found {
        let (s, probe) = (&cx.k8s.settings, &cx.k8s.probe);
        let p = &r.prior;
        let name = props::required_string(p, "name")?;
        let ns = props::string(p, "namespace")?.unwrap_or_else(|| "default".into());
        let w = kubeconfig::workdir(s, cx.op, p)?;
        let found = match status(s, &w, &name, &ns).await {
            Ok(found) => found,
            // Unreachable: gone with its cluster, or the cluster is only not answering (an error).
            Err(e @ ProviderError::Throttled { .. }) => {
                probe.absent_if_gone(cx.op, p, e).await?;
                None
            }
            Err(e) => return Err(e),
        };
        let Some((revision, st, version)) = found else {
            return Ok(None);
        };
        let mut a = p.clone();
        if props::string(p, "version")?.is_some() && !version.is_empty() {
            a.insert("version".into(), Value::str(version));
        }
        // Only a deployed revision's values are the release's: a pending one (a helm stopped
        // mid-way) or a failed one never took effect, and keeping what hdh recorded lets the plan
        // upgrade it again (the install frees a pending release first).
        if st == "deployed" {
            let live = user_values(s, &w, &name, &ns).await?;
            let applied_secret = props::get(p, "sensitive_values")
                .map(|v| v.to_display_json())
                .unwrap_or_default();
            let text = props::string(p, "values")?.unwrap_or_default();
            let drifted = release_values::compare(&text, &applied_secret, &live)
                .map_err(|e| ProviderError::other(format!("release {ns}/{name}: {e}")))?;
            if let Some(text) = drifted.values {
                a.insert("values".into(), Value::str(text));
            }
            if let Some(secret) = drifted.sensitive {
                a.insert("sensitive_values".into(), Value::from(&secret));
            }
        }
        a.insert("revision".into(), Value::int(revision));
        a.insert("status".into(), Value::str(st));
        Ok(Some(Observed {
            id: r.id.clone(),
            attributes: a,
        }))
    }

    /// `helm upgrade --install … --wait`: create and in-place upgrade alike.
    async fn apply(&self, cx: Cx<'_>, address: &str, p: &ValueMap) -> Answer<Observed> {
        let s = &cx.k8s.settings;
        let name = props::required_string(p, "name")?;
        let ns = props::string(p, "namespace")?.unwrap_or_else(|| "default".into());
        let mut chart = props::required_string(p, "chart")?;
        let repo = props::string(p, "repository")?;
        if repo.is_some() {
            // `--repo URL` takes the chart's own name, not `alias/name`.
            if let Some((_, base)) = chart.split_once('/') {
                chart = base.to_string();
            }
        }
        let timeout = props::int(p, "timeout_seconds")?.unwrap_or(600).max(1);
        let w = kubeconfig::workdir(s, cx.op, p)?;
        let values = w.file(
            "values.yaml",
            &props::string(p, "values")?.unwrap_or_default(),
        )?;
        let mut args: Vec<String> = vec![
            "upgrade".into(),
            "--install".into(),
            name.clone(),
            chart,
            "-n".into(),
            ns.clone(),
            "--create-namespace".into(),
            "-f".into(),
            values.display().to_string(),
        ];
        // Secrets reach helm on its stdin (`-f -`, helm ≥ 3.2), never in a file: a run killed
        // during the call leaves nothing of them on disk. JSON is YAML.
        let secret = props::get(p, "sensitive_values").map(|v| v.to_display_json().to_string());
        if secret.is_some() {
            args.extend(["-f".into(), "-".into()]);
        }
        if let Some(v) = props::string(p, "version")? {
            args.extend(["--version".into(), v]);
        }
        if let Some(r) = repo {
            args.extend(["--repo".into(), r]);
        }
        args.extend([
            "--wait".into(),
            "--timeout".into(),
            format!("{}m{}s", timeout / 60, timeout % 60),
        ]);
        args.extend(kube(&w));
        let call = Invocation::new(&s.helm, &args).stdin(secret.as_deref());
        let out = match tool::run(cx.op, address, s.poll, call).await {
            Err(ProviderError::Conflict { message }) => {
                unstick(s, cx.op, address, &w, &name, &ns, timeout, message).await?;
                tool::run(cx.op, address, s.poll, call).await?
            }
            other => other?,
        };
        // helm prints `STATUS:` and `REVISION:`; ask `helm status` only if it did not.
        let (revision, st) = match (field(&out, "REVISION"), field(&out, "STATUS")) {
            (Some(r), Some(st)) if r.parse::<i64>().is_ok() => (r.parse().unwrap_or(0), st),
            _ => {
                let (r, st, _) = status(s, &w, &name, &ns).await?.ok_or_else(|| {
                    ProviderError::other(format!("release {name} not found after install"))
                })?;
                (r, st)
            }
        };
        let mut a = p.clone();
        a.insert("revision".into(), Value::int(revision));
        a.insert("status".into(), Value::str(st));
        let host = match props::string(p, "load_balancer_service")? {
            Some(svc) => Value::String(hostname(s, cx.op, address, &w, &svc, &ns).await?),
            None => Value::Null,
        };
        a.insert("load_balancer_hostname".into(), host);
        Ok(Observed {
            id: format!("{ns}/{name}"),
            attributes: a,
        })
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let (s, probe) = (&cx.k8s.settings, &cx.k8s.probe);
        let p = &req.prior;
        let name = props::required_string(p, "name")?;
        let ns = props::string(p, "namespace")?.unwrap_or_else(|| "default".into());
        let w = kubeconfig::workdir(s, cx.op, p)?;
        let mut args: Vec<String> = ["uninstall", &name, "-n", &ns, "--wait"]
            .iter()
            .map(|a| a.to_string())
            .collect();
        args.extend(kube(&w));
        probe
            .delete_with(
                cx.op,
                &req.address,
                s.poll,
                Invocation::new(&s.helm, &args),
                p,
            )
            .await
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        find_installed(cx, &req.address, &req.properties).await
    }

    /// A release is read with what an install reports (its load balancer's hostname).
    async fn candidates(&self, cx: Cx<'_>, req: &ImportRequest) -> Answer<Vec<Candidate>> {
        let found = find_installed(cx, &req.address, &req.properties).await?;
        Ok(found
            .map(|observed| Candidate {
                matched_by: format!("release {}", observed.id),
                observed,
            })
            .into_iter()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn helm_output_fields() {
        let out = "Release \"daskhub\" has been upgraded.\nNAMESPACE: daskhub\nSTATUS: deployed\nREVISION: 3\n";
        assert_eq!(super::field(out, "REVISION").as_deref(), Some("3"));
        assert_eq!(super::field(out, "STATUS").as_deref(), Some("deployed"));
        assert_eq!(super::field(out, "CHART"), None);
    }
}
