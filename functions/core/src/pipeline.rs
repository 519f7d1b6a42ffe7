//! Processing a batch of SQS records: each record on its own, message groups
//! concurrently, records within a group strictly in order.
//!
//! The rules, shared by both functions:
//! - a valid record is stored in its genre's bucket;
//! - a bad record (a permanent error) is parked in the dead-letter queue with
//!   its reason, then acknowledged;
//! - a transient failure, or a failed park, leaves the record for retry, and
//!   every later record of its group is left too, unstarted, so the group's
//!   order survives the retry. Other groups go on.

use std::panic::AssertUnwindSafe;
use std::time::{Instant, SystemTime};

use futures_util::FutureExt as _;
use futures_util::future::join_all;
use tracing::{Instrument as _, debug, info_span, warn};

use crate::book::Book;
use crate::dead_letter::{DeadLetter, DeadLetterQueue};
use crate::document::{Document, Provenance};
use crate::error::Error;
use crate::genre::GenreRoutes;
use crate::key::ObjectKey;
use crate::queue::Heartbeat;
use crate::step::{Step, Unchanged};
use crate::store::{ObjectStore, Write, put_book};

pub use crate::error::MAX_REASON_BYTES;

/// One message, as either function receives it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// The SQS message id.
    pub message_id: String,
    /// The FIFO message group; `None` on a standard queue, where each record
    /// is then its own group.
    pub group_id: Option<String>,
    /// The FIFO sequence number.
    pub sequence_number: Option<String>,
    /// The raw body.
    pub body: String,
    /// The receipt handle of this delivery, for the visibility heartbeat.
    pub receipt_handle: Option<String>,
    /// When the message was sent, if the queue says.
    pub sent_at: Option<SystemTime>,
}

/// What became of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored (or found already stored) at `bucket/key`.
    Stored {
        /// The genre's bucket.
        bucket: String,
        /// The object's key.
        key: ObjectKey,
        /// Whether the write created, replaced or found the object.
        write: Write,
    },
    /// Parked in the dead-letter queue.
    DeadLettered {
        /// Why the record was rejected.
        reason: String,
    },
    /// Failed for now; the record must be delivered again.
    Retry {
        /// What failed.
        reason: String,
    },
    /// Not started because an earlier record of its group must be retried first.
    Skipped,
    /// Not started because the time allowed for the batch ran out.
    Deferred,
}

impl Outcome {
    /// Whether the message may leave the queue.
    #[must_use]
    pub fn is_done(&self) -> bool {
        matches!(self, Self::Stored { .. } | Self::DeadLettered { .. })
    }
}

/// Where a valid record goes, decided without any I/O.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement<'a> {
    /// The book, its genre set to the configured genre name.
    pub book: Book,
    /// The genre's bucket.
    pub bucket: &'a str,
    /// The object's key, before any clash with another book is resolved.
    pub key: ObjectKey,
}

/// Validates a body and decides its bucket and key.
///
/// # Errors
///
/// The permanent [`Error`] that would send the record to the dead-letter queue.
pub fn place<'a>(body: &str, routes: &'a GenreRoutes) -> Result<Placement<'a>, Error> {
    let mut book = Book::from_json(body)?;
    let route = routes.resolve(&book.genre)?;
    book.genre = route.genre.to_owned();
    let key = ObjectKey::from_title(&book.title)?;
    Ok(Placement {
        book,
        bucket: route.bucket,
        key,
    })
}

/// The processing pipeline, generic over its storage and dead-letter ports
/// and its processing step.
#[derive(Clone, Debug)]
pub struct Pipeline<S, D, P = Unchanged> {
    routes: GenreRoutes,
    store: S,
    dead_letters: D,
    step: P,
    heartbeat: Option<Heartbeat>,
}

impl<S: ObjectStore, D: DeadLetterQueue> Pipeline<S, D> {
    /// Assembles a pipeline from its configuration and ports.
    pub fn new(routes: GenreRoutes, store: S, dead_letters: D) -> Self {
        Self {
            routes,
            store,
            dead_letters,
            step: Unchanged,
            heartbeat: None,
        }
    }
}

impl<S: ObjectStore, D: DeadLetterQueue, P: Step> Pipeline<S, D, P> {
    /// The same pipeline with another processing step.
    pub fn with_step<Q: Step>(self, step: Q) -> Pipeline<S, D, Q> {
        Pipeline {
            routes: self.routes,
            store: self.store,
            dead_letters: self.dead_letters,
            step,
            heartbeat: self.heartbeat,
        }
    }

