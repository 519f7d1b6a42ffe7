//! Metrics as CloudWatch Embedded Metric Format (EMF) lines: JSON documents
//! written to standard output, which CloudWatch Logs turns into metrics with
//! no API call and no extra latency.
//!
//! Per batch (or drain), one line per genre with the `Stored`, `DeadLettered`
//! and `Retried` counts (dimensions `Function`, `Genre`), and one line with
//! `BatchDuration` and the `RecordAge` of each record (dimension `Function`).
//! Records whose genre cannot be read count under the genre `unknown`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::genre::GenreRoutes;
use crate::pipeline::{Outcome, Record, place};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "Shelver";

/// The genre dimension for records whose genre cannot be read.
pub const UNKNOWN_GENRE: &str = "unknown";

/// EMF allows at most 100 values for one metric in one document.
const MAX_VALUES: usize = 100;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    stored: u64,
    dead_lettered: u64,
    retried: u64,
}

/// The metrics of one batch or drain.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchMetrics {
    function: &'static str,
    by_genre: BTreeMap<String, Counts>,
    record_ages_ms: Vec<f64>,
}

impl BatchMetrics {
    /// Empty metrics for the function named `function` (`consumer`, `http`).
    #[must_use]
    pub fn new(function: &'static str) -> Self {
        Self {
            function,
            by_genre: BTreeMap::new(),
            record_ages_ms: Vec::new(),
        }
    }

    /// Counts one record's outcome under its genre, and its age when the
    /// record says when it was sent.
    pub fn count(&mut self, record: &Record, outcome: &Outcome, routes: &GenreRoutes) {
        let counts = self
            .by_genre
            .entry(genre(record, outcome, routes))
            .or_default();
        match outcome {
            Outcome::Stored { .. } => counts.stored += 1,
            Outcome::DeadLettered { .. } => counts.dead_lettered += 1,
            Outcome::Retry { .. } | Outcome::Skipped | Outcome::Deferred => counts.retried += 1,
        }
        let age = record
            .sent_at
            .and_then(|sent| SystemTime::now().duration_since(sent).ok());
        if let Some(age) = age
            && self.record_ages_ms.len() < MAX_VALUES
        {
            self.record_ages_ms.push(millis(age));
        }
    }

