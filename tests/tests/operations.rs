//! What operators see: JSON logs with one outcome line per invocation and a
//! span per record, embedded metrics, and never a summary or a whole body.

// Tests and their helpers fail by panicking.
#![allow(clippy::panic)]

use serde_json::{Value, json};
use shelver_tests::emulator::Stack;
use shelver_tests::lambda_host::LambdaHost;

const SECRET: &str = "do-not-log-this-summary-7f3a";

fn book(id: &str, title: &str, genre: &str) -> String {
    json!({"id": id, "title": title, "author": "A", "year": 2000, "genre": genre, "summary": SECRET})
        .to_string()
}

/// Runs one batch (a good record, an unknown genre, and a body that is not
/// JSON) through the consumer with `extra` environment; returns its output.
async fn run_batch(prefix: &str, extra: &[(&str, &str)]) -> (Stack, String) {
    let stack = Stack::new(prefix).await;
    stack.send("g", &book("1", "Kept", "scifi")).await;
    stack.send("g", &book("2", "Parked", "horror")).await;
    stack.send("g", &format!("{{broken {SECRET}")).await;
    let mut env = stack.function_env(&stack.endpoint);
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let function = LambdaHost::start("shelver-consumer", &env).await;
    stack.feed(&function).await;
    // Give the log readers a moment to drain the pipes.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let logs = function.logs();
    (stack, logs)
}

#[tokio::test]
async fn logs_never_carry_a_summary_or_a_body_in_either_format() {
    for format in ["Text", "JSON"] {
        let (_, logs) = run_batch(
            "secrets",
            &[("AWS_LAMBDA_LOG_FORMAT", format), ("RUST_LOG", "debug")],
        )
        .await;

        assert!(
            logs.contains("dead-lettered"),
            "{format}: the run logged its outcomes"
        );
        assert!(
            !logs.contains(SECRET),
            "{format} logs leaked a summary or a body:\n{logs}"
        );
    }
}

#[tokio::test]
async fn json_logs_have_one_outcome_line_per_invocation_and_a_span_per_record() {
    let (_, logs) = run_batch("jsonlogs", &[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).await;
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();

    let outcome_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "batch processed")
        .collect();
    assert_eq!(outcome_lines.len(), 1, "one invocation, one outcome line");
    assert_eq!(outcome_lines[0]["level"], "INFO");
    assert_eq!(outcome_lines[0]["fields"]["records"], 3);
    assert_eq!(outcome_lines[0]["fields"]["stored"], 1);
    assert_eq!(outcome_lines[0]["fields"]["dead_lettered"], 2);

    let parked: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "dead-lettered")
        .collect();
    assert_eq!(parked.len(), 2, "each failure logged once");
    for line in parked {
        assert!(line["fields"]["reason"].is_string(), "{line}");
        assert!(
            line["span"]["message_id"].is_string(),
            "a record span with its message id: {line}"
        );
        assert_eq!(line["span"]["group_id"], "g");
    }
}

#[tokio::test]
async fn each_batch_emits_embedded_metrics_by_genre() {
    let (_, logs) = run_batch("metrics", &[]).await;
    let documents: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|document| document.get("_aws").is_some())
        .collect();

    let genre = |name: &str| {
        documents
            .iter()
            .find(|d| d["Genre"] == name)
            .unwrap_or_else(|| panic!("no metrics for {name}: {documents:?}"))
    };
    assert_eq!(genre("scifi")["Stored"], 1);
    assert_eq!(
        genre("unknown")["DeadLettered"],
        2,
        "horror and the broken body"
    );
    let timing = documents
        .iter()
        .find(|d| d.get("BatchDuration").is_some())
        .expect("a timing document");
    assert_eq!(timing["Function"], "consumer");
    assert_eq!(timing["RecordAge"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        timing["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Shelver"
    );
}

#[tokio::test]
async fn a_drain_answers_with_one_info_line_carrying_its_counts() {
    let stack = Stack::new("draininfo").await;
    stack.send("g", &book("1", "Drained", "scifi")).await;
    stack.send("g", &book("2", "Refused", "horror")).await;
    let mut env = stack.function_env(&stack.endpoint);
    env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
    let function = LambdaHost::start("shelver-http", &env).await;

    function
        .invoke(&shelver_tests::api_gateway::request("POST", "/", ""))
        .await
        .expect("no function error");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let info: Vec<Value> = function
        .logs()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["level"] == "INFO")
        .collect();
    assert_eq!(info.len(), 1, "one invocation, one info line: {info:?}");
    let line = &info[0];
    assert_eq!(line["fields"]["message"], "request answered", "{line}");
    assert_eq!(line["fields"]["status"], 200, "{line}");
    assert_eq!(line["span"]["received"], 2, "{line}");
    assert_eq!(line["span"]["stored"], 1, "{line}");
    assert_eq!(line["span"]["dead_lettered"], 1, "{line}");
}
