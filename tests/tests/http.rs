//! The HTTP function, as built, against the emulator: health, drain, budgets
//! and concurrent drains.

// Tests and their helpers fail by panicking.
#![allow(clippy::panic)]

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use shelver_tests::api_gateway::{request, response};
use shelver_tests::emulator::Stack;
use shelver_tests::fault_proxy::{Fault, FaultProxy, put_object_ending};
use shelver_tests::lambda_host::LambdaHost;

const HTTP: &str = "shelver-http";

fn book(id: &str, title: &str, genre: &str) -> String {
    json!({
        "id": id, "title": title, "author": "Ann Author", "year": 1999,
        "genre": genre, "summary": format!("About {title}."),
    })
    .to_string()
}

async fn call(function: &LambdaHost, method: &str, path: &str, query: &str) -> (u16, Value) {
    let answer = function
        .invoke(&request(method, path, query))
        .await
        .expect("no function error");
    response(&answer)
}

#[tokio::test]
async fn draining_25_messages_in_3_groups_stores_them_and_reports_it() {
    let stack = Stack::new("drain").await;
    let mut expected = BTreeSet::new();
    for n in 0..25 {
        let group = format!("g{}", n % 3);
        let genre = match n {
            7 | 19 => "horror",
            _ if n % 2 == 0 => "scifi",
            _ => "romance",
        };
        stack
            .send(
                &group,
                &book(&n.to_string(), &format!("Book {n:02}"), genre),
            )
            .await;
        if genre != "horror" {
            expected.insert((genre.to_owned(), format!("Book {n:02}.json")));
        }
    }
    let function = LambdaHost::start(HTTP, &stack.function_env(&stack.endpoint)).await;

    let (status, report) = call(&function, "POST", "/", "").await;

    assert_eq!(status, 200, "{report}");
    assert_eq!(report["received"], 25);
    for genre in ["scifi", "romance"] {
        let sent = expected.iter().filter(|(g, _)| g == genre).count();
        assert_eq!(
            report["stored"][stack.bucket(genre)],
            sent,
            "{genre}: {report}"
        );
    }
    let rejected = report["dead_lettered"].as_array().expect("a list");
    assert_eq!(rejected.len(), 2);
    assert!(
        rejected
            .iter()
            .all(|r| r["reason"].as_str().is_some_and(|t| t.contains("horror")))
    );
    assert_eq!(report["retried"], 0);
    assert_eq!(report["more"], false);
    assert!(report["elapsed_ms"].as_u64().is_some());

    let mut stored = BTreeSet::new();
    for genre in ["scifi", "romance"] {
        for key in stack.keys(stack.bucket(genre)).await {
            stored.insert((genre.to_owned(), key));
        }
    }
    assert_eq!(stored, expected);
    assert_eq!(stack.input_depth().await, 0);
    assert_eq!(stack.dead_letters().await.len(), 2);
}

#[tokio::test]
async fn get_on_the_root_reports_depths_and_drains_nothing() {
    let stack = Stack::new("status").await;
    stack.send("g", &book("1", "Waiting", "scifi")).await;
    let function = LambdaHost::start(HTTP, &stack.function_env(&stack.endpoint)).await;

    let (status, body) = call(&function, "GET", "/", "").await;

    assert_eq!(status, 200);
    assert_eq!(body["input_queue"]["visible"], 1);
    assert_eq!(stack.input_depth().await, 1, "the message is still there");
    assert!(stack.keys(stack.bucket("scifi")).await.is_empty());
}

#[tokio::test]
async fn health_names_a_deleted_bucket_and_recovers_once_it_is_restored() {
    let stack = Stack::new("health").await;
    let function = LambdaHost::start(HTTP, &stack.function_env(&stack.endpoint)).await;
    let romance = stack.bucket("romance").to_owned();

    let (healthy, body) = call(&function, "GET", "/health", "").await;
    assert_eq!(healthy, 200, "{body}");
    assert_eq!(body["status"], "ok");

    stack
        .s3
        .delete_bucket()
        .bucket(&romance)
        .send()
        .await
        .expect("delete the bucket");
    let (broken, body) = call(&function, "GET", "/health", "").await;
    assert_eq!(broken, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["bucket:romance"]["ok"], false);
    assert!(
        body["checks"]["bucket:romance"]["error"]
            .as_str()
            .is_some_and(|e| e.contains(&romance)),
        "{body}"
    );
    assert_eq!(body["checks"]["bucket:scifi"]["ok"], true);
    assert!(
        body["input_queue"]["visible"].is_u64(),
        "depths are still reported"
    );
    let (head, head_body) = call(&function, "HEAD", "/health", "").await;
    assert_eq!((head, head_body), (503, Value::Null));

    stack
        .s3
        .create_bucket()
        .bucket(&romance)
        .send()
        .await
        .expect("restore the bucket");
    let (restored, _) = call(&function, "GET", "/health", "").await;
    assert_eq!(restored, 200);
}

