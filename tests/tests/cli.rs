//! The operator CLI against the emulator: send validates before sending,
//! status reads the deployment, and failures name their cause with distinct
//! exit codes.

// Tests and their helpers fail by panicking.
#![allow(clippy::panic)]

use std::path::PathBuf;
use std::process::Output;

use serde_json::json;
use shelver_tests::emulator::Stack;
use shelver_tests::lambda_host::binary;

fn book(id: usize, title: &str) -> String {
    json!({"id": id.to_string(), "title": title, "author": "A", "year": 2000, "genre": "scifi", "summary": "S"})
        .to_string()
}

fn scratch(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shelver-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a fixture");
    path
}

/// Runs `shelver ARGS` against `stack`, with the emulator's credentials.
async fn shelver(stack: &Stack, args: &[&str]) -> Output {
    command(stack, args).output().await.expect("run shelver")
}

/// `shelver ARGS`, set up for `stack`, to adjust before running.
fn command(stack: &Stack, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary("shelver"));
    command
        .args(args)
        .env("AWS_ENDPOINT_URL", &stack.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("INPUT_QUEUE_URL", &stack.resources.input_queue_url)
        .env(
            "DEAD_LETTER_QUEUE_URL",
            &stack.resources.dead_letter_queue_url,
        )
        .env("GENRE_BUCKETS", stack.resources.genre_buckets());
    command
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that `output` ended with `code` and said `needle` on stderr.
fn assert_failed(output: &Output, code: i32, needle: &str) {
    let said = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{said}");
    assert!(said.contains(needle), "expected {needle:?} in: {said}");
}

#[tokio::test]
async fn send_checks_every_record_first_and_names_bad_ones_by_line() {
    let stack = Stack::new("clisend").await;
    let lines = [
        book(1, "One"),
        "{broken".into(),
        book(3, "Three").replace("scifi", "horror"),
    ];
    let file = scratch("mixed.jsonl", &lines.join("\n"));
    let path = file.to_string_lossy().into_owned();

    let refused = shelver(&stack, &["send", &path]).await;

    assert_eq!(refused.status.code(), Some(5), "{}", stderr(&refused));
    let report = stderr(&refused);
    assert!(
        report.contains("mixed.jsonl:2: body is not valid JSON"),
        "{report}"
    );
    assert!(
        report.contains(r#"mixed.jsonl:3: field `genre` names unknown genre "horror""#),
        "{report}"
    );
    assert!(report.contains("nothing was sent"), "{report}");
    assert_eq!(stack.input_depth().await, 0);

    let partial = shelver(&stack, &["send", "--skip-invalid", &path]).await;

    assert_eq!(partial.status.code(), Some(0), "{}", stderr(&partial));
    assert_eq!(stack.input_depth().await, 1);
}

#[tokio::test]
async fn send_batches_records_and_groups_them_by_object_key() {
    let stack = Stack::new("cligroups").await;
    // 23 records, two of them writing the same file.
    let mut records: Vec<String> = (0..22).map(|n| book(n, &format!("Title {n}"))).collect();
    records.push(book(99, "Title 0"));
    let file = scratch("many.json", &format!("[{}]", records.join(",")));

    let sent = shelver(&stack, &["send", &file.to_string_lossy()]).await;

    assert_eq!(sent.status.code(), Some(0), "{}", stderr(&sent));
    assert!(String::from_utf8_lossy(&sent.stdout).contains("sent 23 record(s)"));
    assert_eq!(stack.input_depth().await, 23);
    let mut groups = std::collections::HashMap::new();
    for _ in 0..10 {
        for message in stack.receive_input(1).await {
            let group = message
                .attributes
                .as_ref()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                        .cloned()
                })
                .expect("a group");
            let body: serde_json::Value =
                serde_json::from_str(message.body.as_deref().unwrap_or_default()).expect("JSON");
            groups.insert(body["id"].as_str().unwrap_or_default().to_owned(), group);
        }
    }
    assert_eq!(groups.len(), 23);
    assert_eq!(groups["0"], groups["99"], "the same file, the same group");
    assert_ne!(groups["0"], groups["1"]);
}

