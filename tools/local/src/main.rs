//! `shelver-local`: the local run's helper.
//!
//! ```text
//! shelver-local provision --env-file PATH
//!     create the queues and buckets, write the functions' environment to PATH
//! shelver-local map --invoke URL [--function NAME] [--send DIR] [--no-poll]
//!     send DIR's sample records, then feed the input queue to the consumer
//!     until Ctrl-C, printing where each record went (with --no-poll, only
//!     send: the queue is left for the HTTP function's drain)
//! ```
//!
//! It talks to whatever `AWS_ENDPOINT_URL` names (the run command points it
//! at LocalStack on 127.0.0.1).

// This is a terminal program: its output is for the person running it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use shelver::GenreRoutes;
use shelver_local::mapping::{Delivery, EventSourceMapping, InvokeApi};
use shelver_local::resources::{Names, QueueSettings, provision, queue_arn};
use shelver_local::whereabouts::locate;

const USAGE: &str = "usage:
  shelver-local provision --env-file PATH
  shelver-local map --invoke URL [--function NAME] [--send DIR] [--no-poll]";

type Failure = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("provision") => run_provision(&args[1..]).await,
        Some("map") => run_map(&args[1..]).await,
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("shelver-local: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The value after `--name`, if given.
fn flag<'a>(args: &'a [String], name: &str) -> Result<Option<&'a str>, Failure> {
    match args.iter().position(|arg| arg == name) {
        None => Ok(None),
        Some(at) => match args.get(at + 1) {
            Some(value) => Ok(Some(value)),
            None => Err(format!("{name} needs a value\n{USAGE}").into()),
        },
    }
}

struct Clients {
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    region: String,
}

async fn clients() -> Clients {
    let sdk = shelver::aws::load().await;
    let region = sdk
        .region()
        .map_or_else(|| "us-east-1".to_owned(), ToString::to_string);
    Clients {
        sqs: shelver::aws::sqs(&sdk),
        s3: shelver::aws::s3(&sdk, true),
        region,
    }
}

async fn run_provision(args: &[String]) -> Result<(), Failure> {
    let env_file = flag(args, "--env-file")?.ok_or(USAGE)?;
    let aws = clients().await;

    let provisioned =
        provision(&aws.sqs, &aws.s3, Names::local(), QueueSettings::default()).await?;

    let mut lines: Vec<String> = provisioned
        .function_env()
        .into_iter()
        .map(|(name, value)| env_line(name, &value))
        .collect();
    for name in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        if let Ok(value) = std::env::var(name) {
            lines.push(env_line(name, &value));
        }
    }
    std::fs::write(env_file, lines.join("\n") + "\n")?;

    println!("queue        {}", provisioned.input_queue_url);
    println!("dead letters {}", provisioned.dead_letter_queue_url);
    for (genre, bucket) in &provisioned.names.buckets {
        println!("bucket       s3://{bucket} ({genre})");
    }
    Ok(())
}

/// One `NAME="value"` line, readable by both cargo-lambda and a shell.
fn env_line(name: &str, value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    format!("{name}=\"{escaped}\"")
}

async fn run_map(args: &[String]) -> Result<(), Failure> {
    let invoke = flag(args, "--invoke")?.ok_or(USAGE)?;
    let function = flag(args, "--function")?.unwrap_or("shelver-consumer");
    let aws = clients().await;
    let config = shelver::Config::from_env()?;
    let queue_url =
        shelver::config::required(|n| std::env::var(n).ok(), shelver::config::INPUT_QUEUE_URL)?;
    let queue_arn = queue_arn(&aws.sqs, &queue_url).await?;
    let max_receive_count = max_receive_count(&aws.sqs, &queue_url).await;

    let mut labels = HashMap::new();
    if let Some(dir) = flag(args, "--send")? {
        labels = send_samples(&aws.sqs, &queue_url, Path::new(dir)).await?;
    }

    if args.iter().any(|arg| arg == "--no-poll") {
        println!(
            "not feeding the queue to {function}: drain it with POST / on the HTTP function; Ctrl-C stops"
        );
        tokio::signal::ctrl_c().await?;
        return Ok(());
    }
    let mapping =
        EventSourceMapping::new(aws.sqs.clone(), queue_url, queue_arn, aws.region.clone());
    let consumer = InvokeApi::new(invoke, function)?;
    println!("feeding the input queue to {function}; Ctrl-C stops");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            polled = mapping.poll_once(&consumer) => match polled {
                Ok(Some(delivery)) => {
                    report(&delivery, &config.routes, &aws.s3, &labels, max_receive_count).await;
                }
                Ok(None) => {}
                Err(err) => {
                    eprintln!("polling failed: {err}; trying again in 2 s");
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                }
            },
        }
    }
}

/// The queue's redrive `maxReceiveCount`, if it has a redrive policy.
async fn max_receive_count(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Option<u32> {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .ok()?
        .attributes?;
    let policy = attributes.get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)?;
    let policy: serde_json::Value = serde_json::from_str(policy).ok()?;
    // SQS has returned the count both as a number and as a string.
    match &policy["maxReceiveCount"] {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Sends every `*.json` file in `dir`, in name order, to one message group.
/// Returns message id to file name, to label the report.
async fn send_samples(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    dir: &Path,
) -> Result<HashMap<String, String>, Failure> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();

    // A fresh deduplication id per run, so a second run within five minutes
    // is delivered too (and then found already stored).
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let mut labels = HashMap::new();
    for path in files {
        let body = std::fs::read_to_string(&path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sent = sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(body.trim_end())
            .message_group_id("samples")
            .message_deduplication_id(format!("{run}-{name}"))
            .send()
            .await
            .map_err(|e| shelver_local::Error::aws("SendMessage", e))?;
        let id = sent.message_id.unwrap_or_default();
        println!("{name:<24} sent");
        labels.insert(id, name);
    }
    Ok(labels)
}

/// Prints where each record of a delivery went.
async fn report(
    delivery: &Delivery,
    routes: &GenreRoutes,
    s3: &aws_sdk_s3::Client,
    labels: &HashMap<String, String>,
    max_receive_count: Option<u32>,
) {
    if let Some(err) = &delivery.error {
        println!("invocation failed, the batch will be retried: {err}");
    }
    for record in &delivery.records {
        let id = record.message_id.clone().unwrap_or_default();
        let label = labels
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("message {id}"));
        let retried = delivery.retried.contains(&id);
        let whereabouts = locate(s3, routes, record, retried, max_receive_count).await;
        println!("{label:<24} {whereabouts}");
    }
}
