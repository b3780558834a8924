//! AWS SDK errors classified once, per service, into the engine's [`ProviderError`] classes:
//! not found, dependency violation, throttled, conflict, invalid input, other. Call sites map
//! errors with `.map_err(ec2("CreateVpc"))` and decide from the class, never from strings.

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use hdh_engine::ProviderError;

/// The error class of an AWS error code, by service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    NotFound,
    DependencyViolation,
    Throttled,
    Conflict,
    InvalidInput,
    Other,
}

fn throttling(code: &str) -> bool {
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
        "DependencyViolation" | "InvalidNetworkInterface.InUse" | "InvalidIPAddress.InUse" => {
            Class::DependencyViolation
        }
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

/// Turns an SDK error into the engine's class, keeping AWS's code and message.
pub(crate) fn classify<E, R>(
    classes: fn(&str) -> Class,
    op: &str,
    err: SdkError<E, R>,
) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let (class, message) = match (err.code(), &err) {
        (Some(code), _) => (
            classes(code),
            format!("{op}: {code}: {}", err.message().unwrap_or("(no message)")),
        ),
        // No response (timeout, connection): the SDK already retried; nothing to classify.
        (None, _) => (Class::Other, format!("{op}: {}", DisplayErrorContext(&err))),
    };
    into_provider_error(class, message)
}

pub(crate) fn into_provider_error(class: Class, message: String) -> ProviderError {
    match class {
        Class::NotFound => ProviderError::NotFound { message },
        Class::DependencyViolation => ProviderError::DependencyViolation { message },
        Class::Throttled => ProviderError::Throttled { message },
        Class::Conflict => ProviderError::Conflict { message },
        Class::InvalidInput => ProviderError::InvalidInput { message },
        Class::Other => ProviderError::Other { message },
    }
}

macro_rules! service_mapper {
    ($name:ident, $classes:ident) => {
        /// `.map_err(service("Operation"))`: classifies an error of this service.
        pub(crate) fn $name<E, R>(op: &'static str) -> impl FnOnce(SdkError<E, R>) -> ProviderError
        where
            E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
            R: std::fmt::Debug + Send + Sync + 'static,
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

/// Not found means "gone": `Ok(None)`; anything else stays an error.
pub(crate) fn absent_if_not_found<T>(
    r: Result<T, ProviderError>,
) -> Result<Option<T>, ProviderError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ProviderError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Deleting what is already gone is success.
pub(crate) fn gone_is_ok(r: Result<(), ProviderError>) -> Result<(), ProviderError> {
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
    }
}
