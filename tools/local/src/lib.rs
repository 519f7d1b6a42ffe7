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

/// What can fail while provisioning or mapping.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An AWS API call failed.
    #[error("{operation} failed: {detail}")]
    Aws {
        /// The API operation.
        operation: &'static str,
        /// The SDK's error, with its causes.
        detail: String,
    },
    /// Invoking the function failed.
    #[error("invoking the function failed: {0}")]
    Invoke(String),
}

impl From<shelver::Error> for Error {
    fn from(error: shelver::Error) -> Self {
        let operation = match &error {
            shelver::Error::Queue { operation, .. } => operation,
            _ => "a queue call",
        };
        Self::Aws {
            operation,
            detail: error.reason(),
        }
    }
}

impl Error {
    /// An AWS failure, with the SDK error's whole chain of causes.
    pub fn aws(operation: &'static str, error: impl std::error::Error) -> Self {
        Self::Aws {
            operation,
            detail: shelver::error::shorten(&shelver::error::chain(&error), 500),
        }
    }
}