#[tokio::test]
async fn a_drain_out_of_time_hands_back_what_it_did_not_start() {
    let stack = Stack::new("budget").await;
    let proxy = FaultProxy::start(&stack.endpoint).await;
    // Every write takes 1.5 s: a slow processing step.
    proxy.inject(
        put_object_ending(".json"),
        Fault::Delay(Duration::from_millis(1500)),
    );
    for n in 0..6 {
        stack
            .send(
                "one-group",
                &book(&n.to_string(), &format!("Slow {n}"), "scifi"),
            )
            .await;
    }
    let function = LambdaHost::start(HTTP, &stack.function_env(&proxy.url)).await;

    let (status, report) = call(&function, "POST", "/", "max_seconds=1").await;

    assert_eq!(status, 200, "{report}");
    assert_eq!(report["stored"][stack.bucket("scifi")], 1, "{report}");
    assert_eq!(report["retried"], 5, "{report}");
    assert_eq!(report["more"], true);
    // Visible again at once: the next record of the group can be received now.
    let next = stack.receive_input(0).await;
    assert_eq!(
        next.len(),
        5,
        "the five unstarted records are visible immediately"
    );
    assert!(
        next[0]
            .body
            .as_deref()
            .is_some_and(|b| b.contains("Slow 1"))
    );
}

#[tokio::test]
async fn two_drains_at_once_give_each_message_one_result() {
    let stack = Stack::new("concurrent").await;
    for n in 0..40 {
        stack
            .send(
                &format!("g{}", n % 8),
                &book(&n.to_string(), &format!("Twice {n:02}"), "romance"),
            )
            .await;
    }
    let env = stack.function_env(&stack.endpoint);
    let (first, second) =
        tokio::join!(LambdaHost::start(HTTP, &env), LambdaHost::start(HTTP, &env));

    let ((_, a), (_, b)) = tokio::join!(
        call(&first, "POST", "/", ""),
        call(&second, "POST", "/", "")
    );

    let stored = |report: &Value| {
        report["stored"][stack.bucket("romance")]
            .as_u64()
            .unwrap_or(0)
    };
    assert_eq!(
        stored(&a) + stored(&b),
        40,
        "each message counted once: {a} {b}"
    );
    assert_eq!(stack.keys(stack.bucket("romance")).await.len(), 40);
    assert_eq!(
        stack.versions(stack.bucket("romance")).await,
        40,
        "no object was written twice"
    );
    assert_eq!(stack.input_depth().await, 0);
}

#[tokio::test]
async fn a_drain_never_stores_a_record_ahead_of_a_failed_one_in_its_group() {
    let stack = Stack::new("order").await;
    let proxy = FaultProxy::start(&stack.endpoint).await;
    proxy.inject(put_object_ending("Order First.json"), Fault::Status(503));
    stack
        .send_in_order(
            "mixed",
            &[
                book("1", "Order First", "romance"),
                book("2", "Order Second", "scifi"),
            ],
        )
        .await;
    let function = LambdaHost::start(HTTP, &stack.function_env(&proxy.url)).await;

    // Long enough for several receives: the emulator, unlike SQS, may hand
    // out a group's next message while the failed one is still in flight.
    let (status, report) = call(&function, "POST", "/", "max_seconds=6").await;

    assert_eq!(status, 200, "{report}");
    assert!(
        stack.keys(stack.bucket("scifi")).await.is_empty(),
        "the second book waits for the first: {report}"
    );
    assert_eq!(report["received"], 2, "{report}");
    assert_eq!(report["retried"], 2, "{report}");
    assert_eq!(report["stored"], json!({}), "{report}");
    assert_eq!(report["more"], true);

    // Both are hidden now, but not done: a drain that finds nothing visible
    // still says more is to come.
    let (_, again) = call(&function, "POST", "/", "max_seconds=1").await;
    assert_eq!(again["received"], 0, "{again}");
    assert_eq!(again["more"], true, "{again}");
}
