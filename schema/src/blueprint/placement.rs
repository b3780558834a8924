//! Which pods run on which node group, and how big they may be: one hub profile per user node
//! group (sized to its instance type, selecting and tolerating that group; the GPU profile asks
//! for a GPU), Dask schedulers and workers on the burst group with cluster options bounded by its
//! instance type, and the NVIDIA device plugin on the GPU groups (without it no pod can ask for
//! `nvidia.com/gpu`). Node groups are selected by the label EKS puts on every node of a managed
//! node group, so two groups with the same labels are still told apart.

use serde_json::{json, Value as J};

use super::instances::{self, Size};
use super::settings::{NodeGroup, Settings};

/// EKS labels each node of a managed node group with the group's name.
pub(crate) const NODEGROUP_LABEL: &str = "eks.amazonaws.com/nodegroup";
/// The service account of notebooks and Dask workers (IRSA: the shared bucket).
pub(crate) const USER_ACCOUNT: &str = "daskhub-user";
/// The NVIDIA device plugin, pinned (NVIDIA/k8s-device-plugin release v0.17.0).
pub(crate) const DEVICE_PLUGIN_IMAGE: &str = "nvcr.io/nvidia/k8s-device-plugin:v0.17.0";

fn effect(e: &str) -> &'static str {
    match e {
        "NO_EXECUTE" => "NoExecute",
        "PREFER_NO_SCHEDULE" => "PreferNoSchedule",
        _ => "NoSchedule",
    }
}

/// Tolerations for every taint of the group.
pub(crate) fn tolerations(g: &NodeGroup) -> J {
    J::Array(
        g.taints
            .iter()
            .map(
                |(k, v, e)| json!({"key": k, "operator": "Equal", "value": v, "effect": effect(e)}),
            )
            .collect(),
    )
}

fn size(g: &NodeGroup) -> Option<Size> {
    instances::smallest(&g.instance_types).ok()
}

/// The CPU and memory a notebook is guaranteed and limited to on a node of `s`: the guarantee
/// leaves a fifth of the node to the kubelet, the system reserve and the daemon sets, so one
/// notebook always fits on one node; the limit is the whole node's CPUs and 90% of its memory.
/// (cpu guarantee, cpu limit, memory guarantee GiB, memory limit GiB)
pub(crate) fn notebook_resources(s: Size) -> (f64, f64, u32, u32) {
    (
        f64::from(s.vcpus) * 0.8,
        f64::from(s.vcpus),
        s.memory_gib * 8 / 10,
        s.memory_gib * 9 / 10,
    )
}

fn profile(g: &NodeGroup, s: Size, first_cpu: bool) -> J {
    let (cpu_g, cpu_l, mem_g, mem_l) = notebook_resources(s);
    let types = g.instance_types.join(", ");
    let spot = if g.spot {
        "; spot capacity: AWS may reclaim the node, so save your work often"
    } else {
        ""
    };
    let (title, gpu) = if s.gpus > 0 {
        ("GPU", ", 1 NVIDIA GPU".to_string())
    } else {
        ("CPU", String::new())
    };
    let mut over = json!({
        "cpu_guarantee": cpu_g,
        "cpu_limit": cpu_l,
        "mem_guarantee": format!("{mem_g}G"),
        "mem_limit": format!("{mem_l}G"),
        "node_selector": { NODEGROUP_LABEL: g.name },
        "tolerations": tolerations(g),
    });
    if s.gpus > 0 {
        over["extra_resource_limits"] = json!({"nvidia.com/gpu": "1"});
        over["extra_resource_guarantees"] = json!({"nvidia.com/gpu": "1"});
    }
    let mut p = json!({
        "display_name": format!("{title}: {} CPUs, {} GiB memory{gpu}", s.vcpus, s.memory_gib),
        "slug": g.name,
        "description": format!(
            "At least {cpu_g} CPUs and {mem_g} GiB, up to {cpu_l} CPUs and {mem_l} GiB{gpu} \
             on a node of its own kind ({types}){spot}."
        ),
        "kubespawner_override": over,
    });
    if first_cpu {
        p["default"] = json!(true);
    }
    p
}

