//! The SQS-triggered function: each FIFO batch from the event source mapping is
//! run through the core pipeline, and the records that must come back are
//! reported as partial batch failures (`ReportBatchItemFailures`).

use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Diagnostic, LambdaEvent};
use shelver::dead_letter::ATTR_SOURCE_SEQUENCE_NUMBER;
use shelver::metrics::{self, BatchMetrics};
use shelver::pipeline::Record;
use shelver::step::Step;
use shelver::{DeadLetterQueue, ObjectStore, Outcome, Pipeline};
use tracing::info;

/// Time kept back from the invocation's deadline: no record starts later.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// Why a whole invocation fails (and the event source mapping retries it all).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Without a message id a failure cannot be reported for the record, and
    /// an empty identifier would make Lambda retry the whole batch anyway.
    #[error("record {index} of the batch has no messageId")]
    MissingMessageId {
        /// The record's position in the batch, from 0.
        index: usize,
    },
}

impl From<Error> for Diagnostic {
    fn from(error: Error) -> Self {
        Self {
            error_type: "MissingMessageId".into(),
            error_message: error.to_string(),
        }
    }
}

/// Handles one SQS event.
///
/// # Errors
///
/// [`Error::MissingMessageId`] when any record lacks a message id; nothing in
/// the batch is processed then.
pub async fn handle<S: ObjectStore, D: DeadLetterQueue, P: Step>(
    pipeline: &Pipeline<S, D, P>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let records = event
        .payload
        .records
        .into_iter()
        .enumerate()
        .map(|(index, message)| record(index, message))
        .collect::<Result<Vec<_>, _>>()?;

    // Stop starting records a margin before the deadline, rather than be
    // stopped mid-batch: unstarted records are reported and come back.
    let started = Instant::now();
    let deadline = shelver::deadline::remaining(event.context.deadline, SystemTime::now())
        .map(|left| started + left.saturating_sub(DEADLINE_MARGIN));
    let outcomes = pipeline.process_batch(&records, deadline).await;

    let mut metrics = BatchMetrics::new("consumer");
    for (record, outcome) in records.iter().zip(&outcomes) {
        metrics.count(record, outcome, pipeline.routes());
    }
    metrics.emit(started.elapsed());

    let count = |wanted: fn(&Outcome) -> bool| outcomes.iter().filter(|o| wanted(o)).count();
    info!(
        records = records.len(),
        stored = count(|o| matches!(o, Outcome::Stored { .. })),
        dead_lettered = count(|o| matches!(o, Outcome::DeadLettered { .. })),
        retried = count(|o| matches!(o, Outcome::Retry { .. })),
        skipped = count(|o| matches!(o, Outcome::Skipped | Outcome::Deferred)),
        "batch processed"
    );

    let mut response = SqsBatchResponse::default();
    response.set_failures(
        records
            .into_iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| !outcome.is_done())
            .map(|(record, _)| record.message_id),
    );
    Ok(response)
}

fn record(index: usize, message: SqsMessage) -> Result<Record, Error> {
    let message_id = message
        .message_id
        .filter(|id| !id.is_empty())
        .ok_or(Error::MissingMessageId { index })?;
    let mut attributes = message.attributes;
    Ok(Record {
        message_id,
        group_id: attributes.remove("MessageGroupId"),
        // A replayed dead letter keeps the sequence number it was first sent
        // with, so versions of a book stay in order.
        sequence_number: message
            .message_attributes
            .get(ATTR_SOURCE_SEQUENCE_NUMBER)
            .and_then(|attribute| attribute.string_value.clone())
            .or_else(|| attributes.remove("SequenceNumber")),
        body: message.body.unwrap_or_default(),
        receipt_handle: message.receipt_handle,
        sent_at: metrics::sent_at(attributes.get("SentTimestamp").map(String::as_str)),
    })
}
