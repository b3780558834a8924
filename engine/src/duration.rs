//! The one way hdh writes a duration for people: `1h05m`, `4m10s`, `40s`; `12.3s` where a
//! short step's time matters to the tenth. Progress lines, heartbeats, estimates and error
//! messages all use it, so the same wait reads the same everywhere.

use std::time::Duration;

/// `2d04h`, `1h05m`, `4m10s`, `40s`: whole seconds, the two largest units.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `12.3s` under a minute, [`clock`] from a minute on.
pub fn precise(d: Duration) -> String {
    if d.as_secs() < 60 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        clock(d)
    }
}

/// `~10m`, `~1m30s`, `~45s`: a typical duration, whole minutes without their seconds.
pub fn about(d: Duration) -> String {
    let s = d.as_secs();
    if (60..3600).contains(&s) && s.is_multiple_of(60) {
        format!("~{}m", s / 60)
    } else {
        format!("~{}", clock(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn durations_read_in_their_two_largest_units() {
        assert_eq!(clock(secs(0)), "0s");
        assert_eq!(clock(secs(40)), "40s");
        assert_eq!(clock(secs(190)), "3m10s");
        assert_eq!(clock(secs(725)), "12m05s");
        assert_eq!(clock(secs(3900)), "1h05m");
        assert_eq!(clock(secs(86_400 * 2 + 3600 * 4)), "2d04h");
        assert_eq!(precise(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(precise(secs(250)), "4m10s");
        assert_eq!(about(secs(600)), "~10m");
        assert_eq!(about(secs(90)), "~1m30s");
        assert_eq!(about(secs(45)), "~45s");
    }
}