    /// The same pipeline, keeping each record hidden while it is processed.
    #[must_use]
    pub fn with_heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.heartbeat = Some(heartbeat);
        self
    }

    /// The genre routes in use.
    pub fn routes(&self) -> &GenreRoutes {
        &self.routes
    }

    /// Processes a batch; the outcomes are in the records' order.
    ///
    /// No record is started at or after `deadline`: it and the rest of its
    /// group are [`Outcome::Deferred`], so they can be handed back to the queue
    /// before the caller runs out of time. A record already started runs to
    /// its end. With a heartbeat, every record of the batch stays hidden
    /// until the batch ends.
    pub async fn process_batch(
        &self,
        records: &[Record],
        deadline: Option<Instant>,
    ) -> Vec<Outcome> {
        let handles: Vec<&str> = records
            .iter()
            .filter_map(|r| r.receipt_handle.as_deref())
            .collect();
        match &self.heartbeat {
            Some(heartbeat) if !handles.is_empty() => {
                heartbeat
                    .keep_alive(&handles, self.process_groups(records, deadline))
                    .await
            }
            _ => self.process_groups(records, deadline).await,
        }
    }

    async fn process_groups(&self, records: &[Record], deadline: Option<Instant>) -> Vec<Outcome> {
        let groups = group_in_order(records);
        let processed = join_all(
            groups
                .iter()
                .map(|group| self.process_group(group, deadline)),
        )
        .await;

        let mut outcomes = vec![Outcome::Skipped; records.len()];
        for (group, results) in groups.iter().zip(processed) {
            for (&(index, _), outcome) in group.iter().zip(results) {
                outcomes[index] = outcome;
            }
        }
        outcomes
    }

    /// Runs one group's records in order, stopping at the first retry or when
    /// time runs out.
    async fn process_group(
        &self,
        indices: &[(usize, &Record)],
        deadline: Option<Instant>,
    ) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(indices.len());
        for &(_, record) in indices {
            match outcomes.last() {
                Some(Outcome::Retry { .. } | Outcome::Skipped) => {
                    debug!(message_id = %record.message_id, "skipped behind a failed record of its group");
                    outcomes.push(Outcome::Skipped);
                    continue;
                }
                Some(Outcome::Deferred) => {
                    outcomes.push(Outcome::Deferred);
                    continue;
                }
                _ if deadline.is_some_and(|deadline| Instant::now() >= deadline) => {
                    debug!(message_id = %record.message_id, "deferred: out of time");
                    outcomes.push(Outcome::Deferred);
                    continue;
                }
                _ => {}
            }
            let span = info_span!(
                "record",
                message_id = %record.message_id,
                group_id = record.group_id.as_deref().unwrap_or_default(),
            );
            outcomes.push(self.process_record(record).instrument(span).await);
        }
        outcomes
    }

    /// Stores the record, or parks it, and says which.
    async fn process_record(&self, record: &Record) -> Outcome {
        let attempt = AssertUnwindSafe(self.store_record(record))
            .catch_unwind()
            .await;
        let error = match attempt {
            Ok(Ok((bucket, key, write))) => {
                debug!(bucket, key = %key, ?write, "stored");
                return Outcome::Stored { bucket, key, write };
            }
            Ok(Err(error)) => error,
            Err(panic) => Error::Panicked {
                message: panic_message(panic.as_ref()),
            },
        };

        let reason = error.reason();
        if !error.is_permanent() {
            warn!(%reason, "will retry");
            return Outcome::Retry { reason };
        }

        let letter = DeadLetter {
            message_id: &record.message_id,
            group_id: record.group_id.as_deref(),
            body: &record.body,
            reason: &reason,
            sequence_number: record.sequence_number.as_deref(),
        };
        match self.dead_letters.send(letter).await {
            Ok(()) => {
                warn!(%reason, "dead-lettered");
                Outcome::DeadLettered { reason }
            }
            Err(park_error) => {
                let park_reason = park_error.reason();
                warn!(%reason, error = %park_reason, "could not dead-letter, will retry");
                Outcome::Retry {
                    reason: format!("{reason}; then {park_reason}"),
                }
            }
        }
    }

    async fn store_record(&self, record: &Record) -> Result<(String, ObjectKey, Write), Error> {
        let placement = place(&record.body, &self.routes)?;
        let book = self.step.process(placement.book).await?;
        let provenance = Provenance {
            message_id: &record.message_id,
            sequence_number: record.sequence_number.as_deref(),
            processed_at: SystemTime::now(),
        };
        let document = Document::render(&book, provenance);

        let (key, write) = put_book(
            &self.store,
            placement.bucket,
            &book.title,
            &book.id,
            &document,
        )
        .await?;
        Ok((placement.bucket.to_owned(), key, write))
    }
}

