//! The one place AWS clients are made: aws-config's standard chain (env, profile, SSO, instance
//! role), the stack's region, `AWS_ENDPOINT_URL` honoured, adaptive retry with a bounded number of
//! attempts, and timeouts. Clients are built on first use, so constructing the provider (and
//! `hdh validate`) never touches the network. [`Cx`] pairs them with the operation's context
//! for every call the provider makes.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use hdh_engine::OpContext;

use crate::poll::Wait;

pub use crate::poll::PollPolicy;

/// Attempts per call, the first included; throttled calls back off adaptively in between.
pub const MAX_ATTEMPTS: u32 = 10;

/// How the provider reaches AWS. The default is the standard chain with nothing overridden.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// Overrides `AWS_ENDPOINT_URL` (tests point each provider at their own emulator).
    pub endpoint_url: Option<String>,
    /// Static credentials instead of the standard chain (tests: the emulator's dummy keys).
    pub static_credentials: Option<(String, String)>,
    /// Overrides the stack's region.
    pub region: Option<String>,
    /// How waits poll.
    pub poll: PollPolicy,
}

/// The service clients of one region.
#[derive(Debug, Clone)]
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub eks: aws_sdk_eks::Client,
    pub iam: aws_sdk_iam::Client,
    pub kms: aws_sdk_kms::Client,
    pub sts: aws_sdk_sts::Client,
    pub efs: aws_sdk_efs::Client,
    /// Classic load balancers: only to find and remove what Kubernetes left in a stack's VPC.
    pub elb: aws_sdk_elasticloadbalancing::Client,
    pub s3: aws_sdk_s3::Client,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub route53: aws_sdk_route53::Client,
    pub acm: aws_sdk_acm::Client,
    pub region: String,
    pub poll: PollPolicy,
}

/// Loads the SDK configuration for `region` with hdh's retry and timeout settings.
pub async fn load(settings: &AwsSettings, region: &str) -> Clients {
    load_with(
        settings,
        region,
        super::retries::RetryReport(Arc::default()),
    )
    .await
}

/// [`load`], with the SDK's own retries reported to `report`.
pub(crate) async fn load_with(
    settings: &AwsSettings,
    region: &str,
    report: super::retries::RetryReport,
) -> Clients {
    let region = settings
        .region
        .clone()
        .unwrap_or_else(|| region.to_string());
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.clone()))
        .retry_config(
            RetryConfig::adaptive()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(50))
                .with_max_backoff(Duration::from_secs(5)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .operation_attempt_timeout(Duration::from_secs(60))
                .operation_timeout(Duration::from_secs(300))
                .build(),
        );
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    if let Some((key, secret)) = &settings.static_credentials {
        loader = loader.credentials_provider(aws_sdk_sts::config::Credentials::new(
            key.clone(),
            secret.clone(),
            None,
            None,
            "hdh-static",
        ));
    }
    let config = loader.load().await;
    // Every client carries the retry report (it is per client: the SDK config has no
    // interceptors of its own).
    macro_rules! client {
        ($sdk:ident) => {
            $sdk::Client::from_conf(
                $sdk::config::Builder::from(&config)
                    .interceptor(report.clone())
                    .build(),
            )
        };
    }
    Clients {
        ec2: client!(aws_sdk_ec2),
        eks: client!(aws_sdk_eks),
        iam: client!(aws_sdk_iam),
        kms: client!(aws_sdk_kms),
        sts: client!(aws_sdk_sts),
        efs: client!(aws_sdk_efs),
        elb: client!(aws_sdk_elasticloadbalancing),
        // Path-style when an endpoint is overridden (emulators have no bucket subdomains).
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(config.endpoint_url().is_some())
                .interceptor(report.clone())
                .build(),
        ),
        cognito: client!(aws_sdk_cognitoidentityprovider),
        route53: client!(aws_sdk_route53),
        acm: client!(aws_sdk_acm),
        region,
        poll: settings.poll,
    }
}

/// What every call of one operation is made with: the clients and the operation (its stack,
/// its progress reports, its cancellation). Passed by value; both halves always travel together.
#[derive(Clone, Copy)]
pub(crate) struct Cx<'a> {
    pub aws: &'a Clients,
    pub op: &'a OpContext,
}

impl<'a> Cx<'a> {
    /// A wait of this operation for `address`, paced by the provider's poll policy: `verb`
    /// (e.g. "creating") and `what` (e.g. "cluster eks-helio to be ACTIVE") name it in progress
    /// reports and in the error at its deadline.
    pub fn wait(self, address: &'a str, verb: &'a str, what: String) -> Wait<'a> {
        Wait {
            ctx: self.op,
            address,
            verb,
            what,
            policy: self.aws.poll,
        }
    }
}
