//! The input queue as a puller sees it (the manual drain): receive with long
//! polling, delete what is done, hand back what was not started, and count.

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageSystemAttributeName, QueueAttributeName,
};
use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use tracing::{debug, warn};

use crate::dead_letter::ATTR_SOURCE_SEQUENCE_NUMBER;
use crate::error::Error;
use crate::pipeline::Record;

/// SQS's batch limit for receive, delete and visibility calls.
pub const BATCH_LIMIT: usize = 10;

/// A received message: the record and the handle that settles it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The record, as the pipeline takes it.
    pub record: Record,
    /// The receipt handle of this receive.
    pub receipt_handle: String,
}

/// How many messages a queue holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Depth {
    /// Messages that can be received now.
    pub visible: u64,
    /// Messages received and not yet deleted or returned.
    pub in_flight: u64,
}

/// An SQS queue read by polling.
#[derive(Clone, Debug)]
pub struct InputQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl InputQueue {
    /// Wraps a client built once at cold start.
    #[must_use]
    pub fn new(client: aws_sdk_sqs::Client, url: String) -> Self {
        Self { client, url }
    }

    /// Receives up to `max` messages (at most 10), waiting up to
    /// `wait_seconds` for the first, and hides them for `visibility_seconds`.
    ///
    /// # Errors
    ///
    /// A transient [`Error::Queue`].
    pub async fn receive(
        &self,
        max: usize,
        wait_seconds: u32,
        visibility_seconds: u32,
    ) -> Result<Vec<Received>, Error> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(clamp_i32(max.clamp(1, BATCH_LIMIT)))
            .wait_time_seconds(clamp_i32(wait_seconds.min(20) as usize))
            .visibility_timeout(clamp_i32(visibility_seconds as usize))
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names(ATTR_SOURCE_SEQUENCE_NUMBER)
            .send()
            .await
            .map_err(|err| queue_error("ReceiveMessage", &self.url, err))?;
        Ok(output
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(received)
            .collect())
    }

    /// Deletes settled messages, in batches of 10. Returns how many deletes
    /// failed; those messages come back and are found already stored.
    ///
    /// # Errors
    ///
    /// A transient [`Error::Queue`] when a whole batch call fails.
    pub async fn delete(&self, receipt_handles: &[&str]) -> Result<usize, Error> {
        let mut failed = 0;
        for chunk in receipt_handles.chunks(BATCH_LIMIT) {
            let entries = chunk.iter().enumerate().filter_map(|(index, handle)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(*handle)
                    .build()
                    .ok()
            });
            let output = self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries.collect()))
                .send()
                .await
                .map_err(|err| queue_error("DeleteMessageBatch", &self.url, err))?;
            failed += output.failed.len();
        }
        if failed > 0 {
            warn!(
                failed,
                "some deletes failed; those records will be delivered again"
            );
        }
        Ok(failed)
    }

    /// Sets the visibility of messages to `seconds` from now: 0 makes them
    /// visible at once, more keeps them hidden longer.
    ///
    /// # Errors
    ///
    /// A transient [`Error::Queue`].
    pub async fn set_visibility(
        &self,
        receipt_handles: &[&str],
        seconds: u32,
    ) -> Result<(), Error> {
        for chunk in receipt_handles.chunks(BATCH_LIMIT) {
            let entries = chunk.iter().enumerate().filter_map(|(index, handle)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(*handle)
                    .visibility_timeout(clamp_i32(seconds as usize))
                    .build()
                    .ok()
            });
            self.client
                .change_message_visibility_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries.collect()))
                .send()
                .await
                .map_err(|err| queue_error("ChangeMessageVisibilityBatch", &self.url, err))?;
        }
        Ok(())
    }

    /// The queue's approximate depth.
    ///
    /// # Errors
    ///
    /// A transient [`Error::Queue`].
    pub async fn depth(&self) -> Result<Depth, Error> {
        depth(&self.client, &self.url).await
    }
}

