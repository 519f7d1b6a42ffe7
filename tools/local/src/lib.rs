//! Local stand-ins for the parts of AWS that Shelver's functions rely on but
//! do not contain: the resources the template creates, and the SQS event
//! source mapping that feeds the consumer.
//!
//! - [`resources`]: creates the queues and buckets in an emulator, idempotently.
//! - [`mapping`]: long-polls the input queue and invokes the consumer.
//! - [`whereabouts`]: finds where each delivered record ended up.

pub mod mapping;
pub mod resources;
pub mod whereabouts;

use shelver::error::CallFailed;

/// What can fail while provisioning or mapping.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An AWS API call failed.
    #[error(transparent)]
    Aws(#[from] CallFailed),
    /// Invoking the function failed.
    #[error("invoking the function failed: {0}")]
    Invoke(String),
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
