//! AWS SDK errors classified once, per service, into the engine's [`ProviderError`] classes:
//! not found, dependency violation, throttled, unavailable, conflict, invalid input,
//! unsupported, other. Call sites map errors with `.map_err(ec2("CreateVpc"))` and decide from
//! the class, never from strings.
//!
//! Invariants:
//! - The message is one line: `<Operation>: <AWS code>: <AWS message>`, or for an answer that is
//!   not an AWS error document (an HTML 404 page, an empty 500) `<Operation>: HTTP <status>`
//!   with what it means. The SDK's `Debug` rendering (raw responses, headers) never reaches a
//!   message.
//! - Only `Throttled` (throttling codes) and `Unavailable` (HTTP 5xx, no answer in time, the
//!   connection failed) are retryable; an unclassified code (access denied, an opt-in needed, a
//!   code this table does not know) is `Other`, which is permanent.

use crate::Answer;
use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use hdh_engine::ProviderError;

/// The error class of an AWS error code, by service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    NotFound,
    DependencyViolation,
    Throttled,
    Unavailable,
    Conflict,
    InvalidInput,
    /// The endpoint does not serve the API (HTTP 404 without an AWS error).
    Unsupported,
    Other,
}

/// Server-side failures every service may answer (HTTP 5xx): retryable.
fn server_failure(code: &str) -> bool {
    matches!(
        code,
        "InternalError"
            | "InternalFailure"
            | "InternalServerError"
            | "InternalServerErrorException"
            | "InternalErrorException"
            | "ServerException"
            | "ServiceFailure"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
            | "Unavailable"
            | "KMSInternalException"
            | "DependencyTimeoutException"
    )
}

pub(crate) fn throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "SlowDown"
    )
}

/// EC2: `InvalidVpcID.NotFound`, `DependencyViolation`, `InvalidPermission.Duplicate`…
pub(crate) fn ec2_class(code: &str) -> Class {
    match code {
        c if throttling(c) => Class::Throttled,
        c if c.ends_with(".NotFound") || c.ends_with("NotFound") => Class::NotFound,
        "Gateway.NotAttached" | "InvalidAssociationID.NotFound" => Class::NotFound,
        "DependencyViolation"
        | "InvalidNetworkInterface.InUse"
        | "InvalidIPAddress.InUse"
        | "VolumeInUse" => Class::DependencyViolation,
        c if c.ends_with(".Duplicate")
            || c.ends_with(".InUse")
            || c.ends_with(".Conflict")
            || c == "IdempotentParameterMismatch"
            || c == "Resource.AlreadyAssociated"
            || c == "RouteAlreadyExists"
            || c == "IncorrectState" =>
        {
            Class::Conflict
        }
        c if c.starts_with("InvalidParameter")
            || c.starts_with("MissingParameter")
            || c.ends_with(".Malformed")
            || c.ends_with(".Range")
            || c.starts_with("Unsupported")
            || c == "InvalidRequest"
            || c.starts_with("InvalidInput") =>
        {
            Class::InvalidInput
        }
        _ => Class::Other,
    }
}

/// EKS: `ResourceNotFoundException`, `ResourceInUseException`…
pub(crate) fn eks_class(code: &str) -> Class {
    match code {
        c if throttling(c) => Class::Throttled,
        "ResourceNotFoundException" | "NotFoundException" => Class::NotFound,
        "ResourceInUseException" | "ResourcePropagationDelayException" => Class::Conflict,
        "InvalidParameterException"
        | "InvalidRequestException"
        | "UnsupportedAvailabilityZoneException"
        | "InvalidStateException"
        | "ValidationException" => Class::InvalidInput,
        _ => Class::Other,
    }
}

/// IAM: `NoSuchEntity`, `DeleteConflict`, `EntityAlreadyExists`…
pub(crate) fn iam_class(code: &str) -> Class {
    match code {
        c if throttling(c) => Class::Throttled,
        "NoSuchEntity" | "NoSuchEntityException" => Class::NotFound,
        "DeleteConflict" | "DeleteConflictException" => Class::DependencyViolation,
        "EntityAlreadyExists" | "EntityAlreadyExistsException" | "ConcurrentModification" => {
            Class::Conflict
        }
        "MalformedPolicyDocument"
        | "InvalidInput"
        | "ValidationError"
        | "LimitExceeded"
        | "UnmodifiableEntity" => Class::InvalidInput,
        _ => Class::Other,
    }
}

