//! "Did you mean …?": finds the closest of the allowed names to a misspelt one.

/// Optimal-string-alignment distance: insertions, deletions, substitutions and transpositions of
/// adjacent characters each cost 1.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    // Three rows: two back (for transpositions), previous and current.
    let mut before: Vec<usize> = vec![0; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur: Vec<usize> = vec![0; m + 1];
    for i in 1..=n {
        cur[0] = i;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[m]
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo (case is
/// ignored; about one edit per three characters is allowed).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `` `a`, `b`, `c` `` for messages.
pub fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A hint for an unknown name: "did you mean `x`?" when one is close, and the allowed names.
pub fn hint(word: &str, allowed: &[&str], allowed_label: &str) -> Option<String> {
    let guess = closest(word, allowed.iter().copied());
    match (guess, allowed.is_empty()) {
        (Some(g), _) => Some(format!(
            "did you mean `{g}`? {allowed_label}: {}",
            list(allowed)
        )),
        (None, false) => Some(format!("{allowed_label}: {}", list(allowed))),
        (None, true) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_transpositions_as_one() {
        assert_eq!(edit_distance("secert", "secret"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn closest_finds_plausible_typos_only() {
        let keys = ["version", "name", "region", "resources"];
        assert_eq!(closest("reosurces", keys), Some("resources"));
        assert_eq!(closest("regoin", keys), Some("region"));
        assert_eq!(closest("Name", keys), Some("name"));
        assert_eq!(closest("daskhub", keys), None);
    }

    #[test]
    fn hint_lists_allowed_names() {
        assert_eq!(
            hint("nme", &["name", "region"], "allowed keys").as_deref(),
            Some("did you mean `name`? allowed keys: `name`, `region`")
        );
        assert_eq!(
            hint("zzz", &["a"], "allowed").as_deref(),
            Some("allowed: `a`")
        );
    }
}
