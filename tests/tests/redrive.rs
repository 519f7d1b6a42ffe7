//! Replaying dead letters: `shelver redrive` moves them back to the input
//! queue in order, by SQS's move task or by copying, and they are processed
//! again once the cause is fixed.

// Tests and their helpers fail by panicking.
#![allow(clippy::panic)]

use std::time::Duration;

use serde_json::json;
use shelver_cli::redrive::{Method, redrive};
use shelver_tests::emulator::Stack;
use shelver_tests::lambda_host::{LambdaHost, binary};

fn book(id: &str, title: &str, genre: &str) -> String {
    json!({"id": id, "title": title, "author": "A", "year": 2000, "genre": genre, "summary": "S"})
        .to_string()
}

async fn drain_through(stack: &Stack, env: &[(String, String)]) {
    let function = LambdaHost::start("shelver-consumer", env).await;
    stack.feed(&function).await;
}

async fn replay(copy: bool) {
    let stack = Stack::new(if copy { "copy" } else { "movetask" }).await;
    for n in 1..=3 {
        stack
            .send("g", &book(&n.to_string(), &format!("Horror {n}"), "horror"))
            .await;
    }
    let env = stack.function_env(&stack.endpoint);
    drain_through(&stack, &env).await;
    assert_eq!(
        shelver::queue::depth(&stack.sqs, &stack.resources.dead_letter_queue_url)
            .await
            .expect("depth")
            .visible,
        3
    );

    let moved = redrive(
        &stack.sqs,
        &stack.resources.dead_letter_queue_url,
        &stack.resources.input_queue_url,
        copy,
        |_, _| {},
    )
    .await
    .expect("redrive");

    assert_eq!(moved.messages, 3);
    assert_eq!(
        moved.method,
        if copy { Method::Copy } else { Method::MoveTask }
    );
    // The fix: horror now has a shelf.
    let mut fixed = env.clone();
    fixed.push(("GENRE_ALIASES".into(), "horror=romance".into()));
    drain_through(&stack, &fixed).await;
    let romance = stack.bucket("romance").to_owned();
    assert_eq!(
        stack.keys(&romance).await,
        ["Horror 1.json", "Horror 2.json", "Horror 3.json"]
    );
    let mut sequence = Vec::new();
    for n in 1..=3 {
        let (_, metadata) = stack
            .object(&romance, &format!("Horror {n}.json"))
            .await
            .expect("stored");
        sequence.push(
            metadata["sequence-number"]
                .parse::<u128>()
                .expect("a number"),
        );
    }
    assert!(
        sequence.windows(2).all(|pair| pair[0] < pair[1]),
        "replayed in order: {sequence:?}"
    );
    assert!(stack.dead_letters().await.is_empty());
}

#[tokio::test]
async fn a_move_task_replays_dead_letters_in_order() {
    replay(false).await;
}

#[tokio::test]
async fn copying_replays_dead_letters_in_order() {
    replay(true).await;
}

#[tokio::test]
async fn the_command_names_what_is_missing_or_unreachable() {
    let missing = tokio::process::Command::new(binary("shelver"))
        .args(["--endpoint-url", "http://127.0.0.1:9", "redrive"])
        .env_remove("INPUT_QUEUE_URL")
        .env_remove("DEAD_LETTER_QUEUE_URL")
        .output()
        .await
        .expect("run shelver");
    assert_eq!(missing.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--dead-letter-queue-url"));

    // Port 9 (discard) on loopback: nothing listens there.
    let unreachable = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(binary("shelver"))
            .args([
                "--endpoint-url",
                "http://127.0.0.1:9",
                "--queue-url",
                "http://127.0.0.1:9/q.fifo",
                "--dead-letter-queue-url",
                "http://127.0.0.1:9/d.fifo",
                "redrive",
            ])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .output(),
    )
    .await
    .expect("it gives up")
    .expect("run shelver");
    assert_eq!(unreachable.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert!(stderr.contains("GetQueueAttributes failed"), "{stderr}");
}

#[tokio::test]
async fn copying_ends_even_while_a_consumer_parks_the_replays_again() {
    let stack = Stack::new("copyloop").await;
    for n in 1..=3 {
        stack
            .send(
                "g",
                &book(&n.to_string(), &format!("Still Horror {n}"), "horror"),
            )
            .await;
    }
    let env = stack.function_env(&stack.endpoint);
    drain_through(&stack, &env).await;

    // A consumer keeps running, unfixed: every replay is parked again.
    let consumer = async {
        let function = LambdaHost::start("shelver-consumer", &env).await;
        let mapping = stack.mapping();
        loop {
            mapping.poll_once(&function).await.expect("poll");
        }
    };
    let redrive = tokio::time::timeout(
        Duration::from_secs(60),
        redrive(
            &stack.sqs,
            &stack.resources.dead_letter_queue_url,
            &stack.resources.input_queue_url,
            true,
            |_, _| {},
        ),
    );
    let moved = tokio::select! {
        moved = redrive => moved.expect("the redrive ended").expect("redrive"),
        () = consumer => unreachable!("the consumer loops forever"),
    };

    assert_eq!(
        moved.messages, 3,
        "only the letters parked before it started"
    );
}

#[tokio::test]
async fn a_replayed_old_version_does_not_replace_the_newer_one() {
    let stack = Stack::new("oldversion").await;
    let env = stack.function_env(&stack.endpoint);
    // The first edition is parked (its genre is not shelved yet)...
    stack
        .send(
            "dune",
            &book("1", "Dune", "horror").replace("\"S\"", "\"first edition\""),
        )
        .await;
    drain_through(&stack, &env).await;
    // ...then the second edition is stored.
    stack
        .send(
            "dune",
            &book("1", "Dune", "romance").replace("\"S\"", "\"second edition\""),
        )
        .await;
    drain_through(&stack, &env).await;

    redrive(
        &stack.sqs,
        &stack.resources.dead_letter_queue_url,
        &stack.resources.input_queue_url,
        false,
        |_, _| {},
    )
    .await
    .expect("redrive");
    let mut fixed = env.clone();
    fixed.push(("GENRE_ALIASES".into(), "horror=romance".into()));
    drain_through(&stack, &fixed).await;

    let (body, _) = stack
        .object(stack.bucket("romance"), "Dune.json")
        .await
        .expect("stored");
    assert!(
        body.contains("second edition"),
        "the newer edition stays current: {body}"
    );
    assert!(stack.dead_letters().await.is_empty());
}
