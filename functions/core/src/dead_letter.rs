//! Parking bad records in the FIFO dead-letter queue, with the reason attached,
//! so nothing is dropped and every rejection can be read and replayed.

use std::future::Future;

use aws_sdk_sqs::types::MessageAttributeValue;

use crate::document::sha256_hex;
use crate::error::Error;

/// Message attribute holding why the record was rejected.
pub const ATTR_REASON: &str = "ErrorReason";
/// Message attribute holding the id of the message that was rejected.
pub const ATTR_SOURCE_MESSAGE_ID: &str = "SourceMessageId";

/// A record on its way to the dead-letter queue.
#[derive(Clone, Copy, Debug)]
pub struct DeadLetter<'a> {
    /// The rejected message's id.
    pub message_id: &'a str,
    /// The rejected message's group, kept so replays keep their order.
    pub group_id: Option<&'a str>,
    /// The original body, unchanged.
    pub body: &'a str,
    /// Why the record was rejected.
    pub reason: &'a str,
}

/// The dead-letter port.
pub trait DeadLetterQueue: Send + Sync {
    /// Sends one letter.
    ///
    /// # Errors
    ///
    /// A transient [`Error::DeadLetter`] when the queue cannot be reached: the
    /// record then stays on its queue.
    fn send(&self, letter: DeadLetter<'_>) -> impl Future<Output = Result<(), Error>> + Send;
}

/// The [`DeadLetterQueue`] backed by an SQS FIFO queue.
#[derive(Clone, Debug)]
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDeadLetters {
    /// Wraps a client built once at cold start.
    #[must_use]
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }
}

impl DeadLetterQueue for SqsDeadLetters {
    async fn send(&self, letter: DeadLetter<'_>) -> Result<(), Error> {
        let text = |value: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|err| Error::DeadLetter { source: err.into() })
        };

        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(letter.body)
            .message_group_id(letter.group_id.unwrap_or(letter.message_id))
            // The same message parked twice (a retried send, a redelivery) is
            // dropped by the queue's five-minute deduplication.
            .message_deduplication_id(deduplication_id(letter.message_id))
            .message_attributes(ATTR_REASON, text(letter.reason)?)
            .message_attributes(ATTR_SOURCE_MESSAGE_ID, text(letter.message_id)?)
            .send()
            .await
            .map_err(|err| Error::DeadLetter { source: err.into() })?;
        Ok(())
    }
}

/// A deduplication id for a message id: the id itself when SQS accepts it (at
/// most 128 printable ASCII characters), its SHA-256 otherwise.
fn deduplication_id(message_id: &str) -> String {
    let usable = !message_id.is_empty()
        && message_id.len() <= 128
        && message_id.bytes().all(|b| b.is_ascii_graphic());
    if usable {
        return message_id.to_owned();
    }
    sha256_hex(message_id.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_used_as_deduplication_ids_when_sqs_accepts_them() {
        let uuid = "059f36b4-87a3-44ab-83d2-661975830a7d";

        assert_eq!(deduplication_id(uuid), uuid);
        assert_eq!(deduplication_id("has space").len(), 64);
        assert_eq!(deduplication_id(&"x".repeat(129)).len(), 64);
    }
}
