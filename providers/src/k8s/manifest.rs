//! `kubernetes_manifest`: one Kubernetes object (a namespace, the EFS PersistentVolume and its
//! claim, the cluster-autoscaler…) applied server-side (`kubectl apply --server-side`, field
//! manager `hdh`) and deleted with `kubectl delete` on destroy. Its id is
//! `<kind>/<namespace>/<name>` (namespace empty for cluster-scoped objects). Read compares the
//! fields the applied manifest names with the live object (`live::managed_view`), so a
//! `kubectl edit` of one of them is drift and a field the server or another controller owns
//! is not.

use async_trait::async_trait;
use hdh_engine::provider::{
    read_given_id, Candidate, CreateRequest, DeleteRequest, ImportRequest, ReadRequest,
};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use super::kubeconfig;
use super::live;
use super::tool::{self, Invocation};
use super::{Cx, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) const TYPE: &str = "kubernetes_manifest";

struct Target {
    kind: String,
    name: String,
    namespace: Option<String>,
}

fn target(p: &ValueMap) -> Answer<Target> {
    let m = props::get(p, "manifest")
        .ok_or_else(|| ProviderError::invalid("`manifest` is required"))?;
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let kind = s(m.get_path(&["kind".into()]))
        .ok_or_else(|| ProviderError::invalid("`manifest.kind` is required"))?;
    let name = s(m.get_path(&["metadata".into(), "name".into()]))
        .ok_or_else(|| ProviderError::invalid("`manifest.metadata.name` is required"))?;
    let namespace = s(m.get_path(&["metadata".into(), "namespace".into()]));
    Ok(Target {
        kind,
        name,
        namespace,
    })
}

pub(crate) fn id_of(p: &ValueMap) -> Answer<String> {
    let t = target(p)?;
    Ok(format!(
        "{}/{}/{}",
        t.kind,
        t.namespace.unwrap_or_default(),
        t.name
    ))
}

fn object_args(t: &Target, kubeconfig: &std::path::Path) -> Vec<String> {
    // The kind as written: kubectl matches kinds case-insensitively.
    let mut a = vec![t.kind.clone(), t.name.clone()];
    if let Some(ns) = &t.namespace {
        a.extend(["-n".into(), ns.clone()]);
    }
    a.extend(["--kubeconfig".into(), kubeconfig.display().to_string()]);
    a
}

/// `kubernetes_manifest`.
pub(super) struct Manifest;

#[async_trait]
impl Kind for Manifest {
    async fn read(&self, cx: Cx<'_>, r: &ReadRequest) -> Found {
        let (s, probe) = (&cx.k8s.settings, &cx.k8s.probe);
        let t = target(&r.prior)?;
        let w = kubeconfig::workdir(s, cx.op, &r.prior)?;
        let mut args = vec!["get".to_string()];
        args.extend(object_args(&t, &w.kubeconfig));
        args.extend(["-o".into(), "json".into()]);
        match tool::run_once(Invocation::new(&s.kubectl, &args)).await {
            Ok(out) => {
                let live: serde_json::Value = serde_json::from_str(&out).map_err(|e| {
                    ProviderError::other(format!(
                        "`kubectl get` of {} answered no JSON (line {}, column {})",
                        r.id,
                        e.line(),
                        e.column()
                    ))
                })?;
                let applied = props::get(&r.prior, "manifest")
                    .map(|v| v.to_display_json())
                    .unwrap_or_default();
                let seen = live::managed_view(&live, &applied);
                let mut attributes = r.prior.clone();
                if !live::same(&seen, &applied) {
                    attributes.insert("manifest".into(), Value::from(&seen));
                }
                Ok(Some(Observed {
                    id: r.id.clone(),
                    attributes,
                }))
            }
            Err(ProviderError::NotFound { .. }) => Ok(None),
            // Unreachable: gone with its cluster, or the cluster is only not answering (an error).
            Err(e @ ProviderError::Throttled { .. }) => {
                probe.absent_if_gone(cx.op, &r.prior, e).await?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn apply(&self, cx: Cx<'_>, address: &str, p: &ValueMap) -> Answer<Observed> {
        let s = &cx.k8s.settings;
        let id = id_of(p)?;
        let manifest = props::get(p, "manifest").unwrap_or(Value::Null);
        // JSON is YAML: kubectl reads it from stdin as it is.
        let doc = manifest.to_display_json().to_string();
        let w = kubeconfig::workdir(s, cx.op, p)?;
        let args: Vec<String> = [
            "apply",
            "--server-side",
            "--field-manager",
            "hdh",
            "--force-conflicts",
            "-f",
            "-",
            "--kubeconfig",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([w.kubeconfig.display().to_string()])
        .collect();
        let call = Invocation::new(&s.kubectl, &args).stdin(Some(&doc));
        tool::run(cx.op, address, s.poll, call).await?;
        Ok(Observed {
            id,
            attributes: p.clone(),
        })
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let (s, probe) = (&cx.k8s.settings, &cx.k8s.probe);
        let t = target(&req.prior)?;
        let w = kubeconfig::workdir(s, cx.op, &req.prior)?;
        let mut args = vec!["delete".to_string()];
        args.extend(object_args(&t, &w.kubeconfig));
        args.push("--ignore-not-found".into());
        probe
            .delete_with(
                cx.op,
                &req.address,
                s.poll,
                Invocation::new(&s.kubectl, &args),
                &req.prior,
            )
            .await
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        let r = ReadRequest {
            address: req.address.clone(),
            id: id_of(&req.properties)?,
            prior: req.properties.clone(),
        };
        self.read(cx, &r).await
    }

    async fn candidates(&self, cx: Cx<'_>, req: &ImportRequest) -> Answer<Vec<Candidate>> {
        let id = id_of(&req.properties)?;
        let mut found = read_given_id(cx.k8s, cx.op, req, &id).await?;
        for c in &mut found {
            c.matched_by = format!("name {id}");
        }
        Ok(found)
    }
}
