//! Creating the queues and buckets Shelver needs, idempotently, in whatever AWS
//! API answers at the configured endpoint. The template deploys the same
//! resources to AWS; this is its local counterpart.

use aws_sdk_s3::types::{
    BucketVersioningStatus, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::Error;

/// Names of the resources to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// The FIFO input queue (ends in `.fifo`).
    pub input_queue: String,
    /// The FIFO dead-letter queue (ends in `.fifo`).
    pub dead_letter_queue: String,
    /// `(genre, bucket)` pairs.
    pub buckets: Vec<(String, String)>,
}

impl Names {
    /// The names the local run uses.
    #[must_use]
    pub fn local() -> Self {
        Self {
            input_queue: "InputQueue.fifo".into(),
            dead_letter_queue: "InputQueue-dlq.fifo".into(),
            buckets: vec![
                ("scifi".into(), "shelver-scifi".into()),
                ("romance".into(), "shelver-romance".into()),
            ],
        }
    }

    /// Names unique to one caller, for tests that share an emulator.
    #[must_use]
    pub fn unique(prefix: &str) -> Self {
        let tag = format!("{prefix}-{}", unique_suffix());
        Self {
            input_queue: format!("{tag}-in.fifo"),
            dead_letter_queue: format!("{tag}-dlq.fifo"),
            buckets: vec![
                ("scifi".into(), format!("{tag}-scifi").to_lowercase()),
                ("romance".into(), format!("{tag}-romance").to_lowercase()),
            ],
        }
    }
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{nanos:x}{count}", std::process::id())
}

/// Queue settings that matter for delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueSettings {
    /// Seconds a received message stays hidden.
    pub visibility_timeout: u32,
    /// Receives before SQS moves a message to the dead-letter queue.
    pub max_receive_count: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            visibility_timeout: 180,
            max_receive_count: 10,
        }
    }
}

/// What was created, with the URLs and ARNs the functions need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provisioned {
    /// The names used.
    pub names: Names,
    /// The input queue's URL.
    pub input_queue_url: String,
    /// The input queue's ARN.
    pub input_queue_arn: String,
    /// The dead-letter queue's URL.
    pub dead_letter_queue_url: String,
    /// The input queue's settings.
    pub settings: QueueSettings,
}

impl Provisioned {
    /// The `GENRE_BUCKETS` value for these buckets.
    #[must_use]
    pub fn genre_buckets(&self) -> String {
        self.names
            .buckets
            .iter()
            .map(|(genre, bucket)| format!("{genre}={bucket}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The functions' environment variables for these resources.
    #[must_use]
    pub fn function_env(&self) -> Vec<(&'static str, String)> {
        vec![
            (shelver::config::GENRE_BUCKETS, self.genre_buckets()),
            (
                shelver::config::DEAD_LETTER_QUEUE_URL,
                self.dead_letter_queue_url.clone(),
            ),
            (
                shelver::config::INPUT_QUEUE_URL,
                self.input_queue_url.clone(),
            ),
            (
                shelver::config::VISIBILITY_TIMEOUT_SECONDS,
                self.settings.visibility_timeout.to_string(),
            ),
        ]
    }
}

/// Creates (or updates) the queues and buckets named in `names`.
///
/// # Errors
///
/// [`Error::Aws`] naming the call that failed.
pub async fn provision(
    sqs: &aws_sdk_sqs::Client,
    s3: &aws_sdk_s3::Client,
    names: Names,
    settings: QueueSettings,
) -> Result<Provisioned, Error> {
    let fourteen_days = (14 * 24 * 3600).to_string();
    let dead_letter_queue_url = ensure_queue(
        sqs,
        &names.dead_letter_queue,
        &[
            (QueueAttributeName::MessageRetentionPeriod, fourteen_days),
            (QueueAttributeName::ContentBasedDeduplication, "true".into()),
        ],
    )
    .await?;
    let dead_letter_queue_arn = queue_arn(sqs, &dead_letter_queue_url).await?;

    let redrive = serde_json::json!({
        "deadLetterTargetArn": dead_letter_queue_arn,
        "maxReceiveCount": settings.max_receive_count,
    });
    let input_queue_url = ensure_queue(
        sqs,
        &names.input_queue,
        &[
            (QueueAttributeName::ContentBasedDeduplication, "true".into()),
            (
                QueueAttributeName::VisibilityTimeout,
                settings.visibility_timeout.to_string(),
            ),
            (QueueAttributeName::RedrivePolicy, redrive.to_string()),
        ],
    )
    .await?;
    let input_queue_arn = queue_arn(sqs, &input_queue_url).await?;

    for (_, bucket) in &names.buckets {
        ensure_bucket(s3, bucket).await?;
    }

    Ok(Provisioned {
        names,
        input_queue_url,
        input_queue_arn,
        dead_letter_queue_url,
        settings,
    })
}

/// Creates a FIFO queue, or updates the mutable attributes of an existing one.
async fn ensure_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, String)],
) -> Result<String, Error> {
    if let Ok(found) = sqs.get_queue_url().queue_name(name).send().await {
        let url = found.queue_url.unwrap_or_default();
        let mut update = sqs.set_queue_attributes().queue_url(&url);
        for (attribute, value) in attributes {
            update = update.attributes(attribute.clone(), value);
        }
        update
            .send()
            .await
            .map_err(|e| Error::aws("SetQueueAttributes", e))?;
        return Ok(url);
    }

    let mut create = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true");
    for (attribute, value) in attributes {
        create = create.attributes(attribute.clone(), value);
    }
    let created = create
        .send()
        .await
        .map_err(|e| Error::aws("CreateQueue", e))?;
    Ok(created.queue_url.unwrap_or_default())
}

/// The ARN of the queue at `url`.
///
/// # Errors
///
/// [`Error::Aws`] when the queue's attributes cannot be read.
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String, Error> {
    Ok(shelver::queue::arn(sqs, url).await?)
}

/// Creates a private, encrypted, versioned bucket, as the template does.
async fn ensure_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<(), Error> {
    if s3.head_bucket().bucket(bucket).send().await.is_err() {
        s3.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| Error::aws("CreateBucket", e))?;
    }

    let block_all = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(block_all)
        .send()
        .await
        .map_err(|e| Error::aws("PutPublicAccessBlock", e))?;

    let encryption = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .map_err(|e| Error::aws("PutBucketEncryption", e))?;
    let rules = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(encryption)
                .build(),
        )
        .build()
        .map_err(|e| Error::aws("PutBucketEncryption", e))?;
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(rules)
        .send()
        .await
        .map_err(|e| Error::aws("PutBucketEncryption", e))?;

    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| Error::aws("PutBucketVersioning", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sam_local_env_file_uses_the_local_names() {
        let env: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/sam-local-env.json")).expect("JSON");
        let names = Names::local();
        let buckets = names
            .buckets
            .iter()
            .map(|(genre, bucket)| format!("{genre}={bucket}"))
            .collect::<Vec<_>>()
            .join(",");

        for function in ["ConsumerFunction", "HttpFunction"] {
            let vars = &env[function];
            assert_eq!(vars["GENRE_BUCKETS"], buckets.as_str(), "{function}");
            let dead_letters = vars["DEAD_LETTER_QUEUE_URL"].as_str().unwrap_or_default();
            assert!(
                dead_letters.ends_with(&format!("/{}", names.dead_letter_queue)),
                "{function}"
            );
        }
        let input = env["HttpFunction"]["INPUT_QUEUE_URL"]
            .as_str()
            .unwrap_or_default();
        assert!(input.ends_with(&format!("/{}", names.input_queue)));
    }
}
