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

/// One service's error codes by class, besides the throttling codes every service shares
/// ([`throttling`]); a code in no list is `Other`.
struct Codes {
    throttled: &'static [&'static str],
    not_found: &'static [&'static str],
    dependency: &'static [&'static str],
    conflict: &'static [&'static str],
    invalid: &'static [&'static str],
}

impl Codes {
    const NONE: Codes = Codes {
        throttled: &[],
        not_found: &[],
        dependency: &[],
        conflict: &[],
        invalid: &[],
    };

    fn class(&self, code: &str) -> Class {
        let listed: [(&[&str], Class); 5] = [
            (self.throttled, Class::Throttled),
            (self.not_found, Class::NotFound),
            (self.dependency, Class::DependencyViolation),
            (self.conflict, Class::Conflict),
            (self.invalid, Class::InvalidInput),
        ];
        if throttling(code) {
            return Class::Throttled;
        }
        listed
            .iter()
            .find(|(codes, _)| codes.contains(&code))
            .map_or(Class::Other, |(_, class)| *class)
    }
}

/// EKS: `ResourceNotFoundException`, `ResourceInUseException`…
const EKS: Codes = Codes {
    not_found: &["ResourceNotFoundException", "NotFoundException"],
    conflict: &[
        "ResourceInUseException",
        "ResourcePropagationDelayException",
    ],
    invalid: &[
        "InvalidParameterException",
        "InvalidRequestException",
        "UnsupportedAvailabilityZoneException",
        "InvalidStateException",
        "ValidationException",
    ],
    ..Codes::NONE
};

/// IAM: `NoSuchEntity`, `DeleteConflict`, `EntityAlreadyExists`…
const IAM: Codes = Codes {
    not_found: &["NoSuchEntity", "NoSuchEntityException"],
    dependency: &["DeleteConflict", "DeleteConflictException"],
    conflict: &[
        "EntityAlreadyExists",
        "EntityAlreadyExistsException",
        "ConcurrentModification",
    ],
    invalid: &[
        "MalformedPolicyDocument",
        "InvalidInput",
        "ValidationError",
        "LimitExceeded",
        "UnmodifiableEntity",
    ],
    ..Codes::NONE
};

/// KMS: `NotFoundException`, `AlreadyExistsException`, `KMSInvalidStateException`…
const KMS: Codes = Codes {
    not_found: &["NotFoundException"],
    conflict: &["AlreadyExistsException", "KMSInvalidStateException"],
    invalid: &[
        "InvalidArnException",
        "ValidationException",
        "InvalidAliasNameException",
        "MalformedPolicyDocumentException",
        "TagException",
        "LimitExceededException",
    ],
    ..Codes::NONE
};

/// EFS: `FileSystemNotFound`, `FileSystemInUse`, `IncorrectFileSystemLifeCycleState`…
const EFS: Codes = Codes {
    not_found: &[
        "FileSystemNotFound",
        "MountTargetNotFound",
        "PolicyNotFound",
    ],
    dependency: &["FileSystemInUse", "DependencyTimeout"],
    conflict: &[
        "FileSystemAlreadyExists",
        "IncorrectFileSystemLifeCycleState",
        "IncorrectMountTargetState",
        "MountTargetConflict",
        "ConflictException",
    ],
    invalid: &[
        "BadRequest",
        "ValidationException",
        "SubnetNotFound",
        "SecurityGroupNotFound",
        "UnsupportedAvailabilityZone",
    ],
    ..Codes::NONE
};

/// S3: `NoSuchBucket`, `BucketNotEmpty`, `BucketAlreadyOwnedByYou`…
const S3: Codes = Codes {
    not_found: &[
        "NoSuchBucket",
        "NotFound",
        "NoSuchTagSet",
        "NoSuchPublicAccessBlockConfiguration",
        "ServerSideEncryptionConfigurationNotFoundError",
    ],
    dependency: &["BucketNotEmpty"],
    conflict: &[
        "BucketAlreadyOwnedByYou",
        "BucketAlreadyExists",
        "OperationAborted",
    ],
    invalid: &[
        "InvalidBucketName",
        "InvalidArgument",
        "InvalidRequest",
        "MalformedXML",
        "IllegalLocationConstraintException",
    ],
    ..Codes::NONE
};

