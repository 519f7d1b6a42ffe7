//! `shelver`: the operator's command line. The same flags work against AWS
//! and against a local emulator (`--endpoint-url http://127.0.0.1:4566`).
//!
//! Exit codes: 0 done, 2 bad usage, 3 a missing setting, 4 AWS unreachable
//! or refusing (credentials, endpoint, permissions), 5 invalid input files.

// This is a terminal program: its output is for the person running it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use shelver::GenreRoutes;
use shelver_cli::redrive::{Method, redrive};
use shelver_cli::send::{read_inputs, send, validate};
use shelver_cli::status::status;

/// Operate a Shelver deployment: its queues and buckets.
#[derive(Debug, Parser)]
#[command(name = "shelver", version, about)]
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

    /// `genre=bucket` pairs, as the functions take them; used to check genres
    /// before sending and to count objects. Aliases come from
    /// `GENRE_ALIASES`, as for the functions.
    #[arg(long, global = true, env = "GENRE_BUCKETS")]
    genre_buckets: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate every record in FILES (JSON, JSON Lines, or folders of them),
    /// then send them to the input queue in batches of ten.
    Send {
        /// Files or folders to send.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One message group for everything, instead of one per object key
        /// (1 to 128 letters, digits or ASCII punctuation, as SQS requires).
        #[arg(long, value_parser = group_id)]
        group: Option<String>,
        /// Send the valid records even if some are invalid.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Show queue depths, the oldest message's age and object counts.
    Status,
    /// Move every dead letter back to the input queue, keeping group order.
    Redrive {
        /// Copy message by message instead of using an SQS message move task.
        #[arg(long)]
        copy: bool,
    },
}

/// Why the command failed, and its exit code.
enum Failure {
    Usage(String),
    Missing(&'static str),
    Aws(shelver_cli::Error),
    Invalid(String),
}

impl From<shelver_cli::Error> for Failure {
    fn from(error: shelver_cli::Error) -> Self {
        Self::Aws(error)
    }
}

/// Parses the genre routes; a bad value is a usage error naming the flag
/// and its variable.
fn genre_routes(spec: &str) -> Result<GenreRoutes, Failure> {
    let aliases = std::env::var("GENRE_ALIASES").ok();
    GenreRoutes::parse(
        ("--genre-buckets (GENRE_BUCKETS)", spec),
        ("GENRE_ALIASES", aliases.as_deref()),
    )
    .map_err(|e| match e {
        shelver::Error::InvalidVariable { variable, reason } => {
            Failure::Usage(format!("{variable} is invalid: {reason}"))
        }
        other => Failure::Usage(other.to_string()),
    })
}

/// Checks a message group id as SQS would, so a bad one is a usage error
/// before anything is sent.
fn group_id(value: &str) -> Result<String, String> {
    if let Some(c) = value.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "a group id takes letters, digits and ASCII punctuation only, not {c:?}"
        ));
    }
    // ASCII only from here: bytes are characters.
    if value.is_empty() || value.len() > 128 {
        return Err(format!(
            "a group id has 1 to 128 characters, not {}",
            value.len()
        ));
    }
    Ok(value.to_owned())
}

/// Prints a line to standard output; a reader that went away (`| head`)
/// ends the output, not the program.
macro_rules! say {
    ($($arg:tt)*) => {
        print_line(format_args!($($arg)*))
    };
}

fn print_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    writeln!(std::io::stdout(), "{line}").ok();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let (code, what) = match failure {
                Failure::Usage(what) => (2, what),
                Failure::Missing(what) => (3, what.to_owned()),
                Failure::Aws(error) => (4, error.to_string()),
                Failure::Invalid(report) => (5, report),
            };
            eprintln!("shelver: {what}");
            ExitCode::from(code)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    // An empty setting is a missing one.
    let given = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let routes = given(cli.genre_buckets)
        .map(|spec| genre_routes(&spec))
        .transpose()?;
    // Settings first, then the region: what is missing is named before any
    // AWS set-up. Only `send` works without the dead-letter queue.
    let dead_letters = given(cli.dead_letter_queue_url);
    if dead_letters.is_none() && !matches!(cli.command, Command::Send { .. }) {
        return Err(Failure::Missing(
            "no dead-letter queue: pass --dead-letter-queue-url or set DEAD_LETTER_QUEUE_URL",
        ));
    }
    let dead_letters = dead_letters.unwrap_or_default();
    let input = given(cli.queue_url).ok_or(Failure::Missing(
        "no input queue: pass --queue-url or set INPUT_QUEUE_URL",
    ))?;
    let sdk = load(cli.endpoint_url.as_deref()).await;
    if sdk.region().is_none() {
        return Err(Failure::Missing(
            "no AWS region: set AWS_REGION (or a region in the AWS profile)",
        ));
    }
    let sqs = shelver::aws::sqs(&sdk);

    match cli.command {
        Command::Send {
            files,
            group,
            skip_invalid,
        } => {
            run_send(
                &sqs,
                &input,
                &files,
                group.as_deref(),
                skip_invalid,
                routes.as_ref(),
            )
            .await
        }
        Command::Status => {
            let buckets: Vec<(String, String)> = routes
                .iter()
                .flat_map(GenreRoutes::routes)
                .map(|route| (route.genre.to_owned(), route.bucket.to_owned()))
                .collect();
            let s3 = shelver::aws::s3(&sdk, cli.endpoint_url.is_some());
            let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
            let snapshot = status(&sqs, &s3, &cloudwatch, &input, &dead_letters, &buckets).await?;
            print_status(&snapshot);
            Ok(())
        }
        Command::Redrive { copy } => run_redrive(&sqs, &dead_letters, &input, copy).await,
    }
}

