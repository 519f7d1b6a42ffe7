//! What the deployment holds right now: both queues' depths, the age of the
//! input queue's oldest message, and each bucket's object count.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use shelver::queue::{Depth, depth};

use crate::Error;

/// A snapshot of the deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The input queue's depth.
    pub input_queue: Depth,
    /// The dead-letter queue's depth.
    pub dead_letter_queue: Depth,
    /// The input queue's oldest message age, from CloudWatch's
    /// `ApproximateAgeOfOldestMessage` (SQS itself does not report it, and
    /// peeking would count as a receive); `None` without CloudWatch data.
    pub oldest_message_age: Option<Duration>,
    /// `(genre, bucket, object count or why it is unknown)`.
    pub buckets: Vec<(String, String, Result<u64, String>)>,
}

/// Reads the snapshot.
///
/// # Errors
///
/// [`Error::Aws`] when a queue cannot be read; bucket and CloudWatch
/// failures are reported inside the [`Status`] instead.
pub async fn status(
    sqs: &aws_sdk_sqs::Client,
    s3: &aws_sdk_s3::Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    input_url: &str,
    dead_letter_url: &str,
    buckets: &[(String, String)],
) -> Result<Status, Error> {
    let input_queue = depth(sqs, input_url).await?;
    let dead_letter_queue = depth(sqs, dead_letter_url).await?;
    let oldest_message_age = oldest_age(cloudwatch, input_url).await;

    let mut counts = Vec::new();
    for (genre, bucket) in buckets {
        counts.push((
            genre.clone(),
            bucket.clone(),
            count_objects(s3, bucket).await,
        ));
    }
    Ok(Status {
        input_queue,
        dead_letter_queue,
        oldest_message_age,
        buckets: counts,
    })
}

async fn oldest_age(cloudwatch: &aws_sdk_cloudwatch::Client, queue_url: &str) -> Option<Duration> {
    let name = queue_url.rsplit('/').next()?;
    let now = SystemTime::now();
    let statistics = cloudwatch
        .get_metric_statistics()
        .namespace("AWS/SQS")
        .metric_name("ApproximateAgeOfOldestMessage")
        .dimensions(Dimension::builder().name("QueueName").value(name).build())
        .start_time(DateTime::from(now - Duration::from_secs(600)))
        .end_time(DateTime::from(now))
        .period(60)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .ok()?;
    let latest = statistics
        .datapoints
        .unwrap_or_default()
        .into_iter()
        .max_by_key(|point| point.timestamp.map(|t| t.secs()))?;
    latest
        .maximum
        .map(|seconds| Duration::from_secs_f64(seconds.max(0.0)))
}

async fn count_objects(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<u64, String> {
    let mut count = 0;
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| shelver::error::shorten(&shelver::error::chain(&e), 300))?;
        count += u64::try_from(page.key_count.unwrap_or_default()).unwrap_or(0);
        match page.next_continuation_token {
            Some(next) => token = Some(next),
            None => return Ok(count),
        }
    }
}
