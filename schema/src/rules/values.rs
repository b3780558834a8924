//! Value rules that are neither names nor network nor versions: email addresses, EC2 instance
//! types, and numeric ranges (node group sizes, disk sizes, counts).

use super::{Rule, Violation};

/// An email address as Cognito takes it: one `@`, a non-empty local part without spaces, and
/// a domain of at least two DNS labels.
pub fn email(s: &str) -> Rule {
    const E: &str = "an email address such as `admin@example.org`";
    let bad = |r: &str| Err(Violation::new(r.to_string(), E));
    if s.len() > 254 {
        return bad("it is longer than 254 characters");
    }
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return bad(&format!("it contains {}", super::describe_char(c)));
    }
    let ats = s.matches('@').count();
    if ats != 1 {
        return bad(&format!("it has {ats} `@` signs, not one"));
    }
    let (local, domain) = s.split_once('@').unwrap_or_default();
    if local.is_empty() {
        return bad("nothing comes before the `@`");
    }
    if local.len() > 64 {
        return bad("the part before the `@` is longer than 64 characters");
    }
    if domain.is_empty() {
        return bad("nothing comes after the `@`");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return bad(&format!("the domain `{domain}` has no dot"));
    }
    for l in labels {
        super::charset(
            l,
            63,
            |c| c.is_alphanumeric() || c == '-',
            |c| c.is_alphanumeric(),
        )
        .or_else(|r| bad(&format!("the domain label `{l}`: {r}")))?;
    }
    Ok(())
}

/// An EC2 instance type `family.size`: the family a lowercase letter then lowercase letters,
/// digits and hyphens (`m5`, `g4dn`, `m7i-flex`), the size lowercase letters, digits and
/// hyphens (`xlarge`, `8xlarge`, `metal-24xl`).
pub fn instance_type(s: &str) -> Rule {
    const E: &str = "an EC2 instance type `family.size` such as `m5.xlarge`";
    let bad = |r: String| Violation::new(r, E);
    if s.is_empty() {
        return Err(bad("it is empty".into()));
    }
    let Some((family, size)) = s.split_once('.') else {
        return Err(bad("it has no `.` between family and size".into()));
    };
    let part = |t: &str| {
        t.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && t.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if !family.starts_with(|c: char| c.is_ascii_lowercase()) || !part(family) {
        let lower = s.to_ascii_lowercase();
        let v = bad(format!(
            "the family `{family}` is not lowercase letters and digits"
        ));
        return Err(if lower != s && instance_type(&lower).is_ok() {
            v.hint(format!("instance types are lowercase: `{lower}`"))
        } else {
            v
        });
    }
    if !part(size) {
        return Err(bad(format!(
            "the size `{size}` is not lowercase letters and digits"
        )));
    }
    if s.len() > 64 {
        return Err(bad("it is longer than 64 characters".into()));
    }
    Ok(())
}

/// A node group's scaling: `min ≤ desired ≤ max`, `max ≥ 1`, `max` at most [`MAX_NODES`].
pub fn scaling(min: i64, desired: i64, max: i64) -> Rule {
    const E: &str = "min ≤ desired ≤ max and max ≥ 1";
    let found = format!("min {min}, desired {desired}, max {max}");
    if min < 0 || desired < 0 || max < 0 {
        return Err(Violation::new(
            format!("{found}: sizes cannot be negative"),
            E,
        ));
    }
    if max == 0 {
        return Err(Violation::new(format!("{found}: max is 0"), E)
            .hint("EKS needs max ≥ 1; use min 0 and desired 0 for a group that scales from zero"));
    }
    if min > max {
        return Err(Violation::new(format!("{found}: min is above max"), E));
    }
    if desired < min || desired > max {
        return Err(Violation::new(
            format!("{found}: desired is outside min..max"),
            E,
        ));
    }
    if max > MAX_NODES {
        return Err(Violation::new(
            format!("{found}: max is above {MAX_NODES}"),
            format!("max at most {MAX_NODES} (EKS's limit per managed node group)"),
        ));
    }
    Ok(())
}

/// The most nodes EKS allows in one managed node group.
pub const MAX_NODES: i64 = 1000;

/// `n` in `min..=max`; `what` says what is counted ("GiB", "NAT gateways").
pub fn in_range(n: i64, min: i64, max: i64, unit: &str) -> Rule {
    if (min..=max).contains(&n) {
        return Ok(());
    }
    Err(Violation::new(
        format!("{n} is outside {min}..{max}"),
        format!("{min} to {max} {unit}"),
    ))
}

/// A Cognito token lifetime written `<n>m`, `<n>h` or `<n>d`, in minutes, within Cognito's
/// bounds (`min`..`max` minutes): access and ID tokens 5 minutes to 1 day, refresh tokens
/// 60 minutes to 10 years.
pub fn token_validity(s: &str, min: i64, max: i64) -> Rule<i64> {
    let shown = |m: i64| match m {
        m if m % (24 * 60) == 0 => format!("{}d", m / (24 * 60)),
        m if m % 60 == 0 => format!("{}h", m / 60),
        m => format!("{m}m"),
    };
    let expected = format!(
        "a duration such as `60m`, `12h` or `30d`, from {} to {}",
        shown(min),
        shown(max)
    );
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let per = match unit {
        "m" => 1,
        "h" => 60,
        "d" => 24 * 60,
        _ => {
            return Err(Violation::new(
                "it has no unit (m, h or d)".to_string(),
                expected,
            ))
        }
    };
    let Ok(n) = n.parse::<i64>() else {
        return Err(Violation::new(
            format!("`{n}` is not a whole number"),
            expected,
        ));
    };
    let minutes = n.saturating_mul(per);
    if minutes < min || minutes > max {
        return Err(Violation::new(
            format!(
                "it is outside Cognito's bounds, {} to {}",
                shown(min),
                shown(max)
            ),
            expected,
        ));
    }
    Ok(minutes)
}

/// A node group's root volume in GiB: EKS's AMIs need at least 20, EBS allows at most 16384.
pub fn disk_size(n: i64) -> Rule {
    in_range(n, 20, 16384, "GiB").map_err(|v| v.hint("EKS's node AMIs need at least 20 GiB"))
}

/// `s` is one of `options` (e.g. an encoding).
pub fn one_of(s: &str, options: &[&str]) -> Rule {
    if options.contains(&s) {
        return Ok(());
    }
    let listed: Vec<String> = options.iter().map(|o| format!("`{o}`")).collect();
    let v = Violation::new("it is not one of the choices", listed.join(" or "));
    Err(match crate::suggest::closest(s, options.iter().copied()) {
        Some(g) => v.hint(format!("did you mean `{g}`?")),
        None => v,
    })
}

/// A Unix permission mode as an octal string of 3 or 4 digits (`"0600"`, `"644"`).
pub fn file_mode(s: &str) -> Rule {
    if (3..=4).contains(&s.len()) && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Ok(());
    }
    Err(Violation::new(
        "it is not 3 or 4 octal digits",
        "an octal mode such as `\"0600\"`",
    ))
}

