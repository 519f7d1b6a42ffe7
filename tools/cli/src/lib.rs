//! The operator's command line, as a library so its commands can be tested
//! against an emulator.
//!
//! - [`send`]: validates records from files, then sends them in batches.
//! - [`status`]: queue depths, the oldest message's age, object counts.
//! - [`redrive`]: moves dead letters back to the input queue, in order.

pub mod redrive;
pub mod send;
pub mod status;

use shelver::error::CallFailed;

/// What a command can fail with. Each variant maps to its own exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An AWS call failed (unreachable endpoint, missing credentials, a
    /// missing queue...).
    #[error(transparent)]
    Aws(#[from] CallFailed),
    /// The queue refused or abandoned the move.
    #[error("the message move task {status}: {reason}")]
    MoveTask {
        /// The task's final status.
        status: String,
        /// Why, as SQS says.
        reason: String,
    },
}

impl From<shelver::Error> for Error {
    fn from(error: shelver::Error) -> Self {
        Self::Aws(error.into())
    }
}

impl Error {
    /// An AWS failure, with the SDK error's whole chain of causes.
    pub fn aws(operation: &'static str, error: impl std::error::Error) -> Self {
        Self::Aws(CallFailed::new(operation, error))
    }
}
