//! Idempotency tokens: the engine gives every create a UUID; each AWS API takes it in its own
//! alphabet and length, derived here so a retried call carries the same token.

/// An EC2 `ClientToken` or EKS `clientRequestToken`: at most 64 ASCII letters, digits and
/// hyphens.
pub(crate) fn client_token(token: &str) -> String {
    kept(token, 64, '-')
}

/// ACM's `IdempotencyToken`: at most 32 word characters; a UUID without its hyphens.
pub(crate) fn acm_token(token: &str) -> String {
    kept(token, 32, '_')
}

/// The first `max` characters of `token` that are ASCII letters, digits or `extra`.
fn kept(token: &str, max: usize, extra: char) -> String {
    token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == extra)
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_fit_each_api() {
        let uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(client_token(uuid), uuid);
        assert_eq!(client_token(&"a/".repeat(80)).len(), 64);
        let t = acm_token(uuid);
        assert_eq!(t, "0f8fad5bd9cb469fa16570867728950e");
        assert!(t.len() <= 32);
    }
}
