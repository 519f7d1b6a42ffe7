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
/// Message attribute holding the FIFO sequence number of the message that
/// was rejected. A replay keeps it, so versions of a book stay ordered by when
/// they were first sent.
pub const ATTR_SOURCE_SEQUENCE_NUMBER: &str = "SourceSequenceNumber";

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
    /// The rejected message's sequence number, if it had one.
    pub sequence_number: Option<&'a str>,
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

/// The most SQS takes in one message: body plus attribute names, types and
/// values.
pub const MAX_MESSAGE_BYTES: usize = 1_048_576;

/// The letter's attributes, the reason cut so that everything fits in
/// [`MAX_MESSAGE_BYTES`] with the body; without a reason if even that does not.
fn attributes(letter: &DeadLetter<'_>) -> Vec<(&'static str, String)> {
    let mut attributes = vec![(ATTR_SOURCE_MESSAGE_ID, letter.message_id.to_owned())];
    if let Some(sequence) = letter.sequence_number {
        attributes.push((ATTR_SOURCE_SEQUENCE_NUMBER, sequence.to_owned()));
    }
    let size = |(name, value): &(&str, String)| name.len() + "String".len() + value.len();
    let used = letter.body.len() + attributes.iter().map(size).sum::<usize>();
    let room = MAX_MESSAGE_BYTES
        .saturating_sub(used)
        .saturating_sub(ATTR_REASON.len() + "String".len());
    if room > 0 && !letter.reason.is_empty() {
        attributes.push((
            ATTR_REASON,
            crate::error::shorten(letter.reason, room.saturating_sub(3)),
        ));
    }
    attributes
}

impl SqsDeadLetters {
    async fn send_with(
        &self,
        letter: &DeadLetter<'_>,
        attributes: &[(&'static str, String)],
    ) -> Result<
        (),
        aws_sdk_sqs::error::SdkError<aws_sdk_sqs::operation::send_message::SendMessageError>,
    > {
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(letter.body)
            .message_group_id(letter.group_id.unwrap_or(letter.message_id))
            // The same message parked twice (a retried send, a redelivery) is
            // dropped by the queue's five-minute deduplication.
            .message_deduplication_id(deduplication_id(letter.message_id));
        for (name, value) in attributes {
            // Building a string attribute with both fields set cannot fail.
            if let Ok(value) = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
            {
                request = request.message_attributes(*name, value);
            }
        }
        request.send().await.map(|_| ())
    }
}

impl DeadLetterQueue for SqsDeadLetters {
    async fn send(&self, letter: DeadLetter<'_>) -> Result<(), Error> {
        let first = self.send_with(&letter, &attributes(&letter)).await;
        let refused_as_too_big = first
            .as_ref()
            .err()
            .and_then(|err| err.as_service_error())
            .is_some_and(|err| err.meta().code() == Some("InvalidParameterValue"));
        if !refused_as_too_big {
            return first.map_err(|err| Error::DeadLetter { source: err.into() });
        }
        // A queue with a smaller size limit than SQS's default: park the body
        // alone rather than not at all. The reason is still in the log.
        tracing::warn!("dead letter too big with its attributes; parking the body alone");
        self.send_with(&letter, &[])
            .await
            .map_err(|err| Error::DeadLetter { source: err.into() })
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

    fn letter<'a>(body: &'a str, reason: &'a str) -> DeadLetter<'a> {
        DeadLetter {
            message_id: "m-1",
            group_id: Some("g"),
            body,
            reason,
            sequence_number: Some("18000000000000000001"),
        }
    }

    fn size(attributes: &[(&str, String)]) -> usize {
        attributes
            .iter()
            .map(|(name, value)| name.len() + "String".len() + value.len())
            .sum()
    }

    #[test]
    fn a_letter_keeps_its_reason_and_origin_when_they_fit() {
        let attributes = attributes(&letter("{}", "field `year` is missing"));

        assert!(attributes.contains(&(ATTR_REASON, "field `year` is missing".into())));
        assert!(attributes.contains(&(ATTR_SOURCE_MESSAGE_ID, "m-1".into())));
        assert!(attributes.contains(&(ATTR_SOURCE_SEQUENCE_NUMBER, "18000000000000000001".into())));
    }

    #[test]
    fn a_reason_is_cut_so_a_body_near_the_limit_still_fits() {
        let body = "x".repeat(MAX_MESSAGE_BYTES - 100);
        let cut = attributes(&letter(&body, &"r".repeat(500)));
        let full = "y".repeat(MAX_MESSAGE_BYTES - 10);
        let none = attributes(&letter(&full, "a reason"));

        assert!(body.len() + size(&cut) <= MAX_MESSAGE_BYTES);
        assert!(
            cut.iter().any(|(name, _)| *name == ATTR_REASON),
            "a shortened reason"
        );
        assert!(
            none.iter().all(|(name, _)| *name != ATTR_REASON),
            "no room for a reason"
        );
    }

    #[test]
    fn message_ids_are_used_as_deduplication_ids_when_sqs_accepts_them() {
        let uuid = "059f36b4-87a3-44ab-83d2-661975830a7d";

        assert_eq!(deduplication_id(uuid), uuid);
        assert_eq!(deduplication_id("has space").len(), 64);
        assert_eq!(deduplication_id(&"x".repeat(129)).len(), 64);
    }
}
