//! Writing books to S3 exactly once per book, whatever the number of deliveries.
//!
//! The commit point is a conditional `PutObject` (`If-None-Match: *`): the first
//! write of a key wins. When the key is taken, the existing object's metadata
//! decides what happened:
//!
//! - same book id and same content: a duplicate delivery, acknowledged as is;
//! - same book id, other content: another version of the book. If it was sent
//!   later (a higher sequence number), it is written over the old one, only if
//!   that one is still current (`If-Match` on its `ETag`); the buckets are
//!   versioned, so the old version stays readable. If it was sent earlier (a
//!   dead letter replayed after a newer version was stored), it is dropped;
//! - another book id: two books share a title. The newcomer goes to
//!   `Title [id].json` under the same rules, so neither book is lost (and on
//!   to `Title [id] (2).json` and further in the rare case that another
//!   book's title is literally `Title [id]`).

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_s3::primitives::ByteStream;

use crate::document::{
    CONTENT_TYPE, Document, META_BOOK_ID, META_BOOK_SHA256, META_SEQUENCE_NUMBER,
};
use crate::error::Error;
use crate::key::ObjectKey;

/// What a conditional write found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutResult {
    /// The object was written.
    Written,
    /// The condition failed: the key holds this object.
    Conflict(ExistingObject),
}

/// The parts of an existing object that decide a conflict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExistingObject {
    /// The object's entity tag, for a follow-up `If-Match` write.
    pub etag: Option<String>,
    /// The object's user metadata.
    pub metadata: HashMap<String, String>,
}

/// The object storage port: two conditional writes.
pub trait ObjectStore: Send + Sync {
    /// Writes `document` at `bucket/key` only if no object has that key.
    ///
    /// # Errors
    ///
    /// A transient [`Error::Store`] when the storage service fails.
    fn put_new(
        &self,
        bucket: &str,
        key: &ObjectKey,
        document: &Document,
    ) -> impl Future<Output = Result<PutResult, Error>> + Send;

    /// Overwrites `bucket/key` only if its entity tag is still `etag`.
    ///
    /// # Errors
    ///
    /// A transient [`Error::Store`] when the storage service fails.
    fn replace(
        &self,
        bucket: &str,
        key: &ObjectKey,
        document: &Document,
        etag: &str,
    ) -> impl Future<Output = Result<PutResult, Error>> + Send;
}

/// How a book reached its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// A new object.
    Created,
    /// The same book was already there: a duplicate delivery.
    Duplicate,
    /// A newer version of the same book replaced the current one.
    Replaced,
    /// The stored version of the book is newer (a later sequence number):
    /// this older one, replayed late, is acknowledged and not written.
    Superseded,
}

/// Stores a book's document under the key rule described in this module.
///
/// Returns the key used and how the write went.
///
/// # Errors
///
/// Permanent [`Error::KeyTaken`] when every candidate key holds another
/// book, a permanent title error when a qualified key is too long, and transient
/// [`Error::Store`] when storage fails or the object changes under us.
pub async fn put_book<S: ObjectStore>(
    store: &S,
    bucket: &str,
    title: &str,
    book_id: &str,
    document: &Document,
) -> Result<(ObjectKey, Write), Error> {
    let plain = ObjectKey::from_title(title)?;
    let mut last = plain.clone();
    for key in std::iter::once(Ok(plain)).chain(ObjectKey::alternatives(title, book_id)) {
        let key = key?;
        let existing = match store.put_new(bucket, &key, document).await? {
            PutResult::Written => return Ok((key, Write::Created)),
            PutResult::Conflict(existing) => existing,
        };
        if let Some(write) = settle(store, bucket, &key, book_id, document, &existing).await? {
            return Ok((key, write));
        }
        last = key;
    }
    Err(Error::KeyTaken {
        key: last.as_str().to_owned(),
    })
}

