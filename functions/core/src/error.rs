//! The one error type of the core, and the rule that splits errors into permanent
//! ones (the record itself is bad: park it in the dead-letter queue) and transient
//! ones (the world is bad right now: leave the record on the queue and retry).

use std::error::Error as StdError;

use aws_smithy_types::error::ErrorMetadata;

/// A boxed error from a dependency, kept as the `source` of ours.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Everything that can go wrong while turning a record into a stored file.
///
/// Messages are lowercase and name the field or variable at fault. None of them
/// contains a record's body: they are safe to log and to attach to a dead letter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The body is not JSON at all.
    #[error("body is not valid JSON: {reason}")]
    InvalidJson {
        /// Where and why parsing stopped, as the JSON parser says it.
        reason: String,
    },

    /// The body is JSON, but not an object.
    #[error("body must be a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type that was found instead.
        found: &'static str,
    },

    /// A required field is absent.
    #[error("field `{field}` is missing")]
    MissingField {
        /// The field's name.
        field: &'static str,
    },

    /// A required field is present but empty, or only whitespace.
    #[error("field `{field}` is empty")]
    EmptyField {
        /// The field's name.
        field: &'static str,
    },

    /// A field holds the wrong JSON type.
    #[error("field `{field}` must be {expected}, found {found}")]
    WrongType {
        /// The field's name.
        field: &'static str,
        /// What the field accepts.
        expected: &'static str,
        /// The JSON type that was found.
        found: &'static str,
    },

    /// A field appears more than once in the record.
    #[error("field `{field}` appears more than once")]
    RepeatedField {
        /// The field's name (escaped, shortened).
        field: String,
    },

    /// A field has the right type but an unacceptable value.
    #[error("field `{field}` is invalid: {reason}")]
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// What is wrong with the value.
        reason: String,
    },

    /// The genre has no configured bucket.
    #[error("field `genre` names unknown genre {genre:?}; known genres: {known}")]
    UnknownGenre {
        /// The genre as written in the record (shortened if very long).
        genre: String,
        /// The configured genres, comma-separated.
        known: String,
    },

    /// A required environment variable is not set.
    #[error("environment variable {variable} is not set")]
    MissingVariable {
        /// The variable's name.
        variable: &'static str,
    },

    /// An environment variable is set but cannot be used.
    #[error("environment variable {variable} is invalid: {reason}")]
    InvalidVariable {
        /// The variable's name.
        variable: &'static str,
        /// What is wrong with its value.
        reason: String,
    },

    /// Writing or inspecting an object failed.
    #[error("storing s3://{bucket}/{key} failed: {source}")]
    Store {
        /// The target bucket.
        bucket: String,
        /// The target key.
        key: String,
        /// The SDK's error.
        #[source]
        source: BoxError,
    },

    /// The object's key is taken by other content and no free key was found.
    #[error("field `title` maps to key {key:?}, which already holds a different book")]
    KeyTaken {
        /// The key that was tried last.
        key: String,
    },

    /// A call to a queue failed.
    #[error("{operation} on queue {queue} failed: {source}")]
    Queue {
        /// The SQS operation.
        operation: &'static str,
        /// The queue's name (the last part of its URL).
        queue: String,
        /// The SDK's error.
        #[source]
        source: BoxError,
    },

    /// Parking a record in the dead-letter queue failed.
    #[error("sending to the dead-letter queue failed: {source}")]
    DeadLetter {
        /// The SDK's error.
        #[source]
        source: BoxError,
    },

    /// Processing the record panicked. The panic is contained to this record.
    #[error("processing panicked: {message}")]
    Panicked {
        /// The panic's message, if it had one.
        message: String,
    },
}

impl Error {
    /// Whether retrying can never help.
    ///
    /// Permanent errors come from the record itself (or from code that panicked
    /// on it): the record is parked in the dead-letter queue with this error as
    /// its reason. Transient errors come from the outside world, so the record
    /// stays on the queue and is delivered again. A panic counts as permanent:
    /// it is a bug that would recur on every delivery and block its message
    /// group until the queue's redrive policy gave up; parking it at once lets
    /// the group go on, and the record can be replayed once the bug is fixed.
    #[must_use]
    pub fn is_permanent(&self) -> bool {
        !matches!(
            self,
            Self::Store { .. } | Self::DeadLetter { .. } | Self::Queue { .. }
        )
    }

    /// Shorthand for a dependency failure while storing `bucket/key`.
    pub(crate) fn store(bucket: &str, key: &str, source: impl Into<BoxError>) -> Self {
        Self::Store {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            source: source.into(),
        }
    }
}

