//! Sending books to the input queue: read JSON, JSON Lines or folders of
//! them, validate every record before sending any, then send in batches of
//! ten.
//!
//! The default message group is the record's object key (hashed): records
//! that write the same file are delivered in order, and everything else runs
//! in parallel, which is what FIFO throughput scales with. Grouping by genre
//! or author would serialise unrelated books behind each other for no gain.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde_json::value::RawValue;
use shelver::document::sha256_hex;
use shelver::error::{CallFailed, chain, shorten};
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

/// The largest message SQS takes, and the largest batch, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Reads every record from `paths`: a `.json` file holds one record or an
/// array of them; any other file is JSON Lines (one record per line, blank
/// lines skipped); a folder contributes its `.json` and `.jsonl` files and
/// those of its subfolders, in name order. A leading byte-order mark is
/// ignored.
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
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        if path.extension().is_some_and(|ext| ext == "json") {
            // Each item exactly as written: parsing into values would merge
            // a repeated field that the consumer rejects.
            let is_array = text.trim_start().starts_with('[');
            let parsed = if is_array {
                serde_json::from_str::<Vec<&RawValue>>(text)
            } else {
                serde_json::from_str::<&RawValue>(text).map(|one| vec![one])
            };
            match parsed {
                Ok(items) if is_array => {
                    inputs.extend(items.iter().enumerate().map(|(index, item)| Input {
                        origin: format!("{origin}[{index}]"),
                        body: item.get().to_owned(),
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
    let mut folders_seen = HashSet::new();
    for path in paths {
        if path.is_dir() {
            expand_folder(path, &mut folders_seen, &mut files, invalid);
        } else {
            files.push(path.clone());
        }
    }
    // A file named twice, or reached through a link, is sent once; one that
    // cannot be resolved stays, to be reported when it is read.
    let mut files_seen = HashSet::new();
    files.retain(|file| std::fs::canonicalize(file).map_or(true, |real| files_seen.insert(real)));
    files
}

/// Adds a folder's record files, then its subfolders', each in name order;
/// a folder reached twice (through a link) is read once.
fn expand_folder(
    folder: &Path,
    seen: &mut HashSet<PathBuf>,
    files: &mut Vec<PathBuf>,
    invalid: &mut Vec<Invalid>,
) {
    let entries = std::fs::canonicalize(folder).and_then(|real| {
        let first_visit = seen.insert(real);
        std::fs::read_dir(folder).map(|entries| first_visit.then_some(entries))
    });
    let entries = match entries {
        Ok(Some(entries)) => entries,
        Ok(None) => return,
        Err(err) => {
            invalid.push(Invalid {
                origin: folder.display().to_string(),
                reason: format!("cannot be read: {err}"),
            });
            return;
        }
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    found.sort();
    let (folders, found): (Vec<_>, Vec<_>) = found.into_iter().partition(|p| p.is_dir());
    files.extend(found.into_iter().filter(|p| {
        p.extension()
            .is_some_and(|ext| ext == "json" || ext == "jsonl")
    }));
    for sub in folders {
        expand_folder(&sub, seen, files, invalid);
    }
}

/// Checks a record as the consumer would: every field, and the genre when
/// the genre routes are known.
///
/// # Errors
///
/// The reason the consumer would park it with.
pub fn validate(body: &str, routes: Option<&GenreRoutes>) -> Result<(), String> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(format!(
            "the record is {} bytes; an SQS message holds at most {MAX_MESSAGE_BYTES}",
            body.len()
        ));
    }
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

/// Splits `inputs`, in order, into batches SQS takes: at most ten records
/// and [`MAX_MESSAGE_BYTES`] in all.
#[must_use]
pub fn batches(inputs: &[Input]) -> Vec<&[Input]> {
    let mut batches = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (index, input) in inputs.iter().enumerate() {
        let full = index - start == 10 || bytes + input.body.len() > MAX_MESSAGE_BYTES;
        if full && index > start {
            batches.push(&inputs[start..index]);
            start = index;
            bytes = 0;
        }
        bytes += input.body.len();
    }
    if start < inputs.len() {
        batches.push(&inputs[start..]);
    }
    batches
}

/// Sends `inputs` in batches of up to ten, in order; `group` overrides the
/// default group. `progress` is told how many were sent so far.
///
/// # Errors
///
/// [`Error::Aws`] when a batch call fails or the queue rejects an entry,
/// saying how many records were sent.
pub async fn send(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    inputs: &[Input],
    group: Option<&str>,
    progress: impl Fn(u64),
) -> Result<u64, Error> {
    let mut sent = 0;
    let stopped = |sent: u64, detail: String| {
        Error::Aws(CallFailed {
            operation: "SendMessageBatch",
            detail: format!("{detail}; {sent} record(s) were sent"),
        })
    };
    for chunk in batches(inputs) {
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
            .map_err(|e| {
                let first = chunk.first().map_or("", |input| input.origin.as_str());
                let why = shorten(&chain(&e), 500);
                stopped(sent, format!("the batch from {first}: {why}"))
            })?;
        if let Some(failed) = output.failed.first() {
            let origin = failed
                .id
                .parse::<usize>()
                .ok()
                .and_then(|i| chunk.get(i))
                .map(|i| i.origin.clone());
            let why = failed
                .message
                .clone()
                .unwrap_or_else(|| failed.code.clone());
            let ok = output.successful.len() as u64;
            return Err(stopped(
                sent + ok,
                format!("{} was refused: {why}", origin.unwrap_or_default()),
            ));
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
    fn array_items_are_sent_as_written_so_a_repeated_field_is_caught() {
        let item = r#"{"id":"9","title":"A","title":"B","author":"F","year":1,"genre":"scifi","summary":"S"}"#;
        let path = write(
            &std::env::temp_dir(),
            &format!("shelver-repeat-{}.json", std::process::id()),
            &format!("\u{feff}[{GOOD}, {item}]"),
        );

        let (inputs, invalid) = read_inputs(&[path]);

        assert!(invalid.is_empty(), "a byte-order mark is not an error");
        assert_eq!(inputs[1].body, item);
        assert!(
            validate(&inputs[1].body, None).is_err_and(|e| e.contains("`title`")),
            "{:?}",
            validate(&inputs[1].body, None)
        );
    }

    #[test]
    fn subfolders_are_read_and_a_folder_linked_twice_is_read_once() {
        let dir = std::env::temp_dir().join(format!("shelver-tree-{}", std::process::id()));
        let nested = dir.join("nested");
        std::fs::create_dir_all(&nested).expect("a scratch tree");
        write(&dir, "a.jsonl", GOOD);
        write(&nested, "b.json", GOOD);
        std::os::unix::fs::symlink(&dir, nested.join("loop")).expect("a link back up");
        std::os::unix::fs::symlink(nested.join("b.json"), nested.join("c.json"))
            .expect("a second name for a file");

        let (inputs, invalid) = read_inputs(&[dir.clone(), nested.join("b.json")]);

        let origins: Vec<&str> = inputs.iter().map(|i| i.origin.as_str()).collect();
        assert_eq!(
            origins,
            [
                dir.join("a.jsonl:1").display().to_string(),
                nested.join("b.json").display().to_string()
            ]
        );
        assert!(invalid.is_empty(), "{invalid:?}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn batches_hold_ten_records_and_one_mebibyte_at_most() {
        let input = |bytes: usize| Input {
            origin: String::new(),
            body: "x".repeat(bytes),
        };
        let small: Vec<Input> = (0..23).map(|_| input(10)).collect();
        let sizes: Vec<usize> = batches(&small).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [10, 10, 3]);

        let big: Vec<Input> = (0..10).map(|_| input(120_000)).collect();
        let sizes: Vec<usize> = batches(&big).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [8, 2], "8 × 120,000 bytes fit in 1 MiB, 9 do not");
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn a_record_larger_than_a_message_is_invalid() {
        let huge = GOOD.replace("\"S\"", &format!("\"{}\"", "s".repeat(MAX_MESSAGE_BYTES)));

        let reason = validate(&huge, None).expect_err("too big");

        assert!(reason.contains("at most 1048576"), "{reason}");
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