async fn load(endpoint_url: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

fn bar(message: &'static str, length: u64) -> ProgressBar {
    let rate = |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
        write!(w, "{:.0}/s", state.per_sec()).ok();
    };
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({rate}, {eta} left)")
        .map_or_else(
            |_| ProgressStyle::default_bar(),
            |style| style.with_key("rate", rate),
        );
    let bar = ProgressBar::new(length).with_style(style);
    bar.set_message(message);
    bar
}

async fn run_send(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    files: &[PathBuf],
    group: Option<&str>,
    skip_invalid: bool,
    routes: Option<&GenreRoutes>,
) -> Result<(), Failure> {
    let (inputs, mut invalid) = read_inputs(files);
    let mut valid = Vec::with_capacity(inputs.len());
    for input in inputs {
        match validate(&input.body, routes) {
            Ok(()) => valid.push(input),
            Err(reason) => invalid.push(shelver_cli::send::Invalid {
                origin: input.origin,
                reason,
            }),
        }
    }
    if routes.is_none() {
        eprintln!("shelver: GENRE_BUCKETS is not set, so genres are not checked before sending");
    }
    if !invalid.is_empty() {
        let report: Vec<String> = invalid.iter().map(ToString::to_string).collect();
        let summary = format!(
            "{} invalid record(s):\n  {}",
            invalid.len(),
            report.join("\n  ")
        );
        if !skip_invalid {
            return Err(Failure::Invalid(format!(
                "{summary}\nnothing was sent (use --skip-invalid to send the rest)"
            )));
        }
        eprintln!("shelver: {summary}");
    }

    let progress = bar("sending", u64::try_from(valid.len()).unwrap_or(0));
    let sent = send(sqs, queue_url, &valid, group, |done| {
        progress.set_position(done);
    })
    .await;
    progress.finish_and_clear();
    let sent = sent?;
    say!("sent {sent} record(s), skipped {} invalid", invalid.len());
    Ok(())
}

fn print_status(snapshot: &shelver_cli::status::Status) {
    let depth =
        |d: &shelver::queue::Depth| format!("{} visible, {} in flight", d.visible, d.in_flight);
    say!("input queue        {}", depth(&snapshot.input_queue));
    say!("dead-letter queue  {}", depth(&snapshot.dead_letter_queue));
    if let Some(age) = snapshot.oldest_message_age {
        say!("oldest message     {} s", age.as_secs());
    } else {
        say!("oldest message     unknown (no CloudWatch data for the queue)");
    }
    for (genre, bucket, count) in &snapshot.buckets {
        match count {
            Ok(count) => say!("{genre:<18} {count} object(s) in s3://{bucket}"),
            Err(why) => say!("{genre:<18} s3://{bucket}: {why}"),
        }
    }
}

async fn run_redrive(
    sqs: &aws_sdk_sqs::Client,
    dead_letters: &str,
    input: &str,
    copy: bool,
) -> Result<(), Failure> {
    let progress = bar("redriving", 0);
    let moved = redrive(sqs, dead_letters, input, copy, |done, total| {
        progress.set_length(total);
        progress.set_position(done);
    })
    .await;
    progress.finish_and_clear();
    let moved = moved?;
    let how = match moved.method {
        Method::MoveTask => "an SQS message move task",
        Method::Copy => "copying one message at a time",
    };
    say!(
        "moved {} dead letter(s) back to the input queue, by {how}",
        moved.messages
    );
    Ok(())
}
