//! Building the AWS clients once per cold start, with timeouts that suit a
//! Lambda function and path-style S3 addressing where an emulator needs it.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::queue::{Heartbeat, InputQueue};
use crate::{Config, Pipeline, S3Store, SqsDeadLetters};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const OPERATION_TIMEOUT: Duration = Duration::from_mins(1);

/// Loads the shared SDK configuration from the environment (region,
/// credentials, `AWS_ENDPOINT_URL`), with bounded timeouts: a hung connection
/// must fail a record in seconds, not hold it until the function's deadline.
pub async fn load() -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(Duration::from_secs(10))
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}

/// An S3 client; `force_path_style` comes from [`crate::Config`].
#[must_use]
pub fn s3(sdk: &SdkConfig, force_path_style: bool) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(force_path_style)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The pipeline both functions run: S3 for books, SQS for dead letters, and
/// the visibility heartbeat on the input queue.
#[must_use]
pub fn pipeline(sdk: &SdkConfig, config: Config) -> Pipeline<S3Store, SqsDeadLetters> {
    let s3 = s3(sdk, config.s3_force_path_style);
    pipeline_with(sqs(sdk), s3, config)
}

/// As [`pipeline`], with clients the caller also uses (each client costs its
/// own set-up at cold start).
#[must_use]
pub fn pipeline_with(
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    config: Config,
) -> Pipeline<S3Store, SqsDeadLetters> {
    let store = S3Store::new(s3);
    let dead_letters = SqsDeadLetters::new(sqs.clone(), config.dead_letter_queue_url);
    let heartbeat = Heartbeat::new(
        InputQueue::new(sqs, config.input_queue_url),
        config.visibility_timeout,
    );
    Pipeline::new(config.routes, store, dead_letters).with_heartbeat(heartbeat)
}

/// An SQS client. Its attempts may last longer than S3's, because a long
/// poll (`ReceiveMessage` with a wait of up to 20 s) is a slow call by design.
#[must_use]
pub fn sqs(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(Duration::from_secs(25))
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let config = aws_sdk_sqs::config::Builder::from(sdk)
        .timeout_config(timeouts)
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}
