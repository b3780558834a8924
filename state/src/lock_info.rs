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

/// How long ago the lock was taken, by its `created` time; `None` when that is unreadable or
/// in the future (clock skew between machines).
pub fn lock_age(info: &LockInfo) -> Option<std::time::Duration> {
    let created = parse_rfc3339(&info.created)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    now.checked_sub(created).map(std::time::Duration::from_secs)
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ` (the form hdh writes; fractions and
/// offsets are not accepted).
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days-from-civil (Howard Hinnant's algorithm), the inverse of `rfc3339`.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

fn user_name() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|u| !u.is_empty())
        // SAFETY: getuid has no preconditions and cannot fail.
        .unwrap_or_else(|| format!("uid{}", unsafe { libc::getuid() }))
}

/// Whether `info` was written by a process of this host that no longer runs: its lock can
/// only be left over from a run that was killed (kill -9, a closed terminal, a reboot). A pid
/// reused by another process reads as alive, which errs on the safe side.
pub fn holder_gone_from_this_host(info: &LockInfo) -> bool {
    let Some((_, host)) = info.holder.rsplit_once('@') else {
        return false;
    };
    if host != host_name() || info.pid == 0 {
        return false;
    }
    let Ok(pid) = libc::pid_t::try_from(info.pid) else {
        return false;
    };
    // SAFETY: signal 0 performs only the existence and permission check; it sends nothing.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
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
    fn rfc3339_round_trips() {
        for secs in [0, 86_399, 951_782_400, 1_795_608_000, 4_102_444_799] {
            let text = hdh_engine::state::rfc3339(secs);
            assert_eq!(super::parse_rfc3339(&text), Some(secs), "{text}");
        }
        assert_eq!(super::parse_rfc3339("2026-13-01T00:00:00Z"), None);
        assert_eq!(super::parse_rfc3339("an unknown time"), None);
        assert_eq!(super::parse_rfc3339("2026-11-26T09:00:00+01:00"), None);
    }

    #[test]
    fn a_lock_taken_now_is_young() {
        let age = super::lock_age(&super::lock_info("apply")).unwrap();
        assert!(age.as_secs() < 5);
    }

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
