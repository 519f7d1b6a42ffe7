//! The consumer function, as built, fed real SQS batches from the emulator.

// Tests and their helpers fail by panicking.
#![allow(clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use shelver_tests::emulator::Stack;
use shelver_tests::fault_proxy::{Fault, FaultProxy, put_object_ending};
use shelver_tests::lambda_host::LambdaHost;

const CONSUMER: &str = "shelver-consumer";
const LOREM_IPSUM: &str = include_str!("../../events/books/lorem-ipsum.json");

fn book(id: &str, title: &str, genre: &str) -> Value {
    json!({
        "id": id,
        "title": title,
        "author": "Ann Author",
        "year": "2001",
        "genre": genre,
        "summary": format!("The story of {title}."),
    })
}

/// Receives exactly `count` messages from the input queue, as one SQS event.
async fn receive_event(stack: &Stack, count: usize) -> Value {
    let mut messages = Vec::new();
    for _ in 0..20 {
        messages.extend(stack.receive_input(1).await);
        if messages.len() >= count {
            break;
        }
    }
    assert_eq!(messages.len(), count, "every sent message is received");
    serde_json::to_value(stack.mapping().event(&messages)).expect("event serializes")
}

fn failures(answer: &Value) -> Vec<&str> {
    answer["batchItemFailures"]
        .as_array()
        .expect("a partial batch response")
        .iter()
        .filter_map(|failure| failure["itemIdentifier"].as_str())
        .collect()
}

#[tokio::test]
async fn the_original_example_is_stored_and_an_unknown_genre_is_dead_lettered() {
    let stack = Stack::new("example").await;
    let mut horror: Value = serde_json::from_str(LOREM_IPSUM).expect("fixture is JSON");
    horror["genre"] = json!("horror");
    let m1 = stack.send("books", LOREM_IPSUM.trim()).await;
    let m2 = stack.send("books", &horror.to_string()).await;
    let function = LambdaHost::start(CONSUMER, &stack.function_env(&stack.endpoint)).await;

    let answer = function
        .invoke(&receive_event(&stack, 2).await)
        .await
        .expect("no function error");

    assert_eq!(answer.to_string(), r#"{"batchItemFailures":[]}"#);
    let (body, metadata) = stack
        .object(stack.bucket("romance"), "LoremIpsum.json")
        .await
        .expect("LoremIpsum.json is in the romance bucket");
    let stored: Value = serde_json::from_str(&body).expect("the file is JSON");
    assert_eq!(stored["year"], 1960);
    assert_eq!(stored["message_id"], m1.as_str());
    assert_eq!(metadata["book-id"], "12345");
    let parked = stack.dead_letters().await;
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].attributes["SourceMessageId"], m2);
    assert_eq!(parked[0].group_id, "books");
    assert!(
        parked[0].attributes["ErrorReason"].contains(r#"unknown genre "horror""#),
        "{:?}",
        parked[0].attributes
    );
    assert_eq!(
        parked[0].body,
        horror.to_string(),
        "the body is parked unchanged"
    );
}

#[tokio::test]
async fn a_transient_failure_fails_its_record_and_the_rest_of_its_group() {
    let stack = Stack::new("transient").await;
    let proxy = FaultProxy::start(&stack.endpoint).await;
    proxy.inject(put_object_ending("/B.json"), Fault::Status(503));
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for (title, group, genre) in [
            ("A", "g1", "scifi"),
            ("B", "g1", "scifi"),
            ("C", "g1", "scifi"),
            ("D", "g2", "romance"),
        ] {
            ids.push(
                stack
                    .send(group, &book(title, title, genre).to_string())
                    .await,
            );
        }
        ids
    };
    let function = LambdaHost::start(CONSUMER, &stack.function_env(&proxy.url)).await;

    let answer = function
        .invoke(&receive_event(&stack, 4).await)
        .await
        .expect("no function error");

    assert_eq!(failures(&answer), [ids[1].as_str(), ids[2].as_str()]);
    assert_eq!(stack.keys(stack.bucket("scifi")).await, ["A.json"]);
    assert_eq!(stack.keys(stack.bucket("romance")).await, ["D.json"]);
    assert!(
        proxy
            .seen()
            .iter()
            .all(|seen| !seen.path.ends_with("/C.json")),
        "C is never attempted while B waits for its retry"
    );
}

#[tokio::test]
async fn lenient_records_are_stored_and_a_null_year_is_dead_lettered_naming_it() {
    let stack = Stack::new("lenient").await;
    let mut numeric_year = book("2", "Numeric Year", "scifi");
    numeric_year["year"] = json!(1960);
    let mut extra_field = book("3", "Extra Field", "scifi");
    extra_field["isbn"] = json!("978-0-00-000000-2");
    let mut null_year = book("4", "Null Year", "scifi");
    null_year["year"] = Value::Null;
    for record in [
        book("1", "Capitalised Genre", "Scifi"),
        numeric_year,
        extra_field,
        null_year,
    ] {
        stack.send("lenient", &record.to_string()).await;
    }
    let function = LambdaHost::start(CONSUMER, &stack.function_env(&stack.endpoint)).await;

    // The whole path: the queue, the event source mapping, the binary.
    stack.feed(&function).await;

    assert_eq!(
        stack.keys(stack.bucket("scifi")).await,
        [
            "Capitalised Genre.json",
            "Extra Field.json",
            "Numeric Year.json"
        ]
    );
    let (numeric, _) = stack
        .object(stack.bucket("scifi"), "Numeric Year.json")
        .await
        .expect("stored");
    assert!(numeric.contains("\"year\": 1960"), "{numeric}");
    let (extra, _) = stack
        .object(stack.bucket("scifi"), "Extra Field.json")
        .await
        .expect("stored");
    assert!(
        !extra.contains("isbn"),
        "unknown fields are dropped: {extra}"
    );
    let parked = stack.dead_letters().await;
    assert_eq!(parked.len(), 1);
    assert_eq!(
        parked[0].attributes["ErrorReason"],
        "field `year` must be a whole number or a string holding one, found null"
    );
    assert_eq!(stack.input_depth().await, 0, "the queue is empty");
}

