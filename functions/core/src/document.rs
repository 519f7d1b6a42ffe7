//! What a stored file holds: the normalized book, the SQS message it came from
//! and when it was processed, plus the object metadata that lets a later write
//! tell a duplicate delivery from a different book.

use std::collections::HashMap;
use std::time::SystemTime;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::book::Book;

/// Metadata key holding the book's id.
pub const META_BOOK_ID: &str = "book-id";
/// Metadata key holding the SHA-256 of the normalized book, without the
/// delivery details, so two deliveries of one record hash the same.
pub const META_BOOK_SHA256: &str = "book-sha256";
/// Metadata key holding the SQS message id that produced the object.
pub const META_MESSAGE_ID: &str = "message-id";
/// Metadata key holding the SQS sequence number, on FIFO queues.
pub const META_SEQUENCE_NUMBER: &str = "sequence-number";

/// The media type of every stored file.
pub const CONTENT_TYPE: &str = "application/json";

/// Where a record came from, as recorded in its file.
#[derive(Clone, Copy, Debug)]
pub struct Provenance<'a> {
    /// The SQS message id.
    pub message_id: &'a str,
    /// The FIFO sequence number, if the queue gives one.
    pub sequence_number: Option<&'a str>,
    /// When processing happened.
    pub processed_at: SystemTime,
}

/// A rendered file: its bytes and its object metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The JSON bytes.
    pub body: Vec<u8>,
    /// S3 user metadata (lowercase keys, ASCII values).
    pub metadata: HashMap<String, String>,
}

#[derive(Serialize)]
struct StoredBook<'a> {
    #[serde(flatten)]
    book: &'a Book,
    message_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_number: Option<&'a str>,
    processed_at: String,
}

impl Document {
    /// Renders `book` (whose genre is already the configured genre name).
    #[must_use]
    pub fn render(book: &Book, provenance: Provenance<'_>) -> Self {
        let stored = StoredBook {
            book,
            message_id: provenance.message_id,
            sequence_number: provenance.sequence_number,
            processed_at: timestamp(provenance.processed_at),
        };
        // A struct of strings and an integer always serializes.
        let body = serde_json::to_vec_pretty(&stored).unwrap_or_default();

        let mut metadata = HashMap::from([
            (META_BOOK_ID.to_owned(), book.id.clone()),
            (META_BOOK_SHA256.to_owned(), book_sha256(book)),
            (META_MESSAGE_ID.to_owned(), provenance.message_id.to_owned()),
        ]);
        if let Some(sequence) = provenance.sequence_number {
            metadata.insert(META_SEQUENCE_NUMBER.to_owned(), sequence.to_owned());
        }
        Self { body, metadata }
    }
}

/// RFC 3339 in UTC with exactly three fraction digits
/// (`2026-12-04T17:02:11.467Z`), so timestamps sort as text.
#[must_use]
pub fn timestamp(time: SystemTime) -> String {
    let since_epoch = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX);
    let whole = DateTime::from_secs(seconds)
        .fmt(Format::DateTime)
        .unwrap_or_default();
    format!(
        "{}.{:03}Z",
        whole.trim_end_matches('Z'),
        since_epoch.subsec_millis()
    )
}

/// The hex SHA-256 of a book's canonical JSON (fields in declaration order).
#[must_use]
pub fn book_sha256(book: &Book) -> String {
    sha256_hex(&serde_json::to_vec(book).unwrap_or_default())
}

/// The SHA-256 of `bytes`, as 64 lowercase hex digits.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";

    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(bytes) {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn book() -> Book {
        Book::from_json(
            r#"{"id":"12345","title":"LoremIpsum","author":"John Doe","year":"1960","genre":"romance","summary":"Lorem"}"#,
        )
        .expect("valid")
    }

    fn provenance(message_id: &str) -> Provenance<'_> {
        Provenance {
            message_id,
            sequence_number: Some("18870000000000000001"),
            processed_at: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        }
    }

    #[test]
    fn the_file_holds_the_normalized_book_and_its_provenance() {
        let document = Document::render(&book(), provenance("m-1"));
        let json: serde_json::Value = serde_json::from_slice(&document.body).expect("JSON");

        assert_eq!(json["year"], 1960);
        assert_eq!(json["title"], "LoremIpsum");
        assert_eq!(json["message_id"], "m-1");
        assert_eq!(json["sequence_number"], "18870000000000000001");
        assert_eq!(json["processed_at"], "2027-01-15T08:00:00.000Z");
        assert_eq!(document.metadata[META_BOOK_ID], "12345");
    }

    #[test]
    fn timestamps_always_carry_three_fraction_digits() {
        let at =
            |millis: u64| timestamp(UNIX_EPOCH + Duration::from_millis(1_800_000_000_000 + millis));

        assert_eq!(at(467), "2027-01-15T08:00:00.467Z");
        assert_eq!(at(40), "2027-01-15T08:00:00.040Z");
        assert!(at(40) < at(467));
    }

    #[test]
    fn two_deliveries_of_one_book_hash_alike_and_an_edit_does_not() {
        let first = Document::render(&book(), provenance("m-1"));
        let again = Document::render(&book(), provenance("m-2"));
        let mut edited = book();
        edited.summary.push('!');

        assert_eq!(
            first.metadata[META_BOOK_SHA256],
            again.metadata[META_BOOK_SHA256]
        );
        assert_ne!(first.metadata[META_BOOK_SHA256], book_sha256(&edited));
        assert_eq!(first.metadata[META_BOOK_SHA256].len(), 64);
    }
}
