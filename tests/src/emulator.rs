//! Per-test resources in the AWS API emulator that the test command starts.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use shelver_local::mapping::{EventSourceMapping, Invoke};
use shelver_local::resources::{Names, Provisioned, QueueSettings, provision};

/// The variable the test command sets to the emulator's URL.
pub const ENDPOINT_VARIABLE: &str = "SHELVER_TEST_ENDPOINT";

/// The emulator's URL: `SHELVER_TEST_ENDPOINT`, or LocalStack's usual port.
#[must_use]
pub fn endpoint() -> String {
    std::env::var(ENDPOINT_VARIABLE).unwrap_or_else(|_| "http://127.0.0.1:4566".into())
}

/// SDK configuration aimed at `endpoint`, with the emulator's dummy credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    let credentials = aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "tests");
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await
}

/// A message as a test reads it back from a queue.
#[derive(Clone, Debug)]
pub struct Received {
    /// The message id.
    pub message_id: String,
    /// The body.
    pub body: String,
    /// The message group.
    pub group_id: String,
    /// String message attributes.
    pub attributes: HashMap<String, String>,
}

/// A fresh input queue, dead-letter queue and pair of buckets.
pub struct Stack {
    /// The emulator's URL.
    pub endpoint: String,
    /// An SQS client for the emulator.
    pub sqs: aws_sdk_sqs::Client,
    /// An S3 client for the emulator (path-style).
    pub s3: aws_sdk_s3::Client,
    /// What was created.
    pub resources: Provisioned,
}

impl Stack {
    /// Creates uniquely named resources; `prefix` shows which test owns them.
    ///
    /// # Panics
    ///
    /// When the emulator does not answer: the test command starts it.
    pub async fn new(prefix: &str) -> Self {
        Self::with_settings(prefix, QueueSettings::default()).await
    }

    /// As [`Stack::new`], with chosen queue settings.
    ///
    /// # Panics
    ///
    /// When the emulator does not answer.
    pub async fn with_settings(prefix: &str, settings: QueueSettings) -> Self {
        let endpoint = endpoint();
        let sdk = sdk_config(&endpoint).await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let s3 = shelver::aws::s3(&sdk, true);
        let resources = provision(&sqs, &s3, Names::unique(prefix), settings)
            .await
            .unwrap_or_else(|err| {
                panic!("no AWS API emulator answers at {endpoint} ({err}); run the tests with `make test`")
            });
        Self {
            endpoint,
            sqs,
            s3,
            resources,
        }
    }

    /// The bucket for `genre`.
    ///
    /// # Panics
    ///
    /// When the genre is not one of the stack's.
    #[must_use]
    pub fn bucket(&self, genre: &str) -> &str {
        self.resources
            .names
            .buckets
            .iter()
            .find(|(g, _)| g == genre)
            .map_or_else(
                || panic!("no bucket for {genre}"),
                |(_, bucket)| bucket.as_str(),
            )
    }