/// Keeps a batch hidden while it is processed: every `every`, it extends the
/// visibility of all the batch's messages to `extend_to` from now. Covering
/// the whole batch, not just the record in hand, matters: records already
/// done wait for the batch's end to be deleted, and records still waiting
/// must not be handed to a second consumer meanwhile.
#[derive(Clone, Debug)]
pub struct Heartbeat {
    queue: InputQueue,
    every: Duration,
    extend_to: u32,
}

impl Heartbeat {
    /// A heartbeat for a queue whose visibility timeout is `visibility`: it
    /// beats every third of it and restores the full timeout each time.
    #[must_use]
    pub fn new(queue: InputQueue, visibility: Duration) -> Self {
        let every = (visibility / 3).max(Duration::from_secs(1));
        let extend_to = u32::try_from(visibility.as_secs().max(1)).unwrap_or(u32::MAX);
        Self {
            queue,
            every,
            extend_to,
        }
    }

    /// Runs `work` while extending the visibility of `receipt_handles`; the
    /// beats stop when `work` ends. A failed beat is logged and the next one
    /// tries again: the worst case is a duplicate delivery, which the
    /// idempotent write absorbs.
    pub async fn keep_alive<F: Future>(&self, receipt_handles: &[&str], work: F) -> F::Output {
        let beats = async {
            let mut ticker =
                tokio::time::interval_at(tokio::time::Instant::now() + self.every, self.every);
            loop {
                ticker.tick().await;
                match self
                    .queue
                    .set_visibility(receipt_handles, self.extend_to)
                    .await
                {
                    Ok(()) => debug!(seconds = self.extend_to, "visibility extended"),
                    Err(err) => warn!(error = %err.reason(), "visibility heartbeat failed"),
                }
            }
        };
        tokio::select! {
            output = work => output,
            never = beats => never,
        }
    }
}

/// The ARN of the queue at `url`.
///
/// # Errors
///
/// A transient [`Error::Queue`].
pub async fn arn(client: &aws_sdk_sqs::Client, url: &str) -> Result<String, Error> {
    let output = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|err| queue_error("GetQueueAttributes", url, err))?;
    Ok(output
        .attributes
        .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
        .unwrap_or_default())
}

/// The approximate depth of the queue at `url`.
///
/// # Errors
///
/// A transient [`Error::Queue`].
pub async fn depth(client: &aws_sdk_sqs::Client, url: &str) -> Result<Depth, Error> {
    let output = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|err| queue_error("GetQueueAttributes", url, err))?;
    let attributes = output.attributes.unwrap_or_default();
    let count = |name: &QueueAttributeName| {
        attributes
            .get(name)
            .and_then(|value| value.parse().ok())
            .unwrap_or_default()
    };
    Ok(Depth {
        visible: count(&QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: count(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    })
}

fn queue_error(
    operation: &'static str,
    url: &str,
    err: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::Queue {
        operation,
        queue: url.rsplit('/').next().unwrap_or(url).to_owned(),
        source: Box::new(err),
    }
}

fn clamp_i32(value: usize) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// A received SQS message as a pipeline record; `None` without an id or a
/// receipt handle, which SQS always sends.
fn received(message: Message) -> Option<Received> {
    let mut attributes = message.attributes.unwrap_or_default();
    Some(Received {
        record: Record {
            message_id: message.message_id?,
            group_id: attributes.remove(&MessageSystemAttributeName::MessageGroupId),
            // A replayed dead letter keeps the sequence number it was first
            // sent with, so versions of a book stay in order.
            sequence_number: message
                .message_attributes
                .as_ref()
                .and_then(|all| all.get(ATTR_SOURCE_SEQUENCE_NUMBER))
                .and_then(|attribute| attribute.string_value.clone())
                .or_else(|| attributes.remove(&MessageSystemAttributeName::SequenceNumber)),
            body: message.body.unwrap_or_default(),
            receipt_handle: message.receipt_handle.clone(),
            sent_at: crate::metrics::sent_at(
                attributes
                    .get(&MessageSystemAttributeName::SentTimestamp)
                    .map(String::as_str),
            ),
        },
        receipt_handle: message.receipt_handle?,
    })
}