#[tokio::test]
async fn status_reads_depths_and_object_counts() {
    let stack = Stack::new("clistatus").await;
    stack.send("g", &book(1, "Waiting")).await;
    stack
        .s3
        .put_object()
        .bucket(stack.bucket("scifi"))
        .key("Already.json")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"{}"))
        .send()
        .await
        .expect("put");

    let output = shelver(&stack, &["status"]).await;

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("input queue        1 visible, 0 in flight"),
        "{text}"
    );
    assert!(text.contains("dead-letter queue  0 visible"), "{text}");
    assert!(text.contains("oldest message     unknown"), "{text}");
    assert!(
        text.contains(&format!("1 object(s) in s3://{}", stack.bucket("scifi"))),
        "{text}"
    );
    assert!(
        text.contains(&format!("0 object(s) in s3://{}", stack.bucket("romance"))),
        "{text}"
    );
}

#[tokio::test]
async fn failures_are_named_with_their_own_exit_codes() {
    let stack = Stack::new("clierrors").await;

    let missing_file = shelver(&stack, &["send", "/nonexistent/books.json"]).await;
    assert_eq!(missing_file.status.code(), Some(5));
    assert!(stderr(&missing_file).contains("/nonexistent/books.json: cannot be read"));

    let home = std::env::temp_dir().join(format!("shelver-no-creds-{}", std::process::id()));
    std::fs::create_dir_all(&home).expect("an empty home");
    let no_credentials = tokio::process::Command::new(binary("shelver"))
        .args(["status"])
        .env_clear()
        .env("HOME", &home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", &stack.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("INPUT_QUEUE_URL", &stack.resources.input_queue_url)
        .env(
            "DEAD_LETTER_QUEUE_URL",
            &stack.resources.dead_letter_queue_url,
        )
        .output()
        .await
        .expect("run shelver");
    assert_eq!(
        no_credentials.status.code(),
        Some(4),
        "{}",
        stderr(&no_credentials)
    );
    assert!(
        stderr(&no_credentials)
            .to_lowercase()
            .contains("credentials"),
        "{}",
        stderr(&no_credentials)
    );
}

#[tokio::test]
async fn bad_group_ids_bad_routes_and_a_missing_region_are_caught_before_sending() {
    let stack = Stack::new("cliusage").await;
    let file = scratch("usage.jsonl", &book(1, "Usage"));
    let path = file.to_string_lossy().into_owned();
    let long = "g".repeat(129);

    for group in ["", "snow☃man", "with space", long.as_str()] {
        let refused = shelver(&stack, &["send", "--group", group, &path]).await;
        assert_failed(&refused, 2, "group id");
    }
    let bad_routes = shelver(&stack, &["send", "--genre-buckets", "scifi", &path]).await;
    assert_failed(&bad_routes, 2, "--genre-buckets");
    let home = std::env::temp_dir().join(format!("shelver-no-region-{}", std::process::id()));
    std::fs::create_dir_all(&home).expect("an empty home");
    let no_region = command(&stack, &["send", &path])
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env("HOME", &home)
        .output()
        .await
        .expect("run shelver");
    assert_failed(&no_region, 3, "AWS_REGION");
    assert_eq!(stack.input_depth().await, 0, "nothing was sent");
}

#[tokio::test]
async fn large_records_are_sent_in_smaller_batches() {
    let stack = Stack::new("clisize").await;
    // Ten records of 120 KB: one batch of ten would exceed SQS's 1 MiB.
    let lines: Vec<String> = (0..10)
        .map(|n| {
            json!({"id": n.to_string(), "title": format!("Big {n}"), "author": "A",
                   "year": 2000, "genre": "scifi", "summary": "s".repeat(120_000)})
            .to_string()
        })
        .collect();
    let file = scratch("big.jsonl", &lines.join("\n"));

    let sent = shelver(&stack, &["send", &file.to_string_lossy()]).await;

    assert_eq!(sent.status.code(), Some(0), "{}", stderr(&sent));
    assert_eq!(stack.input_depth().await, 10);
}

#[tokio::test]
async fn status_into_a_closed_pipe_ends_quietly() {
    let stack = Stack::new("clipipe").await;
    let mut child = command(&stack, &["status"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run shelver");
    // The reader goes away before anything is printed, as `| head -0` would.
    drop(child.stdout.take());

    let output = child.wait_with_output().await.expect("shelver ends");

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
}
