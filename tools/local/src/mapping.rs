//! A local stand-in for the SQS event source mapping: it long-polls a queue,
//! hands each batch to the consumer function as a real SQS event, deletes the
//! records the function did not report as failed and leaves the others on the
//! queue to come back.
//!
//! One deliberate difference from AWS: failed records are made visible again
//! after a short retry delay instead of the queue's full visibility timeout,
//! so a local retry shows up in seconds.

use std::future::Future;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use shelver::queue::InputQueue;

use crate::Error;

/// Something that runs the consumer function on an event.
pub trait Invoke: Send + Sync {
    /// Invokes the function and returns its partial batch response.
    ///
    /// # Errors
    ///
    /// [`Error::Invoke`] when the call fails or the function returns an error.
    fn invoke(
        &self,
        event: &SqsEvent,
    ) -> impl Future<Output = Result<SqsBatchResponse, Error>> + Send;
}

/// The Lambda Invoke API, as `cargo lambda watch` serves it locally.
#[derive(Clone, Debug)]
pub struct InvokeApi {
    client: reqwest::Client,
    url: String,
}

impl InvokeApi {
    /// Targets `function` behind the invoke API at `base` (for example
    /// `http://127.0.0.1:9000`).
    ///
    /// # Errors
    ///
    /// [`Error::Invoke`] when the HTTP client cannot be built.
    pub fn new(base: &str, function: &str) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_mins(15))
            .build()
            .map_err(|e| Error::Invoke(e.to_string()))?;
        let url = format!(
            "{}/2015-03-31/functions/{function}/invocations",
            base.trim_end_matches('/')
        );
        Ok(Self { client, url })
    }
}

impl Invoke for InvokeApi {
    async fn invoke(&self, event: &SqsEvent) -> Result<SqsBatchResponse, Error> {
        let response = self
            .client
            .post(&self.url)
            .json(event)
            .send()
            .await
            .map_err(|e| Error::Invoke(format!("calling {}: {e}", self.url)))?;
        let status = response.status();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let body = response
            .text()
            .await
            .map_err(|e| Error::Invoke(format!("reading the response: {e}")))?;
        if !status.is_success() || function_error {
            return Err(Error::Invoke(format!(
                "the function failed ({status}): {body}"
            )));
        }
        serde_json::from_str(&body)
            .map_err(|e| Error::Invoke(format!("the response is not a batch response: {e}")))
    }
}

/// What happened to one polled batch.
#[derive(Debug)]
pub struct Delivery {
    /// The records handed to the function, in queue order.
    pub records: Vec<SqsMessage>,
    /// The message ids left on the queue for retry (all of them when the
    /// invocation failed).
    pub retried: Vec<String>,
    /// The invocation's error, if it failed as a whole.
    pub error: Option<Error>,
}

/// The mapping between one queue and one function.
#[derive(Clone, Debug)]
pub struct EventSourceMapping {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    region: String,
    /// Records per batch, 1 to 10.
    pub batch_size: i32,
    /// Long-poll wait, 0 to 20 seconds.
    pub wait_seconds: i32,
    /// Seconds before a failed record is visible again.
    pub retry_delay_seconds: i32,
}

