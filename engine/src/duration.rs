//! The one way hdh writes a duration for people, in Terraform's style (Go's duration text cut
//! to its two largest units): `45s`, `1m0s`, `3m10s`, `1h2m`; `12.3s` where a short step's time
//! matters to the tenth; `~10m` for a typical duration. Progress lines, heartbeats, estimates,
//! lock messages and error messages all use it, so the same wait reads the same everywhere.

use std::time::Duration;

/// `0s`, `45s`, `1m0s`, `3m10s`, `1h2m`, `2d4h`: whole seconds, the two largest units, no
/// padding; `500ms` for a duration shorter than a second that is not zero (a `--lock-timeout
/// 500ms` reads as what was asked).
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 if d.as_millis() > 0 => format!("{}ms", d.as_millis()),
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
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

/// `~10m`, `~1m30s`, `~45s`: a typical duration; whole minutes are written without their `0s`.
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
    fn durations_read_in_their_two_largest_units_without_padding() {
        assert_eq!(clock(secs(0)), "0s");
        assert_eq!(clock(Duration::from_millis(500)), "500ms");
        assert_eq!(clock(secs(45)), "45s");
        assert_eq!(clock(secs(60)), "1m0s");
        assert_eq!(clock(secs(190)), "3m10s");
        assert_eq!(clock(secs(725)), "12m5s");
        assert_eq!(clock(secs(3720)), "1h2m");
        assert_eq!(clock(secs(86_400 * 2 + 3600 * 4)), "2d4h");
    }

    #[test]
    fn measured_steps_keep_tenths_under_a_minute() {
        assert_eq!(precise(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(precise(secs(250)), "4m10s");
    }

    #[test]
    fn typical_durations_are_approximate() {
        assert_eq!(about(secs(600)), "~10m");
        assert_eq!(about(secs(90)), "~1m30s");
        assert_eq!(about(secs(45)), "~45s");
        assert_eq!(about(secs(1155)), "~19m15s");
    }
}