/// Decides a conflict at `key`: `None` when the key belongs to another book.
async fn settle<S: ObjectStore>(
    store: &S,
    bucket: &str,
    key: &ObjectKey,
    book_id: &str,
    document: &Document,
    existing: &ExistingObject,
) -> Result<Option<Write>, Error> {
    if existing.metadata.get(META_BOOK_ID).map(String::as_str) != Some(book_id) {
        return Ok(None);
    }
    if existing.metadata.get(META_BOOK_SHA256) == document.metadata.get(META_BOOK_SHA256) {
        return Ok(Some(Write::Duplicate));
    }
    // Versions are ordered by the sequence number of the message that first
    // carried them (a replayed dead letter keeps its original one), not by
    // arrival: an old version replayed late must not replace a newer one.
    let sequence = |metadata: &HashMap<String, String>| {
        metadata
            .get(META_SEQUENCE_NUMBER)
            .and_then(|n| n.parse::<u128>().ok())
    };
    if let (Some(incoming), Some(stored)) =
        (sequence(&document.metadata), sequence(&existing.metadata))
        && incoming < stored
    {
        return Ok(Some(Write::Superseded));
    }

    let changed = || {
        Error::store(
            bucket,
            key.as_str(),
            "the object changed while being replaced",
        )
    };
    let etag = existing.etag.as_deref().ok_or_else(changed)?;
    match store.replace(bucket, key, document, etag).await? {
        PutResult::Written => Ok(Some(Write::Replaced)),
        PutResult::Conflict(_) => Err(changed()),
    }
}

/// The [`ObjectStore`] backed by Amazon S3 (or an emulator of its API).
#[derive(Clone, Debug)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
}

impl S3Store {
    /// Wraps a client built once at cold start.
    #[must_use]
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }

    async fn put(
        &self,
        bucket: &str,
        key: &ObjectKey,
        document: &Document,
        condition: Condition<'_>,
    ) -> Result<PutResult, Error> {
        let request = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key.as_str())
            .content_type(CONTENT_TYPE)
            .set_metadata(Some(document.metadata.clone()))
            .body(ByteStream::from(document.body.clone()));
        let request = match condition {
            Condition::Absent => request.if_none_match("*"),
            Condition::Current(etag) => request.if_match(etag),
        };

        match request.send().await {
            Ok(_) => Ok(PutResult::Written),
            Err(err) if http_status(&err) == Some(412) => {
                let existing = self.head(bucket, key).await?;
                Ok(PutResult::Conflict(existing))
            }
            Err(err) => Err(Error::store(bucket, key.as_str(), err)),
        }
    }

    async fn head(&self, bucket: &str, key: &ObjectKey) -> Result<ExistingObject, Error> {
        let head = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|err| Error::store(bucket, key.as_str(), err))?;
        Ok(ExistingObject {
            etag: head.e_tag,
            metadata: head.metadata.unwrap_or_default(),
        })
    }
}

enum Condition<'a> {
    Absent,
    Current(&'a str),
}

fn http_status<E>(err: &aws_sdk_s3::error::SdkError<E>) -> Option<u16> {
    err.raw_response()
        .map(|response| response.status().as_u16())
}

impl ObjectStore for S3Store {
    async fn put_new(
        &self,
        bucket: &str,
        key: &ObjectKey,
        document: &Document,
    ) -> Result<PutResult, Error> {
        self.put(bucket, key, document, Condition::Absent).await
    }

