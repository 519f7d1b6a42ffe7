//! Where a delivered record ended up, found by looking rather than by guessing:
//! the consumer's answer only names the records to retry, so for the others
//! the object store is searched for the object that this message wrote.

use std::fmt;

use aws_lambda_events::sqs::SqsMessage;
use shelver::document::{META_BOOK_ID, META_BOOK_SHA256, META_MESSAGE_ID, book_sha256};
use shelver::pipeline::place;
use shelver::{GenreRoutes, ObjectKey};

/// What became of one record of a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Whereabouts {
    /// This message wrote `bucket/key`.
    Stored {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// The same book was already at `bucket/key`; nothing was written.
    AlreadyStored {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// A newer version of the book is at `bucket/key`; this one was dropped.
    Superseded {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// Acknowledged without an object: parked in the dead-letter queue.
    DeadLettered {
        /// The rejection reason, when the record's own content explains it;
        /// otherwise it is in the dead letter's `ErrorReason` attribute.
        reason: Option<String>,
    },
    /// Reported as failed: it stays on the queue.
    Retrying {
        /// How many times it has been received.
        receive_count: u32,
        /// Receives before the redrive policy moves it to the dead-letter queue.
        max_receive_count: Option<u32>,
    },
}

impl fmt::Display for Whereabouts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stored { bucket, key } => write!(f, "stored    -> s3://{bucket}/{key}"),
            Self::AlreadyStored { bucket, key } => {
                write!(
                    f,
                    "unchanged -> s3://{bucket}/{key} already holds this book"
                )
            }
            Self::Superseded { bucket, key } => {
                write!(
                    f,
                    "unchanged -> s3://{bucket}/{key} holds a newer version of this book"
                )
            }
            Self::DeadLettered {
                reason: Some(reason),
            } => {
                write!(f, "rejected  -> dead-letter queue: {reason}")
            }
            Self::DeadLettered { reason: None } => {
                write!(
                    f,
                    "rejected  -> dead-letter queue (reason in its ErrorReason attribute)"
                )
            }
            Self::Retrying {
                receive_count,
                max_receive_count: Some(max),
            } if receive_count >= max => write!(
                f,
                "failed    -> receive {receive_count} of {max}: the redrive policy moves it to the dead-letter queue"
            ),
            Self::Retrying {
                receive_count,
                max_receive_count,
            } => {
                let of = max_receive_count
                    .map(|max| format!(" of {max}"))
                    .unwrap_or_default();
                write!(
                    f,
                    "retry     -> receive {receive_count}{of}; left on the queue (see the function's log)"
                )
            }
        }
    }
}

/// Finds where `record` went. `retried` says whether the consumer reported it.
pub async fn locate(
    s3: &aws_sdk_s3::Client,
    routes: &GenreRoutes,
    record: &SqsMessage,
    retried: bool,
    max_receive_count: Option<u32>,
) -> Whereabouts {
    if retried {
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|count| count.parse().ok())
            .unwrap_or(1);
        return Whereabouts::Retrying {
            receive_count,
            max_receive_count,
        };
    }

    let body = record.body.as_deref().unwrap_or_default();
    let placement = match place(body, routes) {
        Ok(placement) => placement,
        Err(reason) => {
            return Whereabouts::DeadLettered {
                reason: Some(reason.reason()),
            };
        }
    };
    let book = &placement.book;
    let message_id = record.message_id.as_deref().unwrap_or_default();
    let hash = book_sha256(book);
    let candidates = std::iter::once(Ok(placement.key.clone()))
        .chain(ObjectKey::alternatives(&book.title, &book.id))
        .map_while(Result::ok);
    for key in candidates {
        let Ok(head) = s3
            .head_object()
            .bucket(placement.bucket)
            .key(key.as_str())
            .send()
            .await
        else {
            continue;
        };
        let metadata = head.metadata.unwrap_or_default();
        let found = |name: &str, value: &str| metadata.get(name).is_some_and(|v| v == value);
        let (bucket, key) = (placement.bucket.to_owned(), key.to_string());
        if found(META_MESSAGE_ID, message_id) {
            return Whereabouts::Stored { bucket, key };
        }
        if found(META_BOOK_ID, &book.id) {
            return if found(META_BOOK_SHA256, &hash) {
                Whereabouts::AlreadyStored { bucket, key }
            } else {
                Whereabouts::Superseded { bucket, key }
            };
        }
    }
    // Valid, acknowledged, yet in no candidate key: the consumer parked it
    // (its keys were all taken, or it panicked).
    Whereabouts::DeadLettered { reason: None }
}
