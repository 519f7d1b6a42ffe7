//! The manual drain: pull the input queue within a time budget and run each
//! batch through the same pipeline as the consumer function.
//!
//! Settling a batch follows the consumer's rules: stored and dead-lettered
//! records are deleted; a record that failed stays hidden until its
//! visibility timeout ends, like a failed record of the event source mapping,
//! and so does every later record of its group that the drain receives: SQS
//! would not hand those out while the failed one is in flight, but the drain
//! does not rely on it (an emulator may). A record that was not started
//! because the budget ran out is made visible again at once.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::debug;

use crate::dead_letter::DeadLetterQueue;
use crate::error::Error;
use crate::metrics::BatchMetrics;
use crate::pipeline::{Outcome, Pipeline};
use crate::queue::{BATCH_LIMIT, InputQueue, Received};
use crate::step::Step;
use crate::store::ObjectStore;

/// The long-poll wait of each receive. A drain ends when one comes back empty,
/// so this is also how long a drain of an empty queue takes.
pub const POLL_WAIT: Duration = Duration::from_secs(2);

/// How long a failed record stays hidden after the drain's budget, before
/// another consumer may try it again.
pub const RETRY_DELAY: Duration = Duration::from_secs(30);

/// When a drain stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrainLimits {
    /// Time allowed for the whole drain; no record starts after it.
    pub budget: Duration,
    /// Most messages to receive.
    pub max_messages: usize,
}

/// A record that went to the dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// Its message id.
    pub message_id: String,
    /// Why.
    pub reason: String,
}

/// What a drain did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DrainReport {
    /// Messages received.
    pub received: usize,
    /// Records stored (or found already stored), by bucket.
    pub stored: BTreeMap<String, usize>,
    /// Records parked in the dead-letter queue, with their reasons.
    pub dead_lettered: Vec<Rejected>,
    /// Records left on the queue to be tried again (failed, or not started).
    pub retried: usize,
    /// How long the drain took.
    pub elapsed_ms: u64,
    /// Whether the queue still had messages when the drain stopped.
    pub more: bool,
}

impl DrainReport {
    /// Records stored, in every bucket.
    #[must_use]
    pub fn stored_total(&self) -> usize {
        self.stored.values().sum()
    }
}

/// Drains `queue` through `pipeline` within `limits`.
///
/// # Errors
///
/// A transient [`Error::Queue`] when receiving, deleting or returning
/// messages fails. Records already settled stay settled; the others come back
/// after their visibility timeout.
pub async fn drain<S: ObjectStore, D: DeadLetterQueue, P: Step>(
    queue: &InputQueue,
    pipeline: &Pipeline<S, D, P>,
    limits: DrainLimits,
) -> Result<DrainReport, Error> {
    let started = Instant::now();
    let deadline = started + limits.budget;
    debug!(
        budget_ms = limits.budget.as_millis(),
        max_messages = limits.max_messages,
        "drain started"
    );
    let mut report = DrainReport::default();
    let mut metrics = BatchMetrics::new("http");
    // Groups with a record left to retry: nothing later of theirs may start.
    let mut held_groups: HashSet<String> = HashSet::new();

    while report.received < limits.max_messages {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let wanted = (limits.max_messages - report.received).min(BATCH_LIMIT);
        // Rounded up: a budget under a second still long-polls. No record
        // starts after the deadline, so the extra wait costs at most a second.
        let wait = u32::try_from(left.min(POLL_WAIT).as_millis().div_ceil(1000)).unwrap_or(0);
        let hide_for = u32::try_from((left + RETRY_DELAY).as_secs()).unwrap_or(u32::MAX);
        let batch = queue.receive(wanted, wait, hide_for).await?;
        if batch.is_empty() {
            break;
        }
        report.received += batch.len();

        let held = |received: &Received| {
            received
                .record
                .group_id
                .as_ref()
                .is_some_and(|group| held_groups.contains(group))
        };
        let (behind, batch): (Vec<_>, Vec<_>) = batch.into_iter().partition(held);
        // Still hidden, as long as the failed record ahead of them.
        report.retried += behind.len();

        let records: Vec<_> = batch
            .iter()
            .map(|received| received.record.clone())
            .collect();
        let outcomes = pipeline.process_batch(&records, Some(deadline)).await;

        let mut done = Vec::new();
        let mut not_started = Vec::new();
        for (received, outcome) in batch.iter().zip(outcomes) {
            if matches!(outcome, Outcome::Retry { .. } | Outcome::Skipped)
                && let Some(group) = &received.record.group_id
            {
                held_groups.insert(group.clone());
            }
            metrics.count(&received.record, &outcome, pipeline.routes());
            let handle = received.receipt_handle.as_str();
            match outcome {
                Outcome::Stored { bucket, .. } => {
                    *report.stored.entry(bucket).or_default() += 1;
                    done.push(handle);
                }
                Outcome::DeadLettered { reason } => {
                    let message_id = received.record.message_id.clone();
                    report.dead_lettered.push(Rejected { message_id, reason });
                    done.push(handle);
                }
                // A record behind a failure stays hidden with it.
                Outcome::Retry { .. } | Outcome::Skipped => report.retried += 1,
                Outcome::Deferred => {
                    report.retried += 1;
                    not_started.push(handle);
                }
            }
        }
        queue.delete(&done).await?;
        queue.set_visibility(&not_started, 0).await?;
    }

    // In flight counts: a record held by another drain, or hidden after a
    // failure, is still to be done.
    report.more = report.retried > 0
        || queue
            .depth()
            .await
            .is_ok_and(|depth| depth.visible + depth.in_flight > 0);
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    metrics.emit(started.elapsed());
    debug!(
        received = report.received,
        stored = report.stored_total(),
        dead_lettered = report.dead_lettered.len(),
        retried = report.retried,
        more = report.more,
        elapsed_ms = report.elapsed_ms,
        "drain finished"
    );
    Ok(report)
}