/// IAM calls that name both a role and a managed policy (`AttachRolePolicy`): `NoSuchEntity`
/// means the role is not visible yet (IAM propagates a new role within seconds: retryable for
/// a short while) or the policy does not exist (permanent: waiting never makes it exist). IAM
/// tells them apart only in its message ("Policy arn:… does not exist or is not attachable.").
pub(crate) fn iam_attach_class(code: &str, message: &str) -> Class {
    match iam_class(code) {
        Class::NotFound if message.trim_start().starts_with("Policy ") => Class::InvalidInput,
        c => c,
    }
}

/// KMS: `NotFoundException`, `AlreadyExistsException`, `KMSInvalidStateException`…
pub(crate) fn kms_class(code: &str) -> Class {
    match code {
        c if throttling(c) => Class::Throttled,
        "NotFoundException" => Class::NotFound,
        "AlreadyExistsException" | "KMSInvalidStateException" => Class::Conflict,
        "InvalidArnException"
        | "ValidationException"
        | "InvalidAliasNameException"
        | "MalformedPolicyDocumentException"
        | "TagException"
        | "LimitExceededException" => Class::InvalidInput,
        _ => Class::Other,
    }
}

/// EFS: `FileSystemNotFound`, `FileSystemInUse`, `IncorrectFileSystemLifeCycleState`…
pub(crate) fn efs_class(code: &str) -> Class {
    match code {
        c if throttling(c) => Class::Throttled,
        "FileSystemNotFound" | "MountTargetNotFound" | "PolicyNotFound" => Class::NotFound,
        "FileSystemInUse" | "DependencyTimeout" => Class::DependencyViolation,
        "FileSystemAlreadyExists"
        | "IncorrectFileSystemLifeCycleState"
        | "IncorrectMountTargetState"
        | "MountTargetConflict"
        | "ConflictException" => Class::Conflict,
        "BadRequest"
        | "ValidationException"
        | "SubnetNotFound"
        | "SecurityGroupNotFound"
        | "UnsupportedAvailabilityZone" => Class::InvalidInput,
        _ => Class::Other,
    }
}

/// S3: `NoSuchBucket`, `BucketNotEmpty`, `BucketAlreadyOwnedByYou`…
pub(crate) fn s3_class(code: &str) -> Class {
    match code {
        c if throttling(c) => Class::Throttled,
        "NoSuchBucket"
        | "NotFound"
        | "NoSuchTagSet"
        | "NoSuchPublicAccessBlockConfiguration"
        | "ServerSideEncryptionConfigurationNotFoundError" => Class::NotFound,
        "BucketNotEmpty" => Class::DependencyViolation,
        "BucketAlreadyOwnedByYou" | "BucketAlreadyExists" | "OperationAborted" => Class::Conflict,
        "InvalidBucketName"
        | "InvalidArgument"
        | "InvalidRequest"
        | "MalformedXML"
        | "IllegalLocationConstraintException" => Class::InvalidInput,
        _ => Class::Other,
    }
}

/// Cognito: `ResourceNotFoundException`, `UserNotFoundException`, `UsernameExistsException`…
pub(crate) fn cognito_class(code: &str) -> Class {
    match code {
        c if throttling(c) => Class::Throttled,
        "ResourceNotFoundException" | "UserNotFoundException" => Class::NotFound,
        "UsernameExistsException" | "ConcurrentModificationException" => Class::Conflict,
        "InvalidParameterException"
        | "InvalidOAuthFlowException"
        | "ScopeDoesNotExistException"
        | "LimitExceededException"
        | "InvalidEmailRoleAccessPolicyException" => Class::InvalidInput,
        _ => Class::Other,
    }
}

/// Route 53: `NoSuchHostedZone`, `PriorRequestNotComplete`, `InvalidChangeBatch`…
pub(crate) fn route53_class(code: &str) -> Class {
    match code {
        c if throttling(c) => Class::Throttled,
        "NoSuchHostedZone" | "NoSuchChange" => Class::NotFound,
        "PriorRequestNotComplete" => Class::Throttled,
        "InvalidChangeBatch" | "InvalidInput" | "InvalidDomainName" => Class::InvalidInput,
        _ => Class::Other,
    }
}

/// ACM: `ResourceNotFoundException`, `ResourceInUseException` (a load balancer still uses the
/// certificate), `InvalidArnException`…
pub(crate) fn acm_class(code: &str) -> Class {
    match code {
        c if throttling(c) => Class::Throttled,
        "ResourceNotFoundException" => Class::NotFound,
        "ResourceInUseException" => Class::DependencyViolation,
        "ConflictException" | "InvalidStateException" | "RequestInProgressException" => {
            Class::Conflict
        }
        "InvalidArnException"
        | "InvalidDomainValidationOptionsException"
        | "InvalidParameterException"
        | "InvalidTagException"
        | "TagPolicyException"
        | "TooManyTagsException"
        | "ValidationException"
        | "LimitExceededException" => Class::InvalidInput,
        _ => Class::Other,
    }
}

