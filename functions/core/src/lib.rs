//! Shelver's core: turns queued book records into JSON files in genre buckets.
//!
//! Both Lambda functions share this crate; it knows nothing of Lambda.
//!
//! - [`book`]: one message body parsed and validated into a [`Book`].
//! - [`genre`]: the configured genre-to-bucket routes.
//! - [`key`]: the rule that turns a title into an [`ObjectKey`].
//! - [`document`]: what a stored file holds.
//! - [`store`]: exactly-once writes to S3, behind the [`ObjectStore`] port.
//! - [`dead_letter`]: parking bad records, behind the [`DeadLetterQueue`] port.
//! - [`deadline`]: the time left before a Lambda deadline.
//! - [`pipeline`]: a batch's FIFO, dead-letter and retry rules.
//! - [`queue`]: the input queue as a puller sees it, and the visibility heartbeat.
//! - [`step`]: the pluggable processing step between validation and storage.
//! - [`drain`]: pulling the queue through the pipeline within a time budget.
//! - [`metrics`]: CloudWatch Embedded Metric Format lines per batch.
//! - [`config`]: environment variables, read once at cold start.
//! - [`aws`]: building the SDK clients.
//! - [`text`]: Unicode normalization.
//! - [`error`]: the one error type; each error knows if it is permanent.

pub mod aws;
pub mod book;
pub mod config;
pub mod dead_letter;
pub mod deadline;
pub mod document;
pub mod drain;
pub mod error;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod genre;
pub mod key;
pub mod metrics;
pub mod pipeline;
pub mod queue;
pub mod step;
pub mod store;
pub mod text;

pub use book::Book;
pub use config::Config;
pub use dead_letter::{DeadLetterQueue, SqsDeadLetters};
pub use error::Error;
pub use genre::GenreRoutes;
pub use key::ObjectKey;
pub use pipeline::{Outcome, Pipeline, Record};
pub use store::{ObjectStore, S3Store, Write};