impl EventSourceMapping {
    /// A mapping with AWS's FIFO defaults: batches of 10, 20 s long polls.
    #[must_use]
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        queue_url: String,
        queue_arn: String,
        region: String,
    ) -> Self {
        Self {
            sqs,
            queue_url,
            queue_arn,
            region,
            batch_size: 10,
            wait_seconds: 20,
            retry_delay_seconds: 2,
        }
    }

    /// Polls once and, if anything arrived, delivers it to `function`.
    /// Returns `None` when the long poll came back empty.
    ///
    /// # Errors
    ///
    /// [`Error::Aws`] when receiving, deleting or releasing messages fails. A
    /// failed invocation is not an error here: it is reported in the
    /// [`Delivery`], and its records stay on the queue.
    pub async fn poll_once<I: Invoke>(&self, function: &I) -> Result<Option<Delivery>, Error> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.batch_size)
            .wait_time_seconds(self.wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| Error::aws("ReceiveMessage", e))?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(None);
        }

        let event = self.event(&messages);
        let (retried_ids, error) = match function.invoke(&event).await {
            Ok(response) => (failed_ids(&event, &response), None),
            Err(err) => (
                event
                    .records
                    .iter()
                    .filter_map(|r| r.message_id.clone())
                    .collect(),
                Some(err),
            ),
        };

        let (retry, done): (Vec<&Message>, Vec<&Message>) = messages.iter().partition(|m| {
            m.message_id
                .as_ref()
                .is_some_and(|id| retried_ids.contains(id))
        });
        let handles = |messages: Vec<&Message>| -> Vec<String> {
            messages
                .into_iter()
                .filter_map(|m| m.receipt_handle.clone())
                .collect()
        };
        let (done, retry) = (handles(done), handles(retry));
        let queue = InputQueue::new(self.sqs.clone(), self.queue_url.clone());
        // A record whose delete fails comes back and is found already stored.
        queue
            .delete(&done.iter().map(String::as_str).collect::<Vec<_>>())
            .await?;
        let delay = u32::try_from(self.retry_delay_seconds).unwrap_or(0);
        queue
            .set_visibility(&retry.iter().map(String::as_str).collect::<Vec<_>>(), delay)
            .await?;

        Ok(Some(Delivery {
            records: event.records,
            retried: retried_ids,
            error,
        }))
    }

    /// The Lambda event for received messages, shaped as the real mapping sends it.
    #[must_use]
    pub fn event(&self, messages: &[Message]) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|message| self.record(message))
            .collect();
        event
    }

    fn record(&self, message: &Message) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.message_id.clone_from(&message.message_id);
        record.receipt_handle.clone_from(&message.receipt_handle);
        record.body.clone_from(&message.body);
        record.md5_of_body.clone_from(&message.md5_of_body);
        record
            .md5_of_message_attributes
            .clone_from(&message.md5_of_message_attributes);
        record.attributes = message
            .attributes
            .iter()
            .flatten()
            .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
            .collect();
        record.message_attributes = message
            .message_attributes
            .iter()
            .flatten()
            .map(|(name, value)| {
                let mut attribute = SqsMessageAttribute::default();
                attribute.string_value.clone_from(&value.string_value);
                attribute.data_type = Some(value.data_type.clone());
                (name.clone(), attribute)
            })
            .collect();
        record.event_source = Some("aws:sqs".into());
        record.event_source_arn = Some(self.queue_arn.clone());
        record.aws_region = Some(self.region.clone());
        record
    }
}

/// The ids to retry, as Lambda reads a partial batch response: a failure that
/// names no record of the batch fails the whole batch.
fn failed_ids(event: &SqsEvent, response: &SqsBatchResponse) -> Vec<String> {
    let ids: Vec<String> = event
        .records
        .iter()
        .filter_map(|r| r.message_id.clone())
        .collect();
    let reported: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.clone())
        .collect();
    if reported.iter().all(|id| ids.contains(id)) {
        reported
    } else {
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ids: &[&str]) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = ids
            .iter()
            .map(|id| {
                let mut record = SqsMessage::default();
                record.message_id = Some((*id).to_owned());
                record
            })
            .collect();
        event
    }

    fn response(ids: &[&str]) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        response.set_failures(ids.iter().copied());
        response
    }

    #[test]
    fn reported_failures_are_retried() {
        assert_eq!(
            failed_ids(&event(&["a", "b", "c"]), &response(&["b", "c"])),
            ["b", "c"]
        );
        assert!(failed_ids(&event(&["a"]), &response(&[])).is_empty());
    }

    #[test]
    fn an_unknown_or_empty_identifier_fails_the_whole_batch() {
        assert_eq!(
            failed_ids(&event(&["a", "b"]), &response(&["zzz"])),
            ["a", "b"]
        );
        assert_eq!(
            failed_ids(&event(&["a", "b"]), &response(&[""])),
            ["a", "b"]
        );
    }
}
