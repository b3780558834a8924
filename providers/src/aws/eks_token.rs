//! The EKS bearer token, as aws-iam-authenticator and `aws eks get-token` make it: a SigV4
//! query-presigned STS `GetCallerIdentity` URL that also signs the `x-k8s-aws-id: <cluster>`
//! header, base64url-encoded (no padding) behind the `k8s-aws-v1.` prefix. EKS replays the URL
//! to STS to learn who is calling. Credentials come from the standard chain.
//!
//! The token is a credential: it is returned, never logged.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sts::config::ProvideCredentials;
use base64::Engine;
use sha2::{Digest, Sha256};

/// How long the presigned URL is valid (EKS accepts at most 15 minutes; like the AWS CLI, the
/// credential is reported to kubectl as valid for 14).
pub const URL_EXPIRES: Duration = Duration::from_secs(60);
pub const CREDENTIAL_LIFETIME: Duration = Duration::from_secs(14 * 60);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no AWS credentials found: {0}")]
    Credentials(String),
}

/// Static credentials for signing.
pub struct Keys<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let (mut ipad, mut opad) = ([0x36u8; 64], [0x5cu8; 64]);
    for i in 0..64 {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(data)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// RFC 3986 encoding of a query component (SigV4's rules).
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// (year, month, day, hour, minute, second) in UTC.
fn civil(t: SystemTime) -> (i64, u32, u32, u32, u32, u32) {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// `2026-01-02T03:04:05Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// The token for `cluster` in `region`, signed at `now`.
pub fn token_with(keys: &Keys<'_>, region: &str, cluster: &str, now: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil(now);
    let date = format!("{y:04}{mo:02}{d:02}");
    let amz_date = format!("{date}T{h:02}{mi:02}{s:02}Z");
    let host = format!("sts.{region}.amazonaws.com");
    let scope = format!("{date}/{region}/sts/aws4_request");
    let mut query = vec![
        ("Action".to_string(), "GetCallerIdentity".to_string()),
        ("Version".into(), "2011-06-15".into()),
        ("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()),
        (
            "X-Amz-Credential".into(),
            format!("{}/{scope}", keys.access_key_id),
        ),
        ("X-Amz-Date".into(), amz_date.clone()),
        ("X-Amz-Expires".into(), URL_EXPIRES.as_secs().to_string()),
        ("X-Amz-SignedHeaders".into(), "host;x-k8s-aws-id".into()),
    ];
    if let Some(t) = keys.session_token {
        query.push(("X-Amz-Security-Token".into(), t.to_string()));
    }
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let canonical = format!(
        "GET\n/\n{canonical_query}\nhost:{host}\nx-k8s-aws-id:{cluster}\n\nhost;x-k8s-aws-id\n{}",
        hex::encode(Sha256::digest(b""))
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", keys.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    for part in [region, "sts", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
    let url = format!("https://{host}/?{canonical_query}&X-Amz-Signature={signature}");
    format!(
        "k8s-aws-v1.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
    )
}

/// The token with credentials from the standard chain.
pub async fn token(region: &str, cluster: &str) -> Result<String, TokenError> {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .load()
        .await;
    let provider = config
        .credentials_provider()
        .ok_or_else(|| TokenError::Credentials("no credential provider configured".into()))?;
    let c = provider
        .provide_credentials()
        .await
        .map_err(|e| TokenError::Credentials(e.to_string()))?;
    Ok(token_with(
        &Keys {
            access_key_id: c.access_key_id(),
            secret_access_key: c.secret_access_key(),
            session_token: c.session_token(),
        },
        region,
        cluster,
        SystemTime::now(),
    ))
}

/// The `ExecCredential` document kubectl reads from an exec plugin.
pub fn exec_credential(token: &str, now: SystemTime) -> String {
    serde_json::json!({
        "kind": "ExecCredential",
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "spec": {},
        "status": {
            "expirationTimestamp": rfc3339(now + CREDENTIAL_LIFETIME),
            "token": token,
        }
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        assert_eq!(
            hex::encode(hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn dates_are_utc_civil() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn the_token_is_a_presigned_sts_url_with_the_cluster_header() {
        let keys = Keys {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session_token: None,
        };
        let t = token_with(
            &keys,
            "us-east-1",
            "eks-helio",
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        );
        let body = t.strip_prefix("k8s-aws-v1.").unwrap();
        assert!(!body.contains('='), "no padding");
        let url = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(body)
                .unwrap(),
        )
        .unwrap();
        assert!(url.starts_with("https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20231114%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20231114T221320Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature="), "{url}");
        let sig = url.rsplit("X-Amz-Signature=").next().unwrap();
        assert_eq!(sig.len(), 64);
        // Deterministic for the same inputs; another cluster signs differently.
        assert_eq!(
            t,
            token_with(
                &keys,
                "us-east-1",
                "eks-helio",
                UNIX_EPOCH + Duration::from_secs(1_700_000_000)
            )
        );
        assert_ne!(
            t,
            token_with(
                &keys,
                "us-east-1",
                "other",
                UNIX_EPOCH + Duration::from_secs(1_700_000_000)
            )
        );
    }
}