    /// The environment a function needs to use this stack through `endpoint`.
    #[must_use]
    pub fn function_env(&self, endpoint: &str) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .resources
            .function_env()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        for (name, value) in [
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ] {
            env.push((name.to_owned(), value.to_owned()));
        }
        env
    }

    /// Sends `body` to the input queue in `group`; returns the message id.
    ///
    /// # Panics
    ///
    /// When the send fails.
    pub async fn send(&self, group: &str, body: &str) -> String {
        self.sqs
            .send_message()
            .queue_url(&self.resources.input_queue_url)
            .message_group_id(group)
            .message_body(body)
            .send()
            .await
            .expect("send to the input queue")
            .message_id
            .expect("a message id")
    }

    /// Sends `bodies` to the input queue in `group`, in order, ten per call;
    /// returns their message ids in the same order.
    ///
    /// # Panics
    ///
    /// When a send fails.
    pub async fn send_in_order(&self, group: &str, bodies: &[String]) -> Vec<String> {
        let mut ids = Vec::with_capacity(bodies.len());
        for chunk in bodies.chunks(10) {
            let entries = chunk.iter().enumerate().map(|(index, body)| {
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(body)
                    .message_group_id(group)
                    .build()
                    .expect("a complete entry")
            });
            let sent = self
                .sqs
                .send_message_batch()
                .queue_url(&self.resources.input_queue_url)
                .set_entries(Some(entries.collect()))
                .send()
                .await
                .expect("send a batch to the input queue");
            assert!(
                sent.failed.is_empty(),
                "batch send failures: {:?}",
                sent.failed
            );
            let mut successful = sent.successful;
            successful.sort_by_key(|entry| entry.id.parse::<usize>().unwrap_or(usize::MAX));
            ids.extend(successful.into_iter().map(|entry| entry.message_id));
        }
        ids
    }

    /// Receives up to 10 messages from the input queue, with every attribute.
    ///
    /// # Panics
    ///
    /// When the receive fails.
    pub async fn receive_input(&self, wait_seconds: i32) -> Vec<aws_sdk_sqs::types::Message> {
        self.sqs
            .receive_message()
            .queue_url(&self.resources.input_queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive from the input queue")
            .messages
            .unwrap_or_default()
    }

    /// Drains the dead-letter queue: every parked message, in arrival order
    /// within each group.
    ///
    /// # Panics
    ///
    /// When a receive or delete fails.
    pub async fn dead_letters(&self) -> Vec<Received> {
        let url = &self.resources.dead_letter_queue_url;
        let mut all = Vec::new();
        loop {
            let batch = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .expect("receive from the dead-letter queue")
                .messages
                .unwrap_or_default();
            if batch.is_empty() {
                return all;
            }
            for message in batch {
                self.sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(message.receipt_handle.clone().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete from the dead-letter queue");
                all.push(received(message));
            }
        }
    }

    /// The number of messages in the input queue, visible and in flight.
    ///
    /// # Panics
    ///
    /// When the attributes cannot be read.
    pub async fn input_depth(&self) -> u64 {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.resources.input_queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .unwrap_or_default();
        attributes
            .values()
            .map(|count| count.parse::<u64>().unwrap_or_default())
            .sum()
    }

    /// The object at `bucket/key` as text with its metadata, if it exists.
    ///
    /// # Panics
    ///
    /// When S3 fails with anything but "no such key".
    pub async fn object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Option<(String, HashMap<String, String>)> {
        let got = match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(got) => got,
            Err(err)
                if err.as_service_error().is_some_and(
                    aws_sdk_s3::operation::get_object::GetObjectError::is_no_such_key,
                ) =>
            {
                return None;
            }
            Err(err) => panic!("GetObject {bucket}/{key}: {err:?}"),
        };
        let metadata = got.metadata.clone().unwrap_or_default();
        let bytes = got.body.collect().await.expect("object body").into_bytes();
        Some((
            String::from_utf8(bytes.to_vec()).expect("UTF-8 body"),
            metadata,
        ))
    }

    /// An event source mapping stand-in over the input queue, polling briefly
    /// (one second) so that tests end soon after the queue is empty.
    #[must_use]
    pub fn mapping(&self) -> EventSourceMapping {
        let mut mapping = EventSourceMapping::new(
            self.sqs.clone(),
            self.resources.input_queue_url.clone(),
            self.resources.input_queue_arn.clone(),
            "us-east-1".into(),
        );
        mapping.wait_seconds = 1;
        mapping
    }

    /// Hands everything the input queue gives to `function`, batch by batch,
    /// until a poll comes back empty.
    ///
    /// # Panics
    ///
    /// When a poll fails.
    pub async fn feed(&self, function: &impl Invoke) {
        let mapping = self.mapping();
        while mapping.poll_once(function).await.expect("poll").is_some() {}
    }

    /// How many object versions `bucket` holds: one per write.
    ///
    /// # Panics
    ///
    /// When the listing fails.
    pub async fn versions(&self, bucket: &str) -> usize {
        let mut versions = 0;
        let mut marker: (Option<String>, Option<String>) = (None, None);
        loop {
            let page = self
                .s3
                .list_object_versions()
                .bucket(bucket)
                .set_key_marker(marker.0.take())
                .set_version_id_marker(marker.1.take())
                .send()
                .await
                .expect("list object versions");
            versions += page.versions().len();
            if page.is_truncated() != Some(true) {
                return versions;
            }
            marker = (page.next_key_marker, page.next_version_id_marker);
        }
    }

    /// Every key in `bucket`, sorted.
    ///
    /// # Panics
    ///
    /// When the listing fails.
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .expect("list objects");
        let mut keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key.clone())
            .collect();
        keys.sort();
        keys
    }
}

fn received(message: aws_sdk_sqs::types::Message) -> Received {
    let group_id = message
        .attributes
        .as_ref()
        .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId).cloned())
        .unwrap_or_default();
    let attributes = message
        .message_attributes
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(name, value)| value.string_value.map(|text| (name, text)))
        .collect();
    Received {
        message_id: message.message_id.unwrap_or_default(),
        body: message.body.unwrap_or_default(),
        group_id,
        attributes,
    }
}

/// Polls `check` until it returns `Some`, for at most `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(found) = check().await {
            return Some(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
