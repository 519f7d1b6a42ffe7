//! Long work is safe: a record slower than its visibility timeout is kept
//! hidden by the heartbeat and done once, and an invocation running out of
//! time hands back what it did not start.

// Tests and their helpers fail by panicking.
#![allow(clippy::panic)]

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use shelver::queue::InputQueue;
use shelver::step::Step;
use shelver::{Book, Config, Error, Outcome};
use shelver_local::resources::QueueSettings;
use shelver_tests::emulator::{Stack, sdk_config};
use shelver_tests::fault_proxy::{Fault, FaultProxy, put_object_ending};
use shelver_tests::lambda_host::LambdaHost;

const VISIBILITY: QueueSettings = QueueSettings {
    visibility_timeout: 2,
    max_receive_count: 5,
};

fn book(id: &str, title: &str, genre: &str) -> String {
    json!({"id": id, "title": title, "author": "A", "year": 2000, "genre": genre, "summary": "S"})
        .to_string()
}

/// A processing step that takes `delay` on one title.
struct SlowOn {
    title: &'static str,
    delay: Duration,
}

impl Step for SlowOn {
    async fn process(&self, book: Book) -> Result<Book, Error> {
        if book.title == self.title {
            tokio::time::sleep(self.delay).await;
        }
        Ok(book)
    }
}

/// Polls the input queue as a second consumer would, every 300 ms, until
/// `stop` resolves; returns the group ids of everything it was handed.
async fn rival(stack: &Stack, stop: impl std::future::Future<Output = ()>) -> Vec<String> {
    let queue = InputQueue::new(stack.sqs.clone(), stack.resources.input_queue_url.clone());
    let mut groups = Vec::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return groups,
            () = tokio::time::sleep(Duration::from_millis(300)) => {
                // A long hide, so anything taken stays out of the way.
                for taken in queue.receive(10, 0, 60).await.expect("rival receive") {
                    groups.push(taken.record.group_id.unwrap_or_default());
                }
            }
        }
    }
}

fn config(stack: &Stack) -> Config {
    let env: HashMap<String, String> = stack.function_env(&stack.endpoint).into_iter().collect();
    Config::from_lookup(|name| env.get(name).cloned()).expect("valid configuration")
}

#[tokio::test]
async fn a_step_slower_than_the_visibility_timeout_is_kept_hidden_and_done_once() {
    let stack = Stack::with_settings("slowstep", VISIBILITY).await;
    stack.send("g1", &book("1", "Slow", "scifi")).await;
    stack.send("g1", &book("2", "Next", "scifi")).await;
    let sdk = sdk_config(&stack.endpoint).await;
    let pipeline = shelver::aws::pipeline(&sdk, config(&stack)).with_step(SlowOn {
        title: "Slow",
        delay: Duration::from_secs(5),
    });
    let queue = InputQueue::new(stack.sqs.clone(), stack.resources.input_queue_url.clone());
    let batch = queue
        .receive(10, 1, VISIBILITY.visibility_timeout)
        .await
        .expect("receive");
    assert_eq!(batch.len(), 2);
    let records: Vec<_> = batch
        .iter()
        .map(|received| received.record.clone())
        .collect();

    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let work = async {
        let outcomes = pipeline.process_batch(&records, None).await;
        let _ = done_tx.send(());
        outcomes
    };
    let (outcomes, taken) = tokio::join!(
        work,
        rival(&stack, async {
            let _ = done_rx.await;
        })
    );

    assert!(outcomes.iter().all(Outcome::is_done), "{outcomes:?}");
    assert!(
        taken.is_empty(),
        "no second consumer got the group while it was processed: {taken:?}"
    );
    assert_eq!(
        stack.versions(stack.bucket("scifi")).await,
        2,
        "each record written once"
    );
}

#[tokio::test]
async fn the_consumer_keeps_a_slow_record_hidden_with_the_mappings_receipt_handle() {
    let stack = Stack::with_settings("heartbeat", VISIBILITY).await;
    let proxy = FaultProxy::start(&stack.endpoint).await;
    // A slow downstream: this record's write takes 5 s, over twice the timeout.
    proxy.inject(
        put_object_ending("/Slow.json"),
        Fault::Delay(Duration::from_secs(5)),
    );
    stack.send("g1", &book("1", "Slow", "scifi")).await;
    stack.send("g1", &book("2", "Next", "scifi")).await;
    let function = LambdaHost::start("shelver-consumer", &stack.function_env(&proxy.url)).await;
    let mapping = stack.mapping();

    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let work = async {
        let delivery = mapping
            .poll_once(&function)
            .await
            .expect("poll")
            .expect("a batch");
        let _ = done_tx.send(());
        delivery
    };
    let (delivery, taken) = tokio::join!(
        work,
        rival(&stack, async {
            let _ = done_rx.await;
        })
    );

    assert_eq!(delivery.records.len(), 2);
    assert!(delivery.retried.is_empty(), "{:?}", delivery.error);
    assert!(
        taken.is_empty(),
        "the slow record was handed out again: {taken:?}"
    );
    let slow_writes = proxy
        .seen()
        .iter()
        .filter(|seen| seen.method == "PUT" && seen.path.ends_with("/Slow.json"))
        .count();
    assert_eq!(slow_writes, 1, "processed once");
}

#[tokio::test]
async fn an_invocation_near_its_deadline_reports_what_it_did_not_start() {
    let stack = Stack::new("deadline").await;
    let proxy = FaultProxy::start(&stack.endpoint).await;
    // Each write takes 1 s, so ten records of one group need 10 s.
    proxy.inject(
        put_object_ending(".json"),
        Fault::Delay(Duration::from_secs(1)),
    );
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.push(
            stack
                .send(
                    "one-group",
                    &book(&n.to_string(), &format!("Step {n}"), "romance"),
                )
                .await,
        );
    }
    let function = LambdaHost::start("shelver-consumer", &stack.function_env(&proxy.url)).await;
    let mut mapping = stack.mapping();
    mapping.retry_delay_seconds = 0;

    // 4.5 s to the deadline, less the 2 s margin: time to start about three.
    function.shorten_next_deadline(Duration::from_millis(4500));
    let first = mapping
        .poll_once(&function)
        .await
        .expect("poll")
        .expect("a batch");

    assert_eq!(first.records.len(), 10);
    let started = 10 - first.retried.len();
    assert!(
        (1..10).contains(&started),
        "the batch was cut in the middle: {started} started"
    );
    assert_eq!(
        first.retried,
        ids[started..],
        "the unstarted records are the group's tail"
    );

    proxy.heal();
    while mapping.poll_once(&function).await.expect("poll").is_some() {}
    let keys = stack.keys(stack.bucket("romance")).await;
    assert_eq!(keys.len(), 10, "nothing lost: {keys:?}");
    assert_eq!(
        stack.versions(stack.bucket("romance")).await,
        10,
        "nothing written twice"
    );
    assert_eq!(stack.input_depth().await, 0);
}
