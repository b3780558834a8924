//! The one place AWS clients are made: aws-config's standard chain (env, profile, SSO, instance
//! role), the stack's region, `AWS_ENDPOINT_URL` honoured, adaptive retry with a bounded number of
//! attempts, and timeouts. Clients are built on first use, so constructing the provider (and
//! `hdh validate`) never touches the network.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};

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

/// How a waiter paces its polls: the delay grows with the time already waited (a fixed
/// fraction of it, so a wait overshoots the real transition by at most that fraction), never
/// below `initial` nor above `max`.
#[derive(Debug, Clone, Copy)]
pub struct PollPolicy {
    pub initial: Duration,
    pub max: Duration,
    pub fraction: f64,
}

impl Default for PollPolicy {
    /// 2 s at first, at most 20 s, 1% of the time waited: a wait ends at most ~1% after the
    /// real transition (the apply makespan goal is 1.02 × the critical path), at the price of
    /// ~100 cheap Describe calls over a 12-minute cluster creation.
    fn default() -> Self {
        PollPolicy {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(20),
            fraction: 0.01,
        }
    }
}

impl PollPolicy {
    /// For emulators with scaled time: polls every few milliseconds, overshoot at most 1%.
    pub fn fast() -> Self {
        PollPolicy {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(100),
            fraction: 0.01,
        }
    }

    /// The default policy with every delay multiplied by `scale` (for an emulator whose time
    /// runs `1/scale` times faster than AWS's), never below 10 ms / 100 ms.
    pub fn scaled(scale: f64) -> Self {
        let d = PollPolicy::default();
        PollPolicy {
            initial: d.initial.mul_f64(scale).max(Duration::from_millis(10)),
            max: d.max.mul_f64(scale).max(Duration::from_millis(100)),
            fraction: d.fraction,
        }
    }

    /// [`PollPolicy::default`], or [`PollPolicy::scaled`] by `HDH_TIME_SCALE` when that is set
    /// to a number in (0, 1] (the demo and tests run a time-scaled emulator).
    pub fn from_env() -> Self {
        std::env::var("HDH_TIME_SCALE")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| *s > 0.0 && *s <= 1.0)
            .map_or_else(PollPolicy::default, PollPolicy::scaled)
    }

    pub(crate) fn delay_after(&self, waited: Duration) -> Duration {
        waited
            .mul_f64(self.fraction)
            .clamp(self.initial, self.max.max(self.initial))
    }
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
