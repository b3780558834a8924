//! Benchmarks live in `benches/`; this crate exists so they build without the cloud SDKs. The
//! measuring helpers they share are here: CPU time and bytes written by this process and the
//! children it waited for, read from the kernel.

use std::time::Duration;

/// CPU time (user + system) and bytes written so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Of this process (all threads).
    pub cpu_self: Duration,
    /// Of the children this process waited for.
    pub cpu_children: Duration,
    /// Bytes handed to `write` and friends (`wchar` of /proc/self/io), children waited for
    /// included (the kernel adds a reaped child's counters to its parent's).
    pub written: u64,
    /// Bytes sent to the storage layer (`write_bytes`), children included.
    pub written_to_storage: u64,
}

impl Usage {
    pub fn now() -> Usage {
        let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
        let field = |name: &str| {
            io.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        Usage {
            cpu_self: cpu(libc::RUSAGE_SELF),
            cpu_children: cpu(libc::RUSAGE_CHILDREN),
            written: field("wchar:"),
            written_to_storage: field("write_bytes:"),
        }
    }

    /// What happened between `self` and `later`.
    pub fn until(&self, later: &Usage) -> Usage {
        Usage {
            cpu_self: later.cpu_self.saturating_sub(self.cpu_self),
            cpu_children: later.cpu_children.saturating_sub(self.cpu_children),
            written: later.written.saturating_sub(self.written),
            written_to_storage: later
                .written_to_storage
                .saturating_sub(self.written_to_storage),
        }
    }
}

fn cpu(who: libc::c_int) -> Duration {
    // SAFETY: getrusage fills the struct it is given and touches nothing else.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut r) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(r.ru_utime) + tv(r.ru_stime)
}

/// "12.3 MB".
pub fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
