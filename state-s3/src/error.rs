//! S3 failures, classified once: every SDK error the S3 backend meets goes through [`classify`],
//! so "not found", "precondition failed", "access denied", "throttled" and "network" mean the
//! same thing for the state object, its lock and the bucket, and messages name what failed.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// What kind of failure an S3 call ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The object does not exist (`NoSuchKey`, or 404 on a HEAD).
    NotFound,
    /// The bucket does not exist: never "no state yet".
    NoSuchBucket,
    /// `If-Match` / `If-None-Match` did not hold (412): someone else wrote first.
    PreconditionFailed,
    /// 409 `ConditionalRequestConflict`: a concurrent conditional write is in flight; retry.
    ConditionalConflict,
    AccessDenied,
    /// Still throttled after the SDK's own retries (`SlowDown`, 503, 429).
    Throttled,
    /// No answer: connection refused or reset, timeout, DNS.
    Network,
    Other,
}

/// A classified S3 failure, with enough words to act on.
#[derive(Debug, thiserror::Error)]
#[error("{operation} {target}: {}", describe(*.class, .message))]
pub struct S3Error {
    pub class: Class,
    /// The S3 operation, e.g. "PutObject".
    pub operation: &'static str,
    /// `s3://bucket/key` or `s3://bucket`.
    pub target: String,
    /// The service's code and message, or the SDK's description when there was no answer.
    pub message: String,
}

fn describe(class: Class, message: &str) -> String {
    let what = match class {
        Class::NotFound => "not found",
        Class::NoSuchBucket => "the bucket does not exist",
        Class::PreconditionFailed => "precondition failed (someone else wrote it)",
        Class::ConditionalConflict => "a concurrent conditional write is in progress",
        Class::AccessDenied => "access denied",
        Class::Throttled => "S3 is throttling requests, still after retries",
        Class::Network => "no answer from S3",
        Class::Other => "failed",
    };
    if message.is_empty() {
        what.to_string()
    } else {
        format!("{what} ({message})")
    }
}

/// Classifies an SDK error from `operation` on `target`.
pub fn classify<E>(err: SdkError<E>, operation: &'static str, target: &str) -> S3Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().unwrap_or_default().to_string();
    let class = match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => Class::Network,
        _ => class_of(status, &code),
    };
    let message = match (class, err.message()) {
        (Class::Network | Class::Other, _) => DisplayErrorContext(&err).to_string(),
        (_, Some(m)) if !code.is_empty() => format!("{code}: {m}"),
        (_, Some(m)) => m.to_string(),
        (_, None) => code,
    };
    S3Error {
        class,
        operation,
        target: target.to_string(),
        message,
    }
}

/// The class of an S3 answer with HTTP `status` and error `code`.
pub fn class_of(status: Option<u16>, code: &str) -> Class {
    match (code, status) {
        ("NoSuchBucket", _) => Class::NoSuchBucket,
        ("NoSuchKey" | "NotFound", _) | (_, Some(404)) => Class::NotFound,
        ("PreconditionFailed", _) | (_, Some(412)) => Class::PreconditionFailed,
        ("ConditionalRequestConflict", _) | (_, Some(409)) => Class::ConditionalConflict,
        (
            "AccessDenied" | "AllAccessDisabled" | "InvalidAccessKeyId" | "SignatureDoesNotMatch",
            _,
        )
        | (_, Some(403)) => Class::AccessDenied,
        ("SlowDown" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded", _)
        | (_, Some(429 | 503)) => Class::Throttled,
        _ => Class::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::{class_of, Class};

    #[test]
    fn codes_and_statuses_map_to_one_class_each() {
        assert_eq!(class_of(Some(404), "NoSuchKey"), Class::NotFound);
        assert_eq!(class_of(Some(404), ""), Class::NotFound);
        assert_eq!(class_of(Some(404), "NoSuchBucket"), Class::NoSuchBucket);
        assert_eq!(
            class_of(Some(412), "PreconditionFailed"),
            Class::PreconditionFailed
        );
        assert_eq!(
            class_of(Some(409), "ConditionalRequestConflict"),
            Class::ConditionalConflict
        );
        assert_eq!(class_of(Some(403), "AccessDenied"), Class::AccessDenied);
        assert_eq!(class_of(Some(403), ""), Class::AccessDenied);
        assert_eq!(class_of(Some(503), "SlowDown"), Class::Throttled);
        assert_eq!(class_of(Some(500), "InternalError"), Class::Other);
        assert_eq!(class_of(None, ""), Class::Other);
    }
}
