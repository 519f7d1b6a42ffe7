//! Sending books to the input queue: read JSON, JSON Lines or folders of
//! them, validate every record before sending any, then send in batches of
//! ten.
//!
//! The default message group is the record's object key (hashed): records
//! that write the same file are delivered in order, and everything else runs
//! in parallel, which is what FIFO throughput scales with. Grouping by genre
//! or author would serialise unrelated books behind each other for no gain.

use std::fmt;
use std::path::PathBuf;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde_json::Value;
use shelver::document::sha256_hex;
use shelver::error::CallFailed;
use shelver::pipeline::place;
use shelver::{Book, GenreRoutes, ObjectKey};

use crate::Error;

/// One record read from a file, with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// File and line (or array index), for messages.
    pub origin: String,
    /// The record as it will be sent.
    pub body: String,
}

/// A record that failed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// File and line (or array index).
    pub origin: String,
    /// Why, naming the field.
    pub reason: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.reason)
    }
}

/// Reads every record from `paths`: a `.json` file holds one record or an
/// array of them; any other file is JSON Lines (one record per line, blank
/// lines skipped); a folder contributes its `.json` and `.jsonl` files, in
/// name order.
///
/// # Errors
///
/// A file that cannot be read, or a `.json` file that is not JSON, is
/// reported as [`Invalid`] in the second list; nothing is dropped silently.
#[must_use]
pub fn read_inputs(paths: &[PathBuf]) -> (Vec<Input>, Vec<Invalid>) {
    let mut inputs = Vec::new();
    let mut invalid = Vec::new();
    for path in expand(paths, &mut invalid) {
        let origin = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) => {
                invalid.push(Invalid {
                    origin,
                    reason: format!("cannot be read: {err}"),
                });
                continue;
            }
        };
        if path.extension().is_some_and(|ext| ext == "json") {
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Array(items)) => {
                    inputs.extend(items.iter().enumerate().map(|(index, item)| Input {
                        origin: format!("{origin}[{index}]"),
                        body: item.to_string(),
                    }));
                }
                Ok(_) => inputs.push(Input {
                    origin,
                    body: text.trim().to_owned(),
                }),
                Err(err) => invalid.push(Invalid {
                    origin,
                    reason: format!("body is not valid JSON: {err}"),
                }),
            }
        } else {
            for (number, line) in text.lines().enumerate() {
                if !line.trim().is_empty() {
                    inputs.push(Input {
                        origin: format!("{origin}:{}", number + 1),
                        body: line.trim().to_owned(),
                    });
                }
            }
        }
    }
    (inputs, invalid)
}

fn expand(paths: &[PathBuf], invalid: &mut Vec<Invalid>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        match std::fs::read_dir(path) {
            Ok(entries) => {
                let mut found: Vec<PathBuf> = entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .filter(|p| {
                        p.extension()
                            .is_some_and(|ext| ext == "json" || ext == "jsonl")
                    })
                    .collect();
                found.sort();
                files.extend(found);
            }
            Err(err) => invalid.push(Invalid {
                origin: path.display().to_string(),
                reason: format!("cannot be read: {err}"),
            }),
        }
    }
    files
}

/// Checks a record as the consumer would: every field, and the genre when
/// the genre routes are known.
///
/// # Errors
///
/// The reason the consumer would park it with.
pub fn validate(body: &str, routes: Option<&GenreRoutes>) -> Result<(), String> {
    match routes {
        Some(routes) => place(body, routes).map(|_| ()),
        None => {
            Book::from_json(body).and_then(|book| ObjectKey::from_title(&book.title).map(|_| ()))
        }
    }
    .map_err(|err| err.reason())
}

/// The default message group of a valid record: `key-` and the first 16 hex
/// digits of its object key's SHA-256 (group ids are limited to 128 plain
/// characters; titles are not).
#[must_use]
pub fn default_group(body: &str) -> String {
    let key = Book::from_json(body)
        .ok()
        .and_then(|book| ObjectKey::from_title(&book.title).ok())
        .map(|key| key.as_str().to_owned())
        .unwrap_or_default();
    let hex = sha256_hex(key.as_bytes());
    format!("key-{}", &hex[..16])
}

/// Sends `inputs` in batches of ten, in order; `group` overrides the
/// default group. `progress` is told how many were sent so far.
///
/// # Errors
///
/// [`Error::Aws`] when a batch call fails or the queue rejects an entry.
pub async fn send(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    inputs: &[Input],
    group: Option<&str>,
    progress: impl Fn(u64),
) -> Result<u64, Error> {
    let mut sent = 0;
    for chunk in inputs.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(index, input)| {
                SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(&input.body)
                    .message_group_id(
                        group.map_or_else(|| default_group(&input.body), str::to_owned),
                    )
                    .build()
                    .map_err(|e| Error::aws("SendMessageBatch", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = sqs
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| Error::aws("SendMessageBatch", e))?;
        if let Some(failed) = output.failed.first() {
            let origin = failed
                .id
                .parse::<usize>()
                .ok()
                .and_then(|i| chunk.get(i))
                .map(|i| i.origin.clone());
            return Err(Error::Aws(CallFailed {
                operation: "SendMessageBatch",
                detail: format!(
                    "{} was refused: {}",
                    origin.unwrap_or_default(),
                    failed
                        .message
                        .clone()
                        .unwrap_or_else(|| failed.code.clone())
                ),
            }));
        }
        sent += u64::try_from(chunk.len()).unwrap_or(0);
        progress(sent);
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write a fixture");
        path
    }

    const GOOD: &str =
        r#"{"id":"1","title":"Dune","author":"F","year":1965,"genre":"scifi","summary":"S"}"#;

    #[test]
    fn json_arrays_json_lines_and_folders_are_read_with_their_origin() {
        let dir = std::env::temp_dir().join(format!("shelver-send-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        write(&dir, "a.json", &format!("[{GOOD},{GOOD}]"));
        write(&dir, "b.jsonl", &format!("{GOOD}\n\n{{broken\n"));
        write(&dir, "ignored.txt", "not read from a folder");
        let single = write(
            &std::env::temp_dir(),
            &format!("shelver-one-{}.json", std::process::id()),
            GOOD,
        );

        let (inputs, invalid) = read_inputs(&[dir.clone(), single]);

        let origins: Vec<&str> = inputs
            .iter()
            .map(|i| i.origin.rsplit('/').next().unwrap_or_default())
            .collect();
        assert_eq!(
            origins[..4],
            ["a.json[0]", "a.json[1]", "b.jsonl:1", "b.jsonl:3"]
        );
        assert_eq!(inputs.len(), 5);
        assert!(
            invalid.is_empty(),
            "a bad line is caught by validation, not reading"
        );
        assert!(
            validate(&inputs[3].body, None).is_err_and(|e| e.starts_with("body is not valid JSON"))
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_broken_json_file_is_reported_not_dropped() {
        let path = write(
            &std::env::temp_dir(),
            &format!("shelver-bad-{}.json", std::process::id()),
            "{nope",
        );

        let (inputs, invalid) = read_inputs(&[path]);

        assert!(inputs.is_empty());
        assert!(
            invalid[0].reason.starts_with("body is not valid JSON"),
            "{}",
            invalid[0]
        );
    }

    #[test]
    fn records_for_the_same_file_share_a_group() {
        let other = GOOD.replace("\"1\"", "\"2\"");
        let different = GOOD.replace("Dune", "Emma");

        assert_eq!(default_group(GOOD), default_group(&other));
        assert_ne!(default_group(GOOD), default_group(&different));
        assert!(default_group(GOOD).len() <= 128);
    }
}
