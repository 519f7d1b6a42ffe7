//! The processing step: what happens to a validated book before it is stored.
//!
//! The pipeline is record → validated [`Book`] → processing step → document →
//! stored. Today's step changes nothing; the seam is here so that a slow one
//! (enrichment, a downstream call) plugs in without touching the FIFO,
//! dead-letter, deadline and heartbeat rules around it.

use std::future::Future;

use crate::book::Book;
use crate::error::Error;

/// A step applied to every valid book.
pub trait Step: Send + Sync {
    /// Processes one book.
    ///
    /// # Errors
    ///
    /// A permanent [`Error`] parks the record in the dead-letter queue; a
    /// transient one leaves it on the queue for retry.
    fn process(&self, book: Book) -> impl Future<Output = Result<Book, Error>> + Send;
}

/// The step that passes books through unchanged.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unchanged;

impl Step for Unchanged {
    async fn process(&self, book: Book) -> Result<Book, Error> {
        Ok(book)
    }
}