/// Cognito: `ResourceNotFoundException`, `UserNotFoundException`, `UsernameExistsException`…
const COGNITO: Codes = Codes {
    not_found: &["ResourceNotFoundException", "UserNotFoundException"],
    conflict: &["UsernameExistsException", "ConcurrentModificationException"],
    invalid: &[
        "InvalidParameterException",
        "InvalidOAuthFlowException",
        "ScopeDoesNotExistException",
        "LimitExceededException",
        "InvalidEmailRoleAccessPolicyException",
    ],
    ..Codes::NONE
};

/// Route 53: `NoSuchHostedZone`, `PriorRequestNotComplete`, `InvalidChangeBatch`…
const ROUTE53: Codes = Codes {
    throttled: &["PriorRequestNotComplete"],
    not_found: &["NoSuchHostedZone", "NoSuchChange"],
    invalid: &["InvalidChangeBatch", "InvalidInput", "InvalidDomainName"],
    ..Codes::NONE
};

/// ACM: `ResourceNotFoundException`, `ResourceInUseException` (a load balancer still uses the
/// certificate), `InvalidArnException`…
const ACM: Codes = Codes {
    not_found: &["ResourceNotFoundException"],
    dependency: &["ResourceInUseException"],
    conflict: &[
        "ConflictException",
        "InvalidStateException",
        "RequestInProgressException",
    ],
    invalid: &[
        "InvalidArnException",
        "InvalidDomainValidationOptionsException",
        "InvalidParameterException",
        "InvalidTagException",
        "TagPolicyException",
        "TooManyTagsException",
        "ValidationException",
        "LimitExceededException",
    ],
    ..Codes::NONE
};

/// Classic ELB: `LoadBalancerNotFound` (its code for AccessPointNotFound), `Throttling`…
const ELB: Codes = Codes {
    throttled: &["DependencyThrottle"],
    not_found: &[
        "LoadBalancerNotFound",
        "AccessPointNotFound",
        "AccessPointNotFoundException",
    ],
    conflict: &["OperationNotPermitted", "InvalidConfigurationRequest"],
    invalid: &["ValidationError", "InvalidParameterValue"],
    ..Codes::NONE
};

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

/// STS has nothing to find or conflict with.
const STS: Codes = Codes::NONE;

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

/// A service classified by its [`Codes`]: its class function and its mapper.
macro_rules! service_codes {
    ($($name:ident, $classes:ident: $codes:ident;)*) => {$(
        /// The error class of this service's code.
        pub(crate) fn $classes(code: &str) -> Class {
            $codes.class(code)
        }

        service_mapper!($name, $classes);
    )*};
}

service_mapper!(ec2, ec2_class);
service_codes! {
    eks, eks_class: EKS;
    iam, iam_class: IAM;
    kms, kms_class: KMS;
    sts, sts_class: STS;
    efs, efs_class: EFS;
    elb, elb_class: ELB;
    s3, s3_class: S3;
    cognito, cognito_class: COGNITO;
    route53, route53_class: ROUTE53;
    acm, acm_class: ACM;
}

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
    fn service_tables_classify_their_own_codes_and_the_shared_throttling() {
        assert_eq!(route53_class("PriorRequestNotComplete"), Class::Throttled);
        assert_eq!(elb_class("DependencyThrottle"), Class::Throttled);
        assert_eq!(
            acm_class("ResourceInUseException"),
            Class::DependencyViolation
        );
        assert_eq!(eks_class("ResourceInUseException"), Class::Conflict);
        assert_eq!(kms_class("KMSInvalidStateException"), Class::Conflict);
        assert_eq!(s3_class("BucketNotEmpty"), Class::DependencyViolation);
        assert_eq!(sts_class("Throttling"), Class::Throttled);
        assert_eq!(sts_class("ExpiredToken"), Class::Other);
        assert_eq!(cognito_class("NoSuchThing"), Class::Other);
    }

    #[test]
    fn messages_are_one_bounded_line() {
        assert_eq!(one_line("a\n  b\tc"), "a b c");
        assert!(one_line(&"x ".repeat(1000)).chars().count() <= 401);
    }
}