#[tokio::test]
async fn titles_become_keys_by_the_documented_rule() {
    let stack = Stack::new("titles").await;
    let titles = [
        "../scifi/X",
        "a/b",
        "..",
        "Love + War",
        "Love  War",
        "Caf\u{e9}",
        "Cafe\u{301}",
    ];
    for (index, title) in titles.iter().enumerate() {
        // The two spellings of Café are one book: the second is a duplicate.
        let id = if title.starts_with("Caf") {
            "cafe".to_owned()
        } else {
            index.to_string()
        };
        stack
            .send("titles", &book(&id, title, "romance").to_string())
            .await;
    }
    let function = LambdaHost::start(CONSUMER, &stack.function_env(&stack.endpoint)).await;

    stack.feed(&function).await;

    assert_eq!(
        stack.keys(stack.bucket("romance")).await,
        [
            ".._scifi_X.json",
            "Caf\u{e9}.json",
            "Love  War.json",
            "Love + War.json",
            "a_b.json"
        ]
    );
    let parked = stack.dead_letters().await;
    assert_eq!(parked.len(), 1);
    assert_eq!(
        parked[0].attributes["ErrorReason"],
        r#"field `title` is invalid: ".." is not a usable file name"#
    );
}

#[tokio::test]
async fn an_endpoint_given_by_host_name_reaches_s3_by_path() {
    let stack = Stack::new("hostname").await;
    let by_name = stack.endpoint.replace("127.0.0.1", "localhost");
    assert_ne!(by_name, stack.endpoint, "the emulator URL names 127.0.0.1");
    stack
        .send("g", &book("1", "By Name", "scifi").to_string())
        .await;
    let function = LambdaHost::start(CONSUMER, &stack.function_env(&by_name)).await;

    let answer = function
        .invoke(&receive_event(&stack, 1).await)
        .await
        .expect("no function error");

    assert!(failures(&answer).is_empty(), "{answer}");
    assert_eq!(stack.keys(stack.bucket("scifi")).await, ["By Name.json"]);
}

#[tokio::test]
async fn a_missing_variable_stops_the_function_at_cold_start_naming_it() {
    let stack = Stack::new("config").await;
    let env: Vec<(String, String)> = stack
        .function_env(&stack.endpoint)
        .into_iter()
        .filter(|(name, _)| name != "GENRE_BUCKETS")
        .collect();

    let exited = LambdaHost::start(CONSUMER, &env)
        .await
        .exit(Duration::from_secs(20))
        .await;

    assert!(!exited.status.success(), "the function must not start");
    assert!(
        exited
            .logs
            .contains("environment variable GENRE_BUCKETS is not set"),
        "{}",
        exited.logs
    );
}

#[tokio::test]
async fn a_redelivered_record_is_acknowledged_without_a_second_write() {
    let stack = Stack::new("redelivery").await;
    stack
        .send("g", &book("1", "Once", "scifi").to_string())
        .await;
    let function = LambdaHost::start(CONSUMER, &stack.function_env(&stack.endpoint)).await;
    let event = receive_event(&stack, 1).await;

    let first = function.invoke(&event).await.expect("no function error");
    let again = function.invoke(&event).await.expect("no function error");

    assert!(failures(&first).is_empty() && failures(&again).is_empty());
    assert_eq!(
        stack.versions(stack.bucket("scifi")).await,
        1,
        "one write, one version"
    );
}

#[tokio::test]
async fn a_bad_record_too_big_to_park_with_its_reason_is_parked_without_and_its_group_goes_on() {
    let stack = Stack::new("bigpoison").await;
    // An unknown genre, with a body just under SQS's 1 MiB limit: with its
    // reason and origin attached it would no longer fit.
    let mut record = book("0", "Huge", "horror");
    record["summary"] = json!("");
    let padding = shelver::dead_letter::MAX_MESSAGE_BYTES - record.to_string().len() - 40;
    record["summary"] = json!("x".repeat(padding));
    let huge = record.to_string();
    assert!(huge.len() < shelver::dead_letter::MAX_MESSAGE_BYTES);
    stack.send("g", &huge).await;
    for n in 1..=9 {
        stack
            .send(
                "g",
                &book(&n.to_string(), &format!("After {n}"), "scifi").to_string(),
            )
            .await;
    }
    let function = LambdaHost::start(CONSUMER, &stack.function_env(&stack.endpoint)).await;

    stack.feed(&function).await;

    assert_eq!(
        stack.keys(stack.bucket("scifi")).await.len(),
        9,
        "the group went on"
    );
    let parked = stack.dead_letters().await;
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].body, huge, "parked unchanged");
    assert_eq!(stack.input_depth().await, 0);
}