impl Error {
    /// The error and its sources as one line, cut to [`MAX_REASON_BYTES`]: what
    /// goes into logs and dead letters.
    #[must_use]
    pub fn reason(&self) -> String {
        shorten(&chain(self), MAX_REASON_BYTES)
    }
}

/// An AWS call that failed, by its operation's name, with its causes in one
/// line: what the local tools and the operator CLI report.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {detail}")]
pub struct CallFailed {
    /// The API operation.
    pub operation: &'static str,
    /// The SDK's error, with its causes.
    pub detail: String,
}

impl CallFailed {
    /// An SDK failure of `operation`, with the error's whole chain of causes.
    pub fn new(operation: &'static str, error: impl StdError) -> Self {
        Self {
            operation,
            detail: shorten(&chain(&error), 500),
        }
    }
}

impl From<Error> for CallFailed {
    fn from(error: Error) -> Self {
        match &error {
            Error::Queue {
                operation,
                queue,
                source,
            } => Self {
                operation,
                detail: format!(
                    "queue {queue}: {}",
                    shorten(&chain(source.as_ref()), MAX_REASON_BYTES)
                ),
            },
            _ => Self {
                operation: "a queue call",
                detail: error.reason(),
            },
        }
    }
}

/// Longest reason kept in a log line or a dead letter's attribute, in bytes.
pub const MAX_REASON_BYTES: usize = 1024;

/// An error and its sources as one line, each cause once, with no debug
/// dumps: SDK errors print their whole raw response in debug form, which is
/// neither readable nor safe to log, and an error the SDK does not model
/// prints its metadata as a struct, request ids and all; only its message is
/// kept (its code is already in the error's own text).
#[must_use]
pub fn chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = match cause.downcast_ref::<ErrorMetadata>() {
            Some(metadata) => metadata
                .message()
                .or(metadata.code())
                .unwrap_or("")
                .to_owned(),
            None => cause.to_string(),
        };
        if !cause_text.is_empty() && !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// The name of a JSON value's type, as used in error messages.
#[must_use]
pub fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Cuts user-supplied text that is echoed in an error to at most `max` bytes, on
/// a character boundary, so a huge field cannot bloat a log line or a message
/// attribute.
#[must_use]
pub fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_errors_are_permanent_and_dependency_errors_are_not() {
        let missing = Error::MissingField { field: "title" };
        let store = Error::store("b", "k", "connection reset");
        let dead_letter = Error::DeadLetter {
            source: "throttled".into(),
        };

        assert!(missing.is_permanent());
        assert!(
            Error::Panicked {
                message: "x".into()
            }
            .is_permanent()
        );
        assert!(!store.is_permanent());
        assert!(!dead_letter.is_permanent());
    }

    #[test]
    fn messages_name_the_field() {
        let error = Error::WrongType {
            field: "year",
            expected: "a whole number or a string of one",
            found: "null",
        };

        assert_eq!(
            error.to_string(),
            "field `year` must be a whole number or a string of one, found null"
        );
    }

    #[test]
    fn shorten_keeps_short_text_and_cuts_on_a_character_boundary() {
        assert_eq!(shorten("horror", 10), "horror");
        assert_eq!(shorten("ééé", 3), "é…");
    }

    #[test]
    fn an_unmodelled_sdk_error_reads_as_its_code_and_message() {
        let metadata = ErrorMetadata::builder()
            .code("NoSuchBucket")
            .message("The specified bucket does not exist")
            .custom("s3_extended_request_id", "s9lzabc")
            .build();
        let error = aws_sdk_s3::operation::put_object::PutObjectError::generic(metadata);

        assert_eq!(
            chain(&error),
            "unhandled error (NoSuchBucket): The specified bucket does not exist"
        );
    }

    #[test]
    fn failed_calls_name_their_operation_and_keep_every_cause_once() {
        let queue = Error::Queue {
            operation: "ReceiveMessage",
            queue: "InputQueue.fifo".into(),
            source: "connection refused".into(),
        };
        let failed = CallFailed::from(queue);
        assert_eq!(failed.operation, "ReceiveMessage");
        assert_eq!(
            failed.to_string(),
            "ReceiveMessage failed: queue InputQueue.fifo: connection refused"
        );

        let other = CallFailed::from(Error::DeadLetter {
            source: "throttled".into(),
        });
        assert_eq!(other.operation, "a queue call");

        let long = std::io::Error::other("x".repeat(2_000));
        let cut = CallFailed::new("HeadBucket", long);
        assert_eq!(cut.detail.len(), 500 + "…".len());
    }
}