/// Classic ELB: `LoadBalancerNotFound` (its code for AccessPointNotFound), `Throttling`…
pub(crate) fn elb_class(code: &str) -> Class {
    match code {
        c if throttling(c) => Class::Throttled,
        "LoadBalancerNotFound" | "AccessPointNotFound" | "AccessPointNotFoundException" => {
            Class::NotFound
        }
        "DependencyThrottle" => Class::Throttled,
        "OperationNotPermitted" | "InvalidConfigurationRequest" => Class::Conflict,
        "ValidationError" | "InvalidParameterValue" => Class::InvalidInput,
        _ => Class::Other,
    }
}

/// STS has nothing to find or conflict with.
pub(crate) fn sts_class(code: &str) -> Class {
    if throttling(code) {
        Class::Throttled
    } else {
        Class::Other
    }
}

/// The HTTP status of the response an error came with, if there was one (only the status is
/// read; the response is never rendered).
fn http_status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// AWS's own text on one line, at most `MAX_MESSAGE` characters.
fn one_line(text: &str) -> String {
    const MAX_MESSAGE: usize = 400;
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX_MESSAGE {
        flat
    } else {
        let cut: String = flat.chars().take(MAX_MESSAGE).collect();
        format!("{cut}…")
    }
}

/// Turns an SDK error into the engine's class, keeping AWS's code and message (one line).
pub(crate) fn classify<E>(
    classes: fn(&str) -> Class,
    op: &str,
    err: SdkError<E, HttpResponse>,
) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = http_status(&err);
    let (class, message) = match err.code() {
        Some(code) => {
            let class = match classes(code) {
                Class::Other if server_failure(code) || status.is_some_and(|s| s >= 500) => {
                    Class::Unavailable
                }
                c => c,
            };
            let text = err.message().map_or_else(String::new, one_line);
            let message = if text.is_empty() {
                format!("{op}: {code}")
            } else {
                format!("{op}: {code}: {text}")
            };
            (class, message)
        }
        None => unanswered(op, &err, status),
    };
    into_provider_error(class, message)
}

/// An error without an AWS error code: no answer at all, or an answer that is not an AWS error
/// document (a proxy's or a gateway's page, an API the endpoint does not serve).
fn unanswered<E>(
    op: &str,
    err: &SdkError<E, HttpResponse>,
    status: Option<u16>,
) -> (Class, String) {
    match (err, status) {
        (SdkError::TimeoutError(_), _) => (
            Class::Unavailable,
            format!("{op}: no answer in time (the SDK's retries included)"),
        ),
        (SdkError::DispatchFailure(d), _) => {
            let why = if d.is_timeout() {
                "timed out connecting"
            } else if d.is_io() {
                "could not connect"
            } else {
                "the request could not be sent"
            };
            (
                Class::Unavailable,
                format!("{op}: {why} (the SDK's retries included)"),
            )
        }
        (SdkError::ConstructionFailure(_), _) => (
            Class::InvalidInput,
            format!("{op}: the request could not be built from the given values"),
        ),
        (_, Some(404)) => (
            Class::Unsupported,
            format!(
                "{op}: the endpoint answered HTTP 404 without an AWS error: it does not serve \
                 this API (check AWS_ENDPOINT_URL and the region)"
            ),
        ),
        (_, Some(s)) if s >= 500 => (
            Class::Unavailable,
            format!("{op}: HTTP {s} without an AWS error (the SDK's retries included)"),
        ),
        (_, Some(s)) => (
            Class::Other,
            format!("{op}: HTTP {s} without an AWS error that could be read"),
        ),
        (_, None) => (Class::Other, format!("{op}: the answer could not be read")),
    }
}

pub(crate) fn into_provider_error(class: Class, message: String) -> ProviderError {
    match class {
        Class::NotFound => ProviderError::NotFound { message },
        Class::DependencyViolation => ProviderError::DependencyViolation { message },
        Class::Throttled => ProviderError::Throttled { message },
        Class::Unavailable => ProviderError::Unavailable { message },
        Class::Conflict => ProviderError::Conflict { message },
        Class::InvalidInput => ProviderError::InvalidInput { message },
        Class::Unsupported => ProviderError::Unsupported { message },
        Class::Other => ProviderError::Other { message },
    }
}

