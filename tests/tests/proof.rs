//! The proof that nothing is lost, duplicated or reordered under faults.
//!
//! 2,000 records in 100 message groups (`SHELVER_PROOF_MESSAGES` raises it;
//! `make soak` runs 10,000) go through the real consumer binary, fed by four
//! event source mapping stand-ins at once, through a proxy that fails 5% of
//! S3 writes with 503 and drops 1% of S3 connections. 2% of the records are
//! poison; one record's write is slower than the queue's visibility timeout;
//! one invocation's deadline ends mid-batch. Then:
//!
//! - every valid record has exactly one object (one version), with its content;
//! - every poison record is in the dead-letter queue with its reason, and no
//!   record is both written and parked;
//! - within each group, objects were committed in sequence order;
//! - the input queue is empty.

// Tests and their helpers fail by panicking.
#![allow(clippy::panic)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};
use shelver_local::resources::QueueSettings;
use shelver_tests::emulator::{Received, Stack};
use shelver_tests::fault_proxy::{Fault, FaultProxy, Seen};
use shelver_tests::lambda_host::LambdaHost;

const POLLERS: usize = 4;
const SLOW_WRITE: Duration = Duration::from_secs(8);
const SETTINGS: QueueSettings = QueueSettings {
    visibility_timeout: 5,
    // Records held back behind a failed one count receives too: leave room.
    max_receive_count: 10,
};

/// One sent record and what should become of it.
struct Sent {
    group: usize,
    index: usize,
    body: String,
    /// `None` for poison, else the expected stored fields.
    expected: Option<Value>,
    /// What the dead-letter reason must mention, for poison.
    reason_mentions: &'static str,
}

fn title(group: usize, index: usize) -> String {
    format!("p-{group:03}-{index:04}")
}

/// Every 50th record is poison, of four kinds in turn.
fn record(group: usize, index: usize, serial: usize) -> Sent {
    let genre = if group.is_multiple_of(2) {
        "scifi"
    } else {
        "romance"
    };
    let valid = json!({
        "id": format!("{group}-{index}"),
        "title": title(group, index),
        "author": format!("Author {group}"),
        "year": 1900 + index % 100,
        "genre": genre,
        "summary": format!("Summary of {group}-{index}."),
    });
    if serial % 50 != 7 {
        return Sent {
            group,
            index,
            body: valid.to_string(),
            expected: Some(valid),
            reason_mentions: "",
        };
    }
    let (body, reason_mentions) = match (serial / 50) % 4 {
        0 => {
            let mut bad = valid;
            bad["genre"] = json!("horror");
            (bad.to_string(), "unknown genre")
        }
        1 => {
            let mut bad = valid;
            bad["year"] = Value::Null;
            (bad.to_string(), "`year`")
        }
        2 => {
            let mut bad = valid;
            bad.as_object_mut().expect("an object").remove("title");
            (bad.to_string(), "`title` is missing")
        }
        _ => (format!("{{not json {serial}"), "not valid JSON"),
    };
    Sent {
        group,
        index,
        body,
        expected: None,
        reason_mentions,
    }
}