/// Splits a batch into message groups, keeping first-appearance order between
/// groups and arrival order within each; records without a group stand alone.
fn group_in_order(records: &[Record]) -> Vec<Vec<(usize, &Record)>> {
    let mut groups: Vec<Vec<(usize, &Record)>> = Vec::new();
    let mut by_id: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (index, record) in records.iter().enumerate() {
        let slot = if let Some(group) = record.group_id.as_deref() {
            *by_id.entry(group).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            })
        } else {
            groups.push(Vec::new());
            groups.len() - 1
        };
        groups[slot].push((index, record));
    }
    groups
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{MemoryDeadLetters, MemoryStore};

    fn routes() -> GenreRoutes {
        GenreRoutes::parse(
            ("GENRE_BUCKETS", "scifi=shelf-scifi,romance=shelf-romance"),
            ("GENRE_ALIASES", None),
        )
        .expect("valid")
    }

    fn record(id: &str, group: &str, title: &str, genre: &str) -> Record {
        Record {
            message_id: id.into(),
            group_id: Some(group.into()),
            sequence_number: None,
            body: format!(
                r#"{{"id":"{id}","title":"{title}","author":"A","year":2000,"genre":"{genre}","summary":"S"}}"#
            ),
            receipt_handle: None,
            sent_at: None,
        }
    }

    /// A step that panics on the title "Boom".
    struct PanicsOnBoom;

    impl Step for PanicsOnBoom {
        async fn process(&self, book: Book) -> Result<Book, Error> {
            assert_ne!(book.title, "Boom", "the step cannot handle this book");
            Ok(book)
        }
    }

    #[tokio::test]
    async fn a_panic_fails_only_its_record_which_is_parked_with_the_message() {
        let (pipeline, store, letters) = pipeline();
        let pipeline = pipeline.with_step(PanicsOnBoom);
        let batch = [
            record("a", "g1", "Boom", "scifi"),
            record("b", "g1", "After", "scifi"),
            record("c", "g2", "Other", "romance"),
        ];

        let outcomes = pipeline.process_batch(&batch, None).await;

        assert!(
            matches!(&outcomes[0], Outcome::DeadLettered { reason } if reason.contains("the step cannot handle this book"))
        );
        assert!(outcomes[1].is_done() && outcomes[2].is_done());
        assert_eq!(store.len(), 2);
        assert!(
            letters.letters()[0]
                .reason
                .starts_with("processing panicked")
        );
    }

    fn pipeline() -> (
        Pipeline<MemoryStore, MemoryDeadLetters>,
        MemoryStore,
        MemoryDeadLetters,
    ) {
        let (store, letters) = (MemoryStore::default(), MemoryDeadLetters::default());
        (
            Pipeline::new(routes(), store.clone(), letters.clone()),
            store,
            letters,
        )
    }

    #[tokio::test]
    async fn a_transient_failure_holds_back_the_rest_of_its_group_only() {
        let (pipeline, store, _) = pipeline();
        store.fail_key("B.json");
        let batch = [
            record("a", "g1", "A", "scifi"),
            record("b", "g1", "B", "scifi"),
            record("c", "g1", "C", "scifi"),
            record("d", "g2", "D", "romance"),
        ];

        let outcomes = pipeline.process_batch(&batch, None).await;

        assert!(outcomes[0].is_done());
        assert!(matches!(outcomes[1], Outcome::Retry { .. }));
        assert_eq!(outcomes[2], Outcome::Skipped);
        assert!(outcomes[3].is_done());
        assert_eq!(
            store.keys(),
            [
                ("shelf-romance".into(), "D.json".into()),
                ("shelf-scifi".into(), "A.json".into())
            ]
        );
    }

    #[tokio::test]
    async fn a_bad_record_is_parked_and_its_group_goes_on() {
        let (pipeline, store, letters) = pipeline();
        let batch = [
            record("a", "g1", "A", "horror"),
            record("b", "g1", "B", "scifi"),
        ];

        let outcomes = pipeline.process_batch(&batch, None).await;

        assert!(
            matches!(&outcomes[0], Outcome::DeadLettered { reason } if reason.contains("horror"))
        );
        assert!(outcomes[1].is_done());
        assert_eq!(store.len(), 1);
        let parked = letters.letters();
        assert_eq!(parked.len(), 1);
        assert_eq!(parked[0].group_id.as_deref(), Some("g1"));
        assert_eq!(parked[0].body, batch[0].body);
    }

    #[tokio::test]
    async fn a_record_that_cannot_be_parked_is_retried_with_its_group() {
        let (pipeline, _, letters) = pipeline();
        letters.fail_sends();
        let batch = [
            record("a", "g1", "A", "horror"),
            record("b", "g1", "B", "scifi"),
        ];

        let outcomes = pipeline.process_batch(&batch, None).await;

        assert!(
            matches!(&outcomes[0], Outcome::Retry { reason } if reason.contains("dead-letter"))
        );
        assert_eq!(outcomes[1], Outcome::Skipped);
    }

    #[tokio::test]
    async fn nothing_starts_after_the_deadline_and_groups_stay_in_order() {
        let (pipeline, store, _) = pipeline();
        let batch = [
            record("a", "g1", "A", "scifi"),
            record("b", "g1", "B", "scifi"),
        ];

        let outcomes = pipeline.process_batch(&batch, Some(Instant::now())).await;

        assert_eq!(outcomes, [Outcome::Deferred, Outcome::Deferred]);
        assert!(store.is_empty());
    }

    #[test]
    fn groups_keep_arrival_order_and_ungrouped_records_stand_alone() {
        let mut loose = record("x", "", "X", "scifi");
        loose.group_id = None;
        let batch = [
            record("a", "g1", "A", "scifi"),
            record("b", "g2", "B", "scifi"),
            loose,
            record("c", "g1", "C", "scifi"),
        ];

        let groups: Vec<Vec<usize>> = group_in_order(&batch)
            .iter()
            .map(|g| g.iter().map(|(i, _)| *i).collect())
            .collect();

        assert_eq!(groups, [vec![0, 3], vec![1], vec![2]]);
    }
}
