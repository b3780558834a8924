//! The sizes of EC2 instance types (vCPUs, memory, NVIDIA GPUs), offline, so profiles and Dask
//! cluster options can be sized to the node they run on without asking AWS at validate time.
//! Sizes are those of AWS's instance type pages for the families HelioCloud uses: general purpose
//! (m5*, m6i, t3, t3a), memory optimised (r5*, r6i), compute optimised (c5*, c6i) and GPU (g4dn, g5).

/// One instance type's capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Size {
    pub vcpus: u32,
    pub memory_gib: u32,
    pub gpus: u32,
}

/// vCPUs of the standard sizes of the m/r/c families.
fn vcpus(size: &str) -> Option<u32> {
    Some(match size {
        "large" => 2,
        "xlarge" => 4,
        "2xlarge" => 8,
        "4xlarge" => 16,
        "8xlarge" => 32,
        "12xlarge" => 48,
        "16xlarge" => 64,
        "24xlarge" => 96,
        _ => return None,
    })
}

pub(crate) fn size(instance_type: &str) -> Option<Size> {
    let (family, size) = instance_type.split_once('.')?;
    let plain = |gib_per_vcpu: u32| {
        vcpus(size).map(|v| Size {
            vcpus: v,
            memory_gib: v * gib_per_vcpu,
            gpus: 0,
        })
    };
    match family {
        "t3" | "t3a" => {
            let (vcpus, memory_gib) = match size {
                "medium" => (2, 4),
                "large" => (2, 8),
                "xlarge" => (4, 16),
                "2xlarge" => (8, 32),
                _ => return None,
            };
            Some(Size {
                vcpus,
                memory_gib,
                gpus: 0,
            })
        }
        "m5" | "m5a" | "m5n" | "m5d" | "m5dn" | "m6i" | "m6a" => plain(4),
        "r5" | "r5a" | "r5n" | "r5d" | "r5dn" | "r6i" | "r6a" => plain(8),
        "c5" | "c5a" | "c5n" | "c6i" | "c6a" => plain(2),
        "g4dn" | "g5" => {
            let (vcpus, memory_gib, gpus) = match (family, size) {
                (_, "xlarge") => (4, 16, 1),
                (_, "2xlarge") => (8, 32, 1),
                (_, "4xlarge") => (16, 64, 1),
                (_, "8xlarge") => (32, 128, 1),
                ("g4dn", "12xlarge") => (48, 192, 4),
                ("g5", "12xlarge") => (48, 192, 4),
                _ => return None,
            };
            Some(Size {
                vcpus,
                memory_gib,
                gpus,
            })
        }
        _ => None,
    }
}

/// The smallest of a node group's instance types (a pod sized for it fits on any of them);
/// `Err` names the first type hdh does not know.
pub(crate) fn smallest(types: &[String]) -> Result<Size, String> {
    let mut out: Option<Size> = None;
    for t in types {
        let s = size(t).ok_or_else(|| t.clone())?;
        out = Some(match out {
            None => s,
            Some(o) => Size {
                vcpus: o.vcpus.min(s.vcpus),
                memory_gib: o.memory_gib.min(s.memory_gib),
                gpus: o.gpus.min(s.gpus),
            },
        });
    }
    out.ok_or_else(String::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_types_have_their_aws_sizes() {
        let s = |t| size(t).unwrap();
        assert_eq!((s("t3a.medium").vcpus, s("t3a.medium").memory_gib), (2, 4));
        assert_eq!((s("m5.xlarge").vcpus, s("m5.xlarge").memory_gib), (4, 16));
        assert_eq!(s("g4dn.xlarge").gpus, 1);
        assert_eq!(
            (s("m5.8xlarge").vcpus, s("m5.8xlarge").memory_gib),
            (32, 128)
        );
        assert_eq!(s("r5n.8xlarge").memory_gib, 256);
        assert_eq!(size("x9.huge"), None);
        assert_eq!(
            smallest(&["r5n.8xlarge".into(), "m5.8xlarge".into()])
                .unwrap()
                .memory_gib,
            128
        );
        assert_eq!(
            smallest(&["m5.xlarge".into(), "zz.top".into()]),
            Err("zz.top".into())
        );
    }
}
