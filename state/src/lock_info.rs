//! Builds the [`LockInfo`] a run writes into a lock, so whoever finds the state locked learns
//! who holds it, where, since when and for what.

use hdh_engine::state::now_rfc3339;
use hdh_engine::LockInfo;

/// A new lock description for `operation` ("apply", "destroy", "state rm") by this process: a
/// fresh random id, `user@host`, this pid, the current time and this hdh's version.
pub fn lock_info(operation: &str) -> LockInfo {
    LockInfo {
        id: uuid::Uuid::new_v4().to_string(),
        holder: format!("{}@{}", user_name(), host_name()),
        pid: std::process::id(),
        operation: operation.to_string(),
        created: now_rfc3339(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

fn user_name() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|u| !u.is_empty())
        // SAFETY: getuid has no preconditions and cannot fail.
        .unwrap_or_else(|| format!("uid{}", unsafe { libc::getuid() }))
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`, which outlives the call; gethostname writes
    // at most `len` bytes into it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast::<libc::c_char>(), buf.len()) };
    if rc == 0 {
        // The name may fill the buffer without a terminating NUL when truncated.
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
        if !name.is_empty() {
            return name;
        }
    }
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn lock_info_names_this_process() {
        let a = super::lock_info("apply");
        let b = super::lock_info("apply");
        assert_ne!(a.id, b.id);
        assert_eq!(a.pid, std::process::id());
        assert_eq!(a.operation, "apply");
        assert!(a.holder.contains('@'));
        assert!(!a.holder.ends_with('@'));
        assert_eq!(a.version, env!("CARGO_PKG_VERSION"));
        assert!(a.created.ends_with('Z'));
    }
}