/// A local file path: not empty, naming a file (not ending in `/`), no NUL byte.
pub fn file_path(s: &str) -> Rule {
    const E: &str = "a file path such as `out/settings.yaml`";
    if s.is_empty() {
        return Err(Violation::new("it is empty", E));
    }
    if s.ends_with('/') {
        return Err(Violation::new("it names a directory (it ends with `/`)", E));
    }
    if s.contains('\0') {
        return Err(Violation::new("it contains a NUL byte", E));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(r: Rule) -> String {
        r.unwrap_err().reason
    }

    #[test]
    fn emails() {
        assert!(email("admin@example.org").is_ok());
        assert!(email("a.b+c@sub.example.co.uk").is_ok());
        assert_eq!(reason(email("@@")), "it has 2 `@` signs, not one");
        assert_eq!(reason(email("admin")), "it has 0 `@` signs, not one");
        assert_eq!(
            reason(email("@example.org")),
            "nothing comes before the `@`"
        );
        assert_eq!(reason(email("a@")), "nothing comes after the `@`");
        assert_eq!(
            reason(email("a@localhost")),
            "the domain `localhost` has no dot"
        );
        assert_eq!(reason(email("a b@x.org")), "it contains a space");
        assert_eq!(
            reason(email("a@x..org")),
            "the domain label ``: it is empty"
        );
        assert_eq!(
            reason(email("a@-x.org")),
            "the domain label `-x`: it starts with `-`"
        );
    }

    #[test]
    fn instance_types() {
        for ok in [
            "t3a.medium",
            "m5.8xlarge",
            "g4dn.xlarge",
            "m7i-flex.large",
            "u-6tb1.metal",
            "c6i.metal-24xl",
        ] {
            assert!(instance_type(ok).is_ok(), "{ok}");
        }
        assert_eq!(reason(instance_type("")), "it is empty");
        assert_eq!(
            reason(instance_type("m5")),
            "it has no `.` between family and size"
        );
        assert_eq!(
            reason(instance_type("m5.")),
            "the size `` is not lowercase letters and digits"
        );
        assert_eq!(
            reason(instance_type(".large")),
            "the family `` is not lowercase letters and digits"
        );
        assert_eq!(
            instance_type("M5.Large").unwrap_err().hint.as_deref(),
            Some("instance types are lowercase: `m5.large`")
        );
        assert!(instance_type("m5.x large").is_err());
    }

    #[test]
    fn choices_modes_and_paths() {
        assert!(one_of("hex", &["hex", "base64"]).is_ok());
        let e = one_of("base46", &["hex", "base64"]).unwrap_err();
        assert_eq!(e.expected, "`hex` or `base64`");
        assert_eq!(e.hint.as_deref(), Some("did you mean `base64`?"));
        assert!(file_mode("0600").is_ok());
        assert!(file_mode("644").is_ok());
        assert!(file_mode("0800").is_err());
        assert!(file_mode("60").is_err());
        assert!(file_path("out/a.yaml").is_ok());
        assert_eq!(
            reason(file_path("out/")),
            "it names a directory (it ends with `/`)"
        );
        assert!(file_path("").is_err());
    }

    #[test]
    fn ranges() {
        assert!(scaling(0, 0, 1).is_ok());
        assert!(scaling(2, 2, 3).is_ok());
        assert_eq!(
            reason(scaling(3, 3, 2)),
            "min 3, desired 3, max 2: min is above max"
        );
        assert_eq!(
            reason(scaling(1, 5, 3)),
            "min 1, desired 5, max 3: desired is outside min..max"
        );
        assert_eq!(
            reason(scaling(0, 0, 0)),
            "min 0, desired 0, max 0: max is 0"
        );
        assert!(scaling(0, 0, 1001).is_err());
        assert!(disk_size(20).is_ok());
        assert_eq!(reason(disk_size(5)), "5 is outside 20..16384");
        assert!(disk_size(16385).is_err());
        assert!(in_range(3, 1, 2, "NAT gateways").is_err());
    }
}