    async fn replace(
        &self,
        bucket: &str,
        key: &ObjectKey,
        document: &Document,
        etag: &str,
    ) -> Result<PutResult, Error> {
        self.put(bucket, key, document, Condition::Current(etag))
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::book::Book;
    use crate::document::{META_SEQUENCE_NUMBER, Provenance};
    use crate::fakes::MemoryStore;

    fn document(id: &str, summary: &str) -> Document {
        let body = format!(
            r#"{{"id":"{id}","title":"Dune","author":"Frank Herbert","year":1965,"genre":"scifi","summary":"{summary}"}}"#
        );
        let book = Book::from_json(&body).expect("valid");
        let provenance = Provenance {
            message_id: "m",
            sequence_number: None,
            processed_at: UNIX_EPOCH,
        };
        Document::render(&book, provenance)
    }

    async fn put(store: &MemoryStore, id: &str, summary: &str) -> Result<(String, Write), Error> {
        put_book(store, "shelf", "Dune", id, &document(id, summary))
            .await
            .map(|(key, write)| (key.as_str().to_owned(), write))
    }

    #[tokio::test]
    async fn the_first_write_creates_and_a_redelivery_is_a_duplicate() {
        let store = MemoryStore::default();

        let first = put(&store, "1", "spice").await.expect("stored");
        let again = put(&store, "1", "spice").await.expect("stored");

        assert_eq!(first, ("Dune.json".into(), Write::Created));
        assert_eq!(again, ("Dune.json".into(), Write::Duplicate));
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn a_new_version_of_the_same_book_replaces_the_current_one() {
        let store = MemoryStore::default();

        put(&store, "1", "spice").await.expect("stored");
        let edited = put(&store, "1", "more spice").await.expect("stored");

        assert_eq!(edited, ("Dune.json".into(), Write::Replaced));
        assert!(
            store
                .body("shelf", "Dune.json")
                .is_some_and(|b| b.contains("more spice"))
        );
    }

    #[tokio::test]
    async fn a_book_whose_qualified_key_is_another_title_still_finds_a_key() {
        let store = MemoryStore::default();
        let y = |id: &str, title: &str| {
            let body = format!(
                r#"{{"id":"{id}","title":"{title}","author":"A","year":1,"genre":"scifi","summary":"S"}}"#
            );
            let book = Book::from_json(&body).expect("valid");
            let provenance = Provenance {
                message_id: "m",
                sequence_number: None,
                processed_at: UNIX_EPOCH,
            };
            (book.clone(), Document::render(&book, provenance))
        };

        for (id, title) in [("1", "Y"), ("9", "Y [2]")] {
            let (book, document) = y(id, title);
            put_book(&store, "shelf", &book.title, &book.id, &document)
                .await
                .expect("stored");
        }
        let (book, document) = y("2", "Y");
        let stored = put_book(&store, "shelf", &book.title, &book.id, &document).await;
        let again = put_book(&store, "shelf", &book.title, &book.id, &document).await;

        let stored = stored.map(|(key, write)| (key.as_str().to_owned(), write));
        assert_eq!(stored.ok(), Some(("Y [2] (2).json".into(), Write::Created)));
        assert!(again.is_ok_and(
            |(key, write)| key.as_str() == "Y [2] (2).json" && write == Write::Duplicate
        ));
        assert_eq!(store.len(), 3);
    }

    #[tokio::test]
    async fn an_older_version_replayed_late_does_not_replace_a_newer_one() {
        let store = MemoryStore::default();
        let version = |summary: &str, sequence: &str| {
            let mut document = document("1", summary);
            document
                .metadata
                .insert(META_SEQUENCE_NUMBER.into(), sequence.into());
            document
        };

        put_book(
            &store,
            "shelf",
            "Dune",
            "1",
            &version("second edition", "200"),
        )
        .await
        .expect("stored");
        let late = put_book(
            &store,
            "shelf",
            "Dune",
            "1",
            &version("first edition", "100"),
        )
        .await;
        let newer = put_book(
            &store,
            "shelf",
            "Dune",
            "1",
            &version("third edition", "300"),
        )
        .await;

        assert_eq!(late.map(|(_, write)| write).ok(), Some(Write::Superseded));
        assert_eq!(newer.map(|(_, write)| write).ok(), Some(Write::Replaced));
        assert!(
            store
                .body("shelf", "Dune.json")
                .is_some_and(|b| b.contains("third edition"))
        );
    }

    #[tokio::test]
    async fn another_book_with_the_same_title_gets_a_key_with_its_id() {
        let store = MemoryStore::default();

        put(&store, "1", "spice").await.expect("stored");
        let other = put(&store, "2", "a remake").await.expect("stored");
        let other_again = put(&store, "2", "a remake").await.expect("stored");

        assert_eq!(other, ("Dune [2].json".into(), Write::Created));
        assert_eq!(other_again, ("Dune [2].json".into(), Write::Duplicate));
        assert!(
            store
                .body("shelf", "Dune.json")
                .is_some_and(|b| b.contains("spice"))
        );
        assert_eq!(store.len(), 2);
    }
}