fn scale() -> (usize, usize) {
    let messages = std::env::var("SHELVER_PROOF_MESSAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    (messages, (messages / 20).max(1))
}

fn is_s3(seen: &Seen) -> bool {
    // SQS's JSON protocol names its operation in X-Amz-Target; S3 does not.
    seen.target.is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_every_record_is_stored_once_in_order_or_parked_with_its_reason() {
    let (messages, groups) = scale();
    let stack = Stack::with_settings("proof", SETTINGS).await;
    let sent: Vec<Sent> = (0..messages)
        .map(|serial| record(serial % groups, serial / groups, serial))
        .collect();
    let slow = sent
        .iter()
        .find(|s| s.expected.is_some() && s.index == 1)
        .map(|s| title(s.group, s.index))
        .expect("a valid record to slow down");
    let proxy = faulty_proxy(&stack, &slow).await;

    let ids = send_all(&stack, &sent).await;
    let message_id = |record: &Sent| ids[&record.group][record.index].clone();
    let started = Instant::now();
    let invocations = run_pollers(&stack, &proxy).await;
    eprintln!(
        "proof: {messages} records, {groups} groups, {invocations} invocations, {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let committed = check_objects(&stack, &sent, &message_id).await;
    check_dead_letters(&stack, &sent, &message_id, &committed).await;
    check_commit_order(&proxy, &sent, &committed);
    let slow_writes = proxy
        .seen()
        .iter()
        .filter(|seen| seen.method == "PUT" && seen.path.ends_with(&format!("/{slow}.json")))
        .count();
    assert_eq!(
        slow_writes, 1,
        "the slow record was processed once, kept hidden meanwhile"
    );
    assert_eq!(stack.input_depth().await, 0, "the queue is empty");
    let injected = proxy
        .seen()
        .iter()
        .filter(|s| s.status == Some(503) || s.status.is_none())
        .count();
    assert!(injected > 0, "faults were injected");
}

/// A proxy that slows `slow`'s write past the visibility timeout, fails 5% of
/// the other S3 writes with 503 and drops 1% of the other S3 connections.
async fn faulty_proxy(stack: &Stack, slow: &str) -> FaultProxy {
    let proxy = FaultProxy::start(&stack.endpoint).await;
    let slow_path = format!("/{slow}.json");
    let is_slow = move |seen: &Seen| seen.path.ends_with(&slow_path);
    let slow_write = is_slow.clone();
    proxy.inject(
        move |seen| seen.method == "PUT" && slow_write(seen),
        Fault::Delay(SLOW_WRITE),
    );
    let other_write = is_slow.clone();
    proxy.inject_fraction(
        move |seen| is_s3(seen) && seen.method == "PUT" && !other_write(seen),
        Fault::Status(503),
        50,
        0x5eed,
    );
    proxy.inject_fraction(
        move |seen| is_s3(seen) && !is_slow(seen),
        Fault::Reset,
        10,
        0x5eed,
    );
    proxy
}

/// Sends each group in order, the groups concurrently; returns each group's
/// message ids in sending order.
async fn send_all(stack: &Stack, sent: &[Sent]) -> HashMap<usize, Vec<String>> {
    let mut by_group: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for record in sent {
        by_group
            .entry(record.group)
            .or_default()
            .push(record.body.clone());
    }
    let sends = by_group.iter().map(|(group, bodies)| async move {
        (
            *group,
            stack.send_in_order(&format!("g{group:03}"), bodies).await,
        )
    });
    join_all(sends).await.into_iter().collect()
}

/// Four event source mapping stand-ins, each with its own consumer process,
/// poll until the queue is empty. One invocation gets barely more time than
/// the consumer's deadline margin. Returns the number of invocations.
async fn run_pollers(stack: &Stack, proxy: &FaultProxy) -> usize {
    let mut env = stack.function_env(&proxy.url);
    // No SDK retries: every injected fault reaches the queue-level retry path.
    env.push(("AWS_MAX_ATTEMPTS".into(), "1".into()));
    let hosts = join_all((0..POLLERS).map(|_| LambdaHost::start("shelver-consumer", &env))).await;
    hosts[0].shorten_next_deadline(shelver_consumer::DEADLINE_MARGIN + Duration::from_millis(40));

    let started = Instant::now();
    let pollers = hosts.iter().map(|host| {
        let mut mapping = stack.mapping();
        mapping.retry_delay_seconds = 1;
        async move {
            let mut invocations = 0;
            loop {
                assert!(
                    started.elapsed() < Duration::from_secs(600),
                    "the run did not finish"
                );
                match mapping.poll_once(host).await.expect("poll") {
                    Some(_) => invocations += 1,
                    None if stack.input_depth().await == 0 => return invocations,
                    None => {}
                }
            }
        }
    });
    join_all(pollers).await.into_iter().sum()
}

/// Every valid record has exactly one object (one version) with its content,
/// written from its own message. Returns key to (body, metadata).
async fn check_objects(
    stack: &Stack,
    sent: &[Sent],
    message_id: &impl Fn(&Sent) -> String,
) -> HashMap<String, (String, HashMap<String, String>)> {
    let mut committed = HashMap::new();
    for genre in ["scifi", "romance"] {
        let bucket = stack.bucket(genre).to_owned();
        let expected = sent
            .iter()
            .filter(|s| s.expected.as_ref().is_some_and(|e| e["genre"] == genre))
            .count();
        assert_eq!(
            stack.versions(&bucket).await,
            expected,
            "{genre}: one version per valid record"
        );
        for key in all_keys(stack, &bucket).await {
            let object = stack.object(&bucket, &key).await.expect("listed object");
            committed.insert(key, object);
        }
    }

    let valid: Vec<&Sent> = sent.iter().filter(|s| s.expected.is_some()).collect();
    assert_eq!(committed.len(), valid.len(), "one object per valid record");
    for record in valid {
        let key = format!("{}.json", title(record.group, record.index));
        let (body, metadata) = committed
            .get(&key)
            .unwrap_or_else(|| panic!("{key} is missing"));
        let stored: Value = serde_json::from_str(body).expect("stored JSON");
        let expected = record.expected.as_ref().expect("valid");
        for field in ["id", "title", "author", "year", "genre", "summary"] {
            assert_eq!(stored[field], expected[field], "{key} {field}");
        }
        assert_eq!(
            metadata["message-id"],
            message_id(record),
            "{key} came from its own message"
        );
    }
    committed
}

/// Every poison record is parked once, unchanged, with its reason, and no
/// record is both written and parked.
async fn check_dead_letters(
    stack: &Stack,
    sent: &[Sent],
    message_id: &impl Fn(&Sent) -> String,
    committed: &HashMap<String, (String, HashMap<String, String>)>,
) {
    let parked = stack.dead_letters().await;
    let poison: Vec<&Sent> = sent.iter().filter(|s| s.expected.is_none()).collect();
    assert_eq!(
        parked.len(),
        poison.len(),
        "one dead letter per poison record"
    );
    let by_source: HashMap<&str, &Received> = parked
        .iter()
        .map(|letter| (letter.attributes["SourceMessageId"].as_str(), letter))
        .collect();
    for record in poison {
        let letter = by_source
            .get(message_id(record).as_str())
            .unwrap_or_else(|| panic!("poison {}/{} is not parked", record.group, record.index));
        assert_eq!(letter.body, record.body, "parked unchanged");
        let reason = &letter.attributes["ErrorReason"];
        assert!(
            reason.contains(record.reason_mentions),
            "{}: {reason}",
            record.reason_mentions
        );
    }
    let written: HashSet<&str> = committed
        .values()
        .map(|(_, m)| m["message-id"].as_str())
        .collect();
    assert!(
        by_source.keys().all(|id| !written.contains(id)),
        "no record both written and parked"
    );
}

/// Within each group, the successful writes the proxy saw came in sending
/// order, and the stored sequence numbers rise with it.
fn check_commit_order(
    proxy: &FaultProxy,
    sent: &[Sent],
    committed: &HashMap<String, (String, HashMap<String, String>)>,
) {
    let mut last_index: HashMap<usize, usize> = HashMap::new();
    let commits = proxy
        .seen()
        .into_iter()
        .filter(|seen| seen.method == "PUT" && seen.status == Some(200) && is_s3(seen));
    for commit in commits {
        let name = commit
            .path
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(".json");
        let mut parts = name.trim_start_matches("p-").split('-');
        let (Some(group), Some(index)) = (parts.next(), parts.next()) else {
            continue;
        };
        let (group, index): (usize, usize) =
            (group.parse().expect("group"), index.parse().expect("index"));
        if let Some(previous) = last_index.insert(group, index) {
            assert!(
                previous < index,
                "group {group}: {index} committed after {previous}"
            );
        }
    }

    let mut sequences: BTreeMap<usize, Vec<u128>> = BTreeMap::new();
    for record in sent {
        if let Some((_, metadata)) =
            committed.get(&format!("{}.json", title(record.group, record.index)))
        {
            let sequence = metadata["sequence-number"]
                .parse()
                .expect("a sequence number");
            sequences.entry(record.group).or_default().push(sequence);
        }
    }
    for (group, sequence) in sequences {
        assert!(
            sequence.windows(2).all(|pair| pair[0] < pair[1]),
            "group {group}: sequence numbers fall"
        );
    }
}

async fn all_keys(stack: &Stack, bucket: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = stack
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .set_continuation_token(token)
            .send()
            .await
            .expect("list objects");
        keys.extend(page.contents().iter().filter_map(|o| o.key.clone()));
        match page.next_continuation_token {
            Some(next) => token = Some(next),
            None => return keys,
        }
    }
}
