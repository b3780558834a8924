//! Version rules: Kubernetes versions as EKS names them (`1.31`, one of the versions EKS
//! supports) and Helm chart versions (semantic versions, as `helm --version` takes them).

use super::{Rule, Violation};

/// The Kubernetes minor versions EKS offers (standard and extended support), oldest first.
/// Update this list when EKS adds or retires a version.
pub const EKS_VERSIONS: &[&str] = &["1.28", "1.29", "1.30", "1.31", "1.32", "1.33", "1.34"];

fn eks_range() -> String {
    format!(
        "{} to {}",
        EKS_VERSIONS.first().copied().unwrap_or_default(),
        EKS_VERSIONS.last().copied().unwrap_or_default()
    )
}

/// `MAJOR.MINOR` (digits, no leading zeros), one of [`EKS_VERSIONS`].
pub fn eks_kubernetes_version(s: &str) -> Rule {
    let expected = format!("a Kubernetes version EKS supports, `{}`", eks_range());
    let number = |t: &str| {
        !t.is_empty()
            && t.len() <= 4
            && t.chars().all(|c| c.is_ascii_digit())
            && (t == "0" || !t.starts_with('0'))
    };
    let syntax = match s.split('.').collect::<Vec<_>>()[..] {
        [major, minor] => number(major) && number(minor),
        _ => false,
    };
    if !syntax {
        let hint = match s
            .strip_prefix('v')
            .filter(|t| eks_kubernetes_version(t).is_ok())
        {
            Some(t) => format!("write it without the `v`: \"{t}\""),
            None => match s.split('.').take(2).collect::<Vec<_>>()[..] {
                [a, b] if s.split('.').count() == 3 && number(a) && number(b) => {
                    format!("EKS versions name a minor version only: \"{a}.{b}\"")
                }
                _ => format!(
                    "e.g. \"{}\"",
                    EKS_VERSIONS.last().copied().unwrap_or("1.31")
                ),
            },
        };
        return Err(Violation::new("it is not a version `MAJOR.MINOR`", expected).hint(hint));
    }
    if !EKS_VERSIONS.contains(&s) {
        return Err(
            Violation::new(format!("EKS does not offer Kubernetes {s}"), expected)
                .hint(format!("EKS offers {}", EKS_VERSIONS.join(", "))),
        );
    }
    Ok(())
}

/// A semantic version (2.0.0): `MAJOR.MINOR.PATCH`, optional `-prerelease` and `+build`
/// (dot-separated identifiers of letters, digits and hyphens), an optional leading `v` as Helm
/// accepts it.
pub fn chart_version(s: &str) -> Rule {
    const E: &str = "a semantic version `MAJOR.MINOR.PATCH` such as `2022.8.2`";
    let bad = |r: &str| Err(Violation::new(r.to_string(), E));
    if s.is_empty() {
        return bad("it is empty");
    }
    let t = s.strip_prefix('v').unwrap_or(s);
    let (rest, build) = match t.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (t, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let numeric = |n: &str| {
        !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) && (n == "0" || !n.starts_with('0'))
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3 {
        return bad(&format!(
            "it has {} dot-separated number{} before any `-` or `+`, not 3",
            parts.len(),
            if parts.len() == 1 { "" } else { "s" }
        ));
    }
    if let Some(p) = parts.iter().find(|p| !numeric(p)) {
        return bad(&format!("`{p}` is not a number without leading zeros"));
    }
    let idents = |x: &str| {
        x.split('.')
            .all(|i| !i.is_empty() && i.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    };
    if let Some(p) = pre {
        if !idents(p) {
            return bad(&format!(
                "the pre-release part `{p}` is not dot-separated letters, digits and hyphens"
            ));
        }
    }
    if let Some(b) = build {
        if !idents(b) {
            return bad(&format!(
                "the build part `{b}` is not dot-separated letters, digits and hyphens"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_versions() {
        assert!(eks_kubernetes_version("1.31").is_ok());
        assert!(eks_kubernetes_version("1.32").is_ok());
        let e = eks_kubernetes_version("banana").unwrap_err();
        assert_eq!(e.reason, "it is not a version `MAJOR.MINOR`");
        let e = eks_kubernetes_version("v1.31").unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("write it without the `v`: \"1.31\"")
        );
        let e = eks_kubernetes_version("1.31.2").unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("EKS versions name a minor version only: \"1.31\"")
        );
        let e = eks_kubernetes_version("1.12").unwrap_err();
        assert_eq!(e.reason, "EKS does not offer Kubernetes 1.12");
        assert!(eks_kubernetes_version("1.031").is_err());
        assert!(eks_kubernetes_version("").is_err());
        assert!(eks_kubernetes_version("1.").is_err());
    }

    #[test]
    fn chart_versions() {
        for ok in [
            "2022.8.2",
            "v1.2.3",
            "1.0.0-rc.1",
            "1.0.0+build.5",
            "0.0.0-alpha-1+x",
        ] {
            assert!(chart_version(ok).is_ok(), "{ok}");
        }
        for (bad, reason) in [
            (
                "garbage",
                "it has 1 dot-separated number before any `-` or `+`, not 3",
            ),
            (
                "1.2",
                "it has 2 dot-separated numbers before any `-` or `+`, not 3",
            ),
            ("1.02.3", "`02` is not a number without leading zeros"),
            ("1.x.3", "`x` is not a number without leading zeros"),
            (
                "1.2.3-",
                "the pre-release part `` is not dot-separated letters, digits and hyphens",
            ),
            (
                "1.2.3+a..b",
                "the build part `a..b` is not dot-separated letters, digits and hyphens",
            ),
            ("", "it is empty"),
        ] {
            assert_eq!(chart_version(bad).unwrap_err().reason, reason, "{bad}");
        }
    }
}