    /// The EMF documents for these metrics, `duration` being the batch's.
    #[must_use]
    pub fn documents(&self, duration: Duration, now: SystemTime) -> Vec<Value> {
        let timestamp = now
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or_default();
        let header = |dimensions: Value, metrics: Value| {
            json!({
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [dimensions],
                    "Metrics": metrics,
                }],
            })
        };

        let mut documents: Vec<Value> = self
            .by_genre
            .iter()
            .map(|(genre, counts)| {
                json!({
                    "_aws": header(
                        json!(["Function", "Genre"]),
                        json!([
                            {"Name": "Stored", "Unit": "Count"},
                            {"Name": "DeadLettered", "Unit": "Count"},
                            {"Name": "Retried", "Unit": "Count"},
                        ]),
                    ),
                    "Function": self.function,
                    "Genre": genre,
                    "Stored": counts.stored,
                    "DeadLettered": counts.dead_lettered,
                    "Retried": counts.retried,
                })
            })
            .collect();

        let mut timing = json!({
            "_aws": header(
                json!(["Function"]),
                json!([{"Name": "BatchDuration", "Unit": "Milliseconds"}]),
            ),
            "Function": self.function,
            "BatchDuration": millis(duration),
        });
        if !self.record_ages_ms.is_empty() {
            if let Some(metrics) = timing["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array_mut()
            {
                metrics.push(json!({"Name": "RecordAge", "Unit": "Milliseconds"}));
            }
            timing["RecordAge"] = json!(self.record_ages_ms);
        }
        documents.push(timing);
        documents
    }

    /// Writes the documents to standard output, one line each.
    pub fn emit(&self, duration: Duration) {
        let mut stdout = std::io::stdout().lock();
        for document in self.documents(duration, SystemTime::now()) {
            // Metrics are best effort: a closed stdout must not fail a batch.
            let _ = writeln!(stdout, "{document}");
        }
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The configured genre a record went to or would have gone to.
fn genre(record: &Record, outcome: &Outcome, routes: &GenreRoutes) -> String {
    if let Outcome::Stored { bucket, .. } = outcome
        && let Some(route) = routes.routes().find(|route| route.bucket == bucket)
    {
        return route.genre.to_owned();
    }
    // Only failures get here, so the second parse is off the common path.
    place(&record.body, routes).map_or_else(
        |_| UNKNOWN_GENRE.to_owned(),
        |placement| placement.book.genre,
    )
}

/// When an SQS message was sent, from its `SentTimestamp` attribute
/// (milliseconds since the epoch).
#[must_use]
pub fn sent_at(sent_timestamp_ms: Option<&str>) -> Option<SystemTime> {
    let millis = sent_timestamp_ms?.parse::<u64>().ok()?;
    Some(UNIX_EPOCH + Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::ObjectKey;
    use crate::store::Write;

    fn routes() -> GenreRoutes {
        GenreRoutes::parse(
            ("GENRE_BUCKETS", "scifi=b-scifi,romance=b-romance"),
            ("GENRE_ALIASES", None),
        )
        .expect("valid")
    }

    fn record(genre: &str) -> Record {
        Record {
            message_id: "m".into(),
            body: format!(
                r#"{{"id":"1","title":"T","author":"A","year":1,"genre":"{genre}","summary":"S"}}"#
            ),
            ..Record::default()
        }
    }

    #[test]
    fn counts_go_to_their_genre_and_bad_records_to_unknown() {
        let mut metrics = BatchMetrics::new("consumer");
        let stored = Outcome::Stored {
            bucket: "b-scifi".into(),
            key: ObjectKey::from_title("T").expect("valid"),
            write: Write::Created,
        };
        let parked = Outcome::DeadLettered { reason: "x".into() };

        metrics.count(&record("Sci-Fi"), &stored, &routes());
        metrics.count(&record("horror"), &parked, &routes());
        metrics.count(&record("romance"), &Outcome::Skipped, &routes());
        let documents = metrics.documents(Duration::from_millis(12), UNIX_EPOCH);

        assert_eq!(documents.len(), 4, "three genres and the timing line");
        let by_genre: BTreeMap<&str, &Value> = documents
            .iter()
            .filter_map(|d| Some((d["Genre"].as_str()?, d)))
            .collect();
        assert_eq!(by_genre["scifi"]["Stored"], 1);
        assert_eq!(by_genre["unknown"]["DeadLettered"], 1);
        assert_eq!(by_genre["romance"]["Retried"], 1);
        assert_eq!(
            by_genre["scifi"]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            NAMESPACE
        );
        assert_eq!(documents[3]["BatchDuration"], 12.0);
        assert!(
            documents[3].get("RecordAge").is_none(),
            "no ages were known"
        );
    }

    #[test]
    fn record_ages_come_from_the_sent_timestamp() {
        let mut metrics = BatchMetrics::new("consumer");
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let sent = sent_at(Some(
            &an_hour_ago
                .duration_since(UNIX_EPOCH)
                .expect("after 1970")
                .as_millis()
                .to_string(),
        ));

        let record = Record {
            sent_at: sent,
            ..record("scifi")
        };
        metrics.count(&record, &Outcome::Skipped, &routes());
        let timing = metrics
            .documents(Duration::ZERO, SystemTime::now())
            .pop()
            .expect("timing line");

        let age = timing["RecordAge"][0].as_f64().expect("an age");
        assert!((3_599_000.0..3_700_000.0).contains(&age), "{age}");
        let names: Vec<&str> = timing["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        assert_eq!(names, ["BatchDuration", "RecordAge"]);
        assert_eq!(sent_at(Some("not a number")), None);
    }
}
