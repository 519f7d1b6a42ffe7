//! In-memory stand-ins for the storage and dead-letter ports, for pure-logic
//! tests only. Everything that talks to AWS is tested against an emulator.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::dead_letter::{DeadLetter, DeadLetterQueue};
use crate::document::Document;
use crate::error::Error;
use crate::key::ObjectKey;
use crate::store::{ExistingObject, ObjectStore, PutResult};

#[derive(Clone, Debug)]
struct Object {
    etag: String,
    document: Document,
}

/// An object store in memory, with S3's conditional-write semantics. Keys
/// listed in [`MemoryStore::fail_key`] fail with a transient error.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    objects: Arc<Mutex<HashMap<(String, String), Object>>>,
    failing: Arc<Mutex<Vec<String>>>,
    writes: Arc<Mutex<u64>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock has already failed.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    /// Makes every write to `key` (in any bucket) fail transiently.
    pub fn fail_key(&self, key: &str) {
        lock(&self.failing).push(key.to_owned());
    }

    /// How many objects are stored.
    #[must_use]
    pub fn len(&self) -> usize {
        lock(&self.objects).len()
    }

    /// Whether nothing is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stored body of `bucket/key`, as text.
    #[must_use]
    pub fn body(&self, bucket: &str, key: &str) -> Option<String> {
        lock(&self.objects)
            .get(&(bucket.to_owned(), key.to_owned()))
            .map(|object| String::from_utf8_lossy(&object.document.body).into_owned())
    }

    /// Every stored `(bucket, key)`, sorted.
    #[must_use]
    pub fn keys(&self) -> Vec<(String, String)> {
        let mut keys: Vec<_> = lock(&self.objects).keys().cloned().collect();
        keys.sort();
        keys
    }

    fn write(
        &self,
        bucket: &str,
        key: &ObjectKey,
        document: &Document,
        expected_etag: Option<&str>,
    ) -> Result<PutResult, Error> {
        if lock(&self.failing).iter().any(|k| k == key.as_str()) {
            return Err(Error::store(bucket, key.as_str(), "injected failure"));
        }

        let mut objects = lock(&self.objects);
        let slot = (bucket.to_owned(), key.as_str().to_owned());
        let current = objects.get(&slot);
        let allowed = match expected_etag {
            None => current.is_none(),
            Some(etag) => current.is_some_and(|object| object.etag == etag),
        };
        if !allowed {
            let existing = current.map(|object| ExistingObject {
                etag: Some(object.etag.clone()),
                metadata: object.document.metadata.clone(),
            });
            return Ok(PutResult::Conflict(existing.unwrap_or_default()));
        }

        let mut writes = lock(&self.writes);
        *writes += 1;
        let object = Object {
            etag: format!("\"{writes}\""),
            document: document.clone(),
        };
        objects.insert(slot, object);
        Ok(PutResult::Written)
    }
}

impl ObjectStore for MemoryStore {
    async fn put_new(
        &self,
        bucket: &str,
        key: &ObjectKey,
        document: &Document,
    ) -> Result<PutResult, Error> {
        self.write(bucket, key, document, None)
    }

    async fn replace(
        &self,
        bucket: &str,
        key: &ObjectKey,
        document: &Document,
        etag: &str,
    ) -> Result<PutResult, Error> {
        self.write(bucket, key, document, Some(etag))
    }
}

/// A parked record, as the fake queue keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParkedLetter {
    /// The rejected message's id.
    pub message_id: String,
    /// Its group.
    pub group_id: Option<String>,
    /// Its body.
    pub body: String,
    /// Why it was rejected.
    pub reason: String,
}

/// A dead-letter queue in memory; [`MemoryDeadLetters::fail_sends`] makes it
/// unreachable.
#[derive(Clone, Debug, Default)]
pub struct MemoryDeadLetters {
    letters: Arc<Mutex<Vec<ParkedLetter>>>,
    failing: Arc<Mutex<bool>>,
}

impl MemoryDeadLetters {
    /// Makes every later send fail transiently.
    pub fn fail_sends(&self) {
        *lock(&self.failing) = true;
    }

    /// The letters received so far, in order.
    #[must_use]
    pub fn letters(&self) -> Vec<ParkedLetter> {
        lock(&self.letters).clone()
    }
}

impl DeadLetterQueue for MemoryDeadLetters {
    async fn send(&self, letter: DeadLetter<'_>) -> Result<(), Error> {
        if *lock(&self.failing) {
            return Err(Error::DeadLetter {
                source: "injected failure".into(),
            });
        }
        lock(&self.letters).push(ParkedLetter {
            message_id: letter.message_id.to_owned(),
            group_id: letter.group_id.map(str::to_owned),
            body: letter.body.to_owned(),
            reason: letter.reason.to_owned(),
        });
        Ok(())
    }
}