macro_rules! service_mapper {
    ($name:ident, $classes:ident) => {
        /// `.map_err(service("Operation"))`: classifies an error of this service.
        pub(crate) fn $name<E>(
            op: &'static str,
        ) -> impl FnOnce(SdkError<E, HttpResponse>) -> ProviderError
        where
            E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        {
            move |e| classify($classes, op, e)
        }
    };
}

service_mapper!(ec2, ec2_class);
service_mapper!(eks, eks_class);
service_mapper!(iam, iam_class);
service_mapper!(kms, kms_class);
service_mapper!(sts, sts_class);
service_mapper!(efs, efs_class);
service_mapper!(elb, elb_class);
service_mapper!(s3, s3_class);
service_mapper!(cognito, cognito_class);
service_mapper!(route53, route53_class);
service_mapper!(acm, acm_class);

/// `.map_err(iam_attach("AttachRolePolicy"))`: [`iam_attach_class`] instead of [`iam_class`].
pub(crate) fn iam_attach<E>(
    op: &'static str,
) -> impl FnOnce(SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| {
        let missing_policy = e.code().is_some_and(|c| {
            iam_attach_class(c, e.message().unwrap_or_default()) == Class::InvalidInput
        });
        match classify(iam_class, op, e) {
            ProviderError::NotFound { message } if missing_policy => ProviderError::InvalidInput {
                message: format!("{message} (no such managed policy: check its ARN)"),
            },
            other => other,
        }
    }
}

/// Not found means "gone": `Ok(None)`; anything else stays an error.
pub(crate) fn absent_if_not_found<T>(r: Answer<T>) -> Answer<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ProviderError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Deleting what is already gone is success.
pub(crate) fn gone_is_ok(r: Answer<()>) -> Answer<()> {
    match r {
        Err(ProviderError::NotFound { .. }) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_classes() {
        assert_eq!(ec2_class("InvalidVpcID.NotFound"), Class::NotFound);
        assert_eq!(ec2_class("NatGatewayNotFound"), Class::NotFound);
        assert_eq!(ec2_class("DependencyViolation"), Class::DependencyViolation);
        assert_eq!(ec2_class("RequestLimitExceeded"), Class::Throttled);
        assert_eq!(ec2_class("InvalidPermission.Duplicate"), Class::Conflict);
        assert_eq!(ec2_class("InvalidParameterValue"), Class::InvalidInput);
        assert_eq!(ec2_class("InvalidSubnet.Range"), Class::InvalidInput);
        assert_eq!(eks_class("ResourceNotFoundException"), Class::NotFound);
        assert_eq!(eks_class("ThrottlingException"), Class::Throttled);
        assert_eq!(iam_class("NoSuchEntity"), Class::NotFound);
        assert_eq!(iam_class("DeleteConflict"), Class::DependencyViolation);
        assert_eq!(kms_class("NotFoundException"), Class::NotFound);
        assert_eq!(ec2_class("InternalError"), Class::Other);
        assert_eq!(efs_class("FileSystemInUse"), Class::DependencyViolation);
        assert_eq!(efs_class("MountTargetNotFound"), Class::NotFound);
        assert_eq!(s3_class("NoSuchBucket"), Class::NotFound);
        assert_eq!(s3_class("SlowDown"), Class::Throttled);
        assert_eq!(cognito_class("UserNotFoundException"), Class::NotFound);
        assert_eq!(cognito_class("TooManyRequestsException"), Class::Throttled);
        assert_eq!(route53_class("NoSuchHostedZone"), Class::NotFound);
        assert_eq!(elb_class("LoadBalancerNotFound"), Class::NotFound);
        assert_eq!(elb_class("Throttling"), Class::Throttled);
        assert_eq!(
            iam_attach_class(
                "NoSuchEntity",
                "Policy arn:aws:iam::aws:policy/AmazonEKSClusterPolicy does not exist or is not attachable."
            ),
            Class::InvalidInput
        );
        assert_eq!(
            iam_attach_class("NoSuchEntity", "The role with name r cannot be found."),
            Class::NotFound
        );
        assert!(server_failure("InternalError") && server_failure("ServiceFailure"));
        assert_eq!(iam_class("AccessDenied"), Class::Other);
    }

    #[test]
    fn messages_are_one_bounded_line() {
        assert_eq!(one_line("a\n  b\tc"), "a b c");
        assert!(one_line(&"x ".repeat(1000)).chars().count() <= 401);
    }
}