/// One profile per user node group, CPU groups first; `hub.profiles` replaces them.
pub(crate) fn profiles(s: &Settings) -> Option<J> {
    if let Some(p) = &s.profiles {
        return Some(p.clone());
    }
    let mut users: Vec<(&NodeGroup, Size)> = s
        .node_groups
        .iter()
        .filter(|g| g.is_user())
        .filter_map(|g| size(g).map(|z| (g, z)))
        .collect();
    users.sort_by_key(|(_, z)| z.gpus > 0);
    let mut out = Vec::new();
    for (i, (g, z)) in users.iter().enumerate() {
        out.push(profile(g, *z, i == 0));
    }
    (!out.is_empty()).then_some(J::Array(out))
}

pub(crate) fn burst(s: &Settings) -> Option<(&NodeGroup, Size)> {
    s.node_groups
        .iter()
        .find(|g| g.is_burst())
        .and_then(|g| size(g).map(|z| (g, z)))
}

pub(crate) fn gpu_groups(s: &Settings) -> Vec<&NodeGroup> {
    s.node_groups
        .iter()
        .filter(|g| size(g).is_some_and(|z| z.gpus > 0))
        .collect()
}

/// The largest Dask worker a node of `s` holds: one CPU and 15% of the memory stay with the
/// node (kubelet, system reserve, daemon sets). (cores, memory GiB)
pub(crate) fn worker_bounds(s: Size) -> (u32, u32) {
    (s.vcpus.saturating_sub(1).max(1), s.memory_gib * 85 / 100)
}

/// dask-gateway's `extraConfig`: cluster options bounded by the burst group's instance type,
/// defaulting to the notebook image.
pub(crate) fn gateway_options(z: Size, image: &str) -> String {
    let (cores, memory) = worker_bounds(z);
    let image = serde_json::to_string(image).expect("a string serialises");
    format!(
        "from dask_gateway_server.options import Options, Integer, Float, String\n\
         \n\
         def option_handler(options):\n\
        \x20   return {{\n\
        \x20       \"worker_cores\": options.worker_cores,\n\
        \x20       \"worker_memory\": \"%fG\" % options.worker_memory,\n\
        \x20       \"image\": options.image,\n\
        \x20   }}\n\
         \n\
         c.Backend.cluster_options = Options(\n\
        \x20   Integer(\"worker_cores\", {default_cores}, min=1, max={cores}, label=\"Worker cores\"),\n\
        \x20   Float(\"worker_memory\", {default_memory}, min=1, max={memory}, label=\"Worker memory (GiB)\"),\n\
        \x20   String(\"image\", default={image}, label=\"Image\"),\n\
        \x20   handler=option_handler,\n\
         )\n",
        default_cores = 2.min(cores),
        default_memory = 8.min(memory),
    )
}

/// The NVIDIA device plugin DaemonSet, on the GPU groups' nodes only.
pub(crate) fn device_plugin(groups: &[&NodeGroup]) -> J {
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "nvidia-device-plugin-daemonset", "namespace": "kube-system"},
        "spec": {
            "selector": {"matchLabels": {"name": "nvidia-device-plugin-ds"}},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": {"name": "nvidia-device-plugin-ds"}},
                "spec": {
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchExpressions": [
                            {"key": NODEGROUP_LABEL, "operator": "In", "values": names}]}]}}},
                    "priorityClassName": "system-node-critical",
                    "containers": [{
                        "name": "nvidia-device-plugin-ctr",
                        "image": DEVICE_PLUGIN_IMAGE,
                        "env": [{"name": "FAIL_ON_INIT_ERROR", "value": "false"}],
                        "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "device-plugin", "mountPath": "/var/lib/kubelet/device-plugins"}],
                    }],
                    "volumes": [{"name": "device-plugin", "hostPath": {"path": "/var/lib/kubelet/device-plugins"}}],
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notebooks_and_workers_fit_their_nodes() {
        let m5 = instances::size("m5.xlarge").unwrap();
        assert_eq!(notebook_resources(m5), (3.2, 4.0, 12, 14));
        let burst = instances::size("m5.8xlarge").unwrap();
        assert_eq!(worker_bounds(burst), (31, 108));
        let opts = gateway_options(burst, "img:1");
        assert!(
            opts.contains("max=31") && opts.contains("max=108"),
            "{opts}"
        );
        assert!(opts.contains("default=\"img:1\""), "{opts}");
    }
}
