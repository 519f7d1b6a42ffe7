//! `shelver`: the operator's command line. The same flags work against AWS
//! and against a local emulator (`--endpoint-url http://127.0.0.1:4566`).

// This is a terminal program: its output is for the person running it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use shelver_cli::Error;
use shelver_cli::redrive::{Method, redrive};

/// Operate a Shelver deployment: its queues and buckets.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Send every AWS call here, for example `http://127.0.0.1:4566`.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    endpoint_url: Option<String>,

    /// The input queue's URL.
    #[arg(long, global = true, env = "INPUT_QUEUE_URL")]
    queue_url: Option<String>,

    /// The dead-letter queue's URL.
    #[arg(long, global = true, env = "DEAD_LETTER_QUEUE_URL")]
    dead_letter_queue_url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Move every dead letter back to the input queue, keeping group order.
    Redrive {
        /// Copy message by message instead of using an SQS message move task.
        #[arg(long)]
        copy: bool,
    },
}

/// Exit codes: 2 bad usage (clap's own), 3 missing setting, 4 AWS failure.
const MISSING_SETTING: u8 = 3;
const AWS_FAILURE: u8 = 4;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let sdk = load(cli.endpoint_url.as_deref()).await;
    let sqs = shelver::aws::sqs(&sdk);

    let result = match cli.command {
        Command::Redrive { copy } => {
            let (Some(input), Some(dead_letters)) = (cli.queue_url, cli.dead_letter_queue_url)
            else {
                eprintln!(
                    "shelver: redrive needs --queue-url and --dead-letter-queue-url (or INPUT_QUEUE_URL and DEAD_LETTER_QUEUE_URL)"
                );
                return ExitCode::from(MISSING_SETTING);
            };
            run_redrive(&sqs, &dead_letters, &input, copy).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("shelver: {err}");
            ExitCode::from(AWS_FAILURE)
        }
    }
}

async fn load(endpoint_url: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

async fn run_redrive(
    sqs: &aws_sdk_sqs::Client,
    dead_letters: &str,
    input: &str,
    copy: bool,
) -> Result<(), Error> {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("redriving");
    let moved = redrive(sqs, dead_letters, input, copy, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish_and_clear();
    let how = match moved.method {
        Method::MoveTask => "an SQS message move task",
        Method::Copy => "copying one message at a time",
    };
    println!(
        "moved {} dead letters back to the input queue, by {how}",
        moved.messages
    );
    Ok(())
}
