//! The benchmark scenarios. Each creates its own queues and buckets in the
//! emulator, so no run sees another's leftovers.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_s3::primitives::ByteStream;
use futures_util::future::join_all;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shelver::{Config, Pipeline, S3Store, SqsDeadLetters};
use shelver_local::mapping::Invoke;
use shelver_tests::api_gateway;
use shelver_tests::emulator::{Stack, sdk_config};
use shelver_tests::lambda_host::LambdaHost;

use crate::{Failure, stats};

const GROUPS: usize = 50;

fn book(group: usize, index: usize) -> String {
    json!({
        "id": format!("{group}-{index}"),
        "title": format!("Book {group:03}-{index:05}"),
        "author": format!("Author {group}"),
        "year": 1950 + index % 70,
        "genre": if group.is_multiple_of(2) { "scifi" } else { "romance" },
        "summary": "A benchmark book whose summary is about as long as a real one, \
                    so that parsing, hashing and writing have their usual work to do.",
    })
    .to_string()
}

/// Sends `messages` books over `groups` groups, each group in order.
async fn fill(stack: &Stack, messages: usize, groups: usize) {
    let mut by_group: Vec<Vec<String>> = vec![Vec::new(); groups];
    for serial in 0..messages {
        by_group[serial % groups].push(book(serial % groups, serial / groups));
    }
    let sends =
        by_group
            .iter()
            .enumerate()
            .map(|(group, bodies)| async move {
                stack.send_in_order(&format!("g{group}"), bodies).await
            });
    join_all(sends).await;
}

async fn pipeline(stack: &Stack) -> Pipeline<S3Store, SqsDeadLetters> {
    let env: HashMap<String, String> = stack.function_env(&stack.endpoint).into_iter().collect();
    let config = Config::from_lookup(|name| env.get(name).cloned()).unwrap_or_else(|err| {
        unreachable!("the stack's own environment is valid: {err}");
    });
    shelver::aws::pipeline(&sdk_config(&stack.endpoint).await, config)
}

/// Shelver's consumer handler, called in process with the real AWS ports.
struct InProcess(Pipeline<S3Store, SqsDeadLetters>);

impl Invoke for InProcess {
    async fn invoke(&self, event: &SqsEvent) -> Result<SqsBatchResponse, shelver_local::Error> {
        let event = LambdaEvent::new(event.clone(), Context::default());
        shelver_consumer::handle(&self.0, event)
            .await
            .map_err(|err| shelver_local::Error::Invoke(err.to_string()))
    }
}

/// The API floor: the same calls at the same concurrency, with no logic.
/// Each record is one conditional `PutObject` of its raw body (no parsing,
/// routing, rendering or dead letters); message groups run concurrently and
/// records within a group one after another, as FIFO requires of Shelver.
struct Floor {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl Floor {
    async fn put(&self, record: &SqsMessage) -> Result<(), shelver_local::Error> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(format!(
                "{}.json",
                record.message_id.as_deref().unwrap_or_default()
            ))
            .body(ByteStream::from(
                record.body.clone().unwrap_or_default().into_bytes(),
            ))
            .if_none_match("*")
            .send()
            .await
            .map(|_| ())
            .map_err(|err| shelver_local::Error::Invoke(err.to_string()))
    }
}

impl Invoke for Floor {
    async fn invoke(&self, event: &SqsEvent) -> Result<SqsBatchResponse, shelver_local::Error> {
        let mut groups: Vec<(&str, Vec<&SqsMessage>)> = Vec::new();
        for record in &event.records {
            let group = record
                .attributes
                .get("MessageGroupId")
                .map_or("", String::as_str);
            match groups.iter_mut().find(|(id, _)| *id == group) {
                Some((_, records)) => records.push(record),
                None => groups.push((group, vec![record])),
            }
        }
        let runs = groups.iter().map(|(_, records)| async move {
            for record in records {
                self.put(record).await?;
            }
            Ok::<_, shelver_local::Error>(())
        });
        for run in join_all(runs).await {
            run?;
        }
        Ok(SqsBatchResponse::default())
    }
}

/// Runs `pollers` event source mapping stand-ins over the stack's queue until
/// `messages` records are acknowledged; returns messages per second.
async fn drive<I: Invoke>(
    stack: &Stack,
    invoker: &I,
    pollers: usize,
    messages: usize,
) -> Result<f64, Failure> {
    let done = AtomicUsize::new(0);
    let started = Instant::now();
    // Timed to the last acknowledgement, as the baselines are to their last
    // message: a poller's final empty poll is not work.
    let finished = std::sync::Mutex::new(started);
    let loops = (0..pollers).map(|_| {
        let mapping = stack.mapping();
        let (done, finished) = (&done, &finished);
        async move {
            while done.load(Ordering::Relaxed) < messages {
                if started.elapsed() > Duration::from_secs(900) {
                    return Err(shelver_local::Error::Invoke(
                        "the run did not finish".into(),
                    ));
                }
                if let Some(delivery) = mapping.poll_once(invoker).await? {
                    let acknowledged = delivery.records.len() - delivery.retried.len();
                    done.fetch_add(acknowledged, Ordering::Relaxed);
                    if let Ok(mut last) = finished.lock() {
                        *last = Instant::now();
                    }
                }
            }
            Ok(())
        }
    });
    for result in join_all(loops).await {
        result?;
    }
    let elapsed = finished
        .lock()
        .map_or_else(|_| started.elapsed(), |last| *last - started);
    Ok(count(messages) / elapsed.as_secs_f64())
}

#[allow(clippy::cast_precision_loss)]
fn count(n: usize) -> f64 {
    n as f64
}

#[derive(Clone, Copy)]
enum Engine {
    Shelver,
    Floor,
}

async fn throughput_once(engine: Engine, messages: usize, pollers: usize) -> Result<f64, Failure> {
    let stack = Stack::new("bench").await;
    fill(&stack, messages, GROUPS).await;
    match engine {
        Engine::Shelver => {
            drive(
                &stack,
                &InProcess(pipeline(&stack).await),
                pollers,
                messages,
            )
            .await
        }
        Engine::Floor => {
            let floor = Floor {
                s3: stack.s3.clone(),
                bucket: stack.bucket("scifi").to_owned(),
            };
            drive(&stack, &floor, pollers, messages).await
        }
    }
}

/// Concurrent pollers, standing in for the event source mapping's concurrency
/// (the template's `ConsumerMaximumConcurrency` defaults to 5).
const POLLERS: usize = 4;

/// Scenario 1: the consumer handler against the API floor.
pub async fn throughput(runs: usize, messages: usize) -> Result<Value, Failure> {
    eprintln!("bench: throughput, {messages} messages over {GROUPS} groups");
    throughput_once(Engine::Shelver, 100, POLLERS).await?;
    throughput_once(Engine::Floor, 100, POLLERS).await?;
    let (mut shelver, mut floor) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        shelver.push(throughput_once(Engine::Shelver, messages, POLLERS).await?);
        floor.push(throughput_once(Engine::Floor, messages, POLLERS).await?);
    }
    let (shelver, floor) = (stats(&shelver), stats(&floor));
    let ratio = shelver["median"].as_f64().unwrap_or(0.0) / floor["median"].as_f64().unwrap_or(1.0);
    Ok(json!({
        "messages": messages, "groups": GROUPS, "pollers": POLLERS,
        "shelver": shelver, "floor": floor, "ratio": ratio, "target": 0.8,
    }))
}

/// Runs `processes` copies of a Python baseline over a queue of `messages`
/// at once, each until the queue is empty; messages per second over the
/// slowest copy's own processing time (interpreter start-up excluded, as
/// Shelver's is).
async fn python_once(
    python: &Path,
    script: &str,
    messages: usize,
    processes: usize,
) -> Result<f64, Failure> {
    let stack = Stack::new("benchpy").await;
    fill(&stack, messages, GROUPS).await;
    let runs = (0..processes).map(|_| {
        tokio::process::Command::new(python)
            .arg(Path::new("bench/baselines").join(script))
            .args(["--endpoint", &stack.endpoint])
            .args(["--queue-url", &stack.resources.input_queue_url])
            .args(["--buckets", &stack.resources.genre_buckets()])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
    });
    let (mut done, mut slowest) = (0, 0.0_f64);
    for output in join_all(runs).await {
        let output = output?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(format!("{script} failed: {stderr}").into());
        }
        let result: Value = serde_json::from_slice(&output.stdout)?;
        done += result["messages"].as_u64().unwrap_or(0);
        slowest = slowest.max(result["seconds"].as_f64().unwrap_or(0.0));
    }
    if done != u64::try_from(messages)? {
        return Err(format!("{script} did {done} of {messages} messages").into());
    }
    Ok(count(messages) / slowest)
}

/// Scenario 2: the original design, two ways, against Shelver, all doing the
/// same job. Each runs as deployed: the listener as one loop (one Gunicorn
/// worker), the Powertools handler and Shelver behind event source mappings
/// with the same number of pollers.
pub async fn baselines(runs: usize, python: &Path, messages: usize) -> Result<Value, Failure> {
    eprintln!("bench: baselines, {messages} messages over {GROUPS} groups");
    python_once(python, "listener.py", 20, 1).await?;
    python_once(python, "powertools_fifo.py", 20, POLLERS).await?;
    let (mut shelver, mut listener, mut powertools) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        shelver.push(throughput_once(Engine::Shelver, messages, POLLERS).await?);
        listener.push(python_once(python, "listener.py", messages, 1).await?);
        powertools.push(python_once(python, "powertools_fifo.py", messages, POLLERS).await?);
    }
    let median = |runs: &[f64]| stats(runs)["median"].as_f64().unwrap_or(0.0);
    Ok(json!({
        "messages": messages, "groups": GROUPS, "pollers": POLLERS,
        "shelver": stats(&shelver), "listener": stats(&listener), "powertools": stats(&powertools),
        "ratio_listener": median(&shelver) / median(&listener),
        "ratio_powertools": median(&shelver) / median(&powertools),
        "target_listener": 5.0,
    }))
}

/// Scenario 3: one batch of 10 records in 10 groups, against one
/// `PutObject` round trip, and against ten concurrent ones (what the batch
/// must at least do).
pub async fn latency(iterations: usize) -> Result<Value, Failure> {
    eprintln!("bench: batch latency, {iterations} iterations");
    let stack = Stack::new("benchlat").await;
    let pipeline = pipeline(&stack).await;
    let mapping = stack.mapping();
    let (mut batch_ms, mut put_ms, mut ten_puts_ms) = (Vec::new(), Vec::new(), Vec::new());
    for iteration in 0..iterations + 3 {
        // Fresh groups each time: the last batch's messages stay in flight
        // (nothing deletes them here), and FIFO would hold their groups.
        for group in 0..10 {
            let group_id = format!("l{iteration}-{group}");
            stack.send(&group_id, &book(group, iteration)).await;
        }
        let mut messages = Vec::new();
        for _ in 0..30 {
            messages.extend(stack.receive_input(1).await);
            if messages.len() >= 10 {
                break;
            }
        }
        if messages.len() != 10 {
            return Err(format!("received {} of the batch's 10 messages", messages.len()).into());
        }
        let event = LambdaEvent::new(mapping.event(&messages), Context::default());

        let started = Instant::now();
        shelver_consumer::handle(&pipeline, event).await?;
        let batch = started.elapsed();

        let started = Instant::now();
        stack
            .s3
            .put_object()
            .bucket(stack.bucket("romance"))
            .key(format!("single-{iteration}.json"))
            .body(ByteStream::from(book(0, iteration).into_bytes()))
            .send()
            .await?;
        let put = started.elapsed();

        let started = Instant::now();
        let puts = (0..10).map(|n| {
            stack
                .s3
                .put_object()
                .bucket(stack.bucket("romance"))
                .key(format!("ten-{iteration}-{n}.json"))
                .body(ByteStream::from(book(n, iteration).into_bytes()))
                .send()
        });
        for put in join_all(puts).await {
            put?;
        }
        let ten_puts = started.elapsed();

        // The first three are the warm-up.
        if iteration >= 3 {
            batch_ms.push(batch.as_secs_f64() * 1000.0);
            put_ms.push(put.as_secs_f64() * 1000.0);
            ten_puts_ms.push(ten_puts.as_secs_f64() * 1000.0);
        }
    }
    let (batch, put, ten_puts) = (stats(&batch_ms), stats(&put_ms), stats(&ten_puts_ms));
    let median = |stat: &Value| stat["median"].as_f64().unwrap_or(0.0);
    Ok(json!({
        "batch_ms": batch, "put_ms": put, "ten_puts_ms": ten_puts,
        "ratio": median(&batch) / median(&put).max(f64::EPSILON),
        "ratio_ten_puts": median(&batch) / median(&ten_puts).max(f64::EPSILON),
        "target": 2.0,
    }))
}

/// Scenario 4a: process start to first invocation answered, through a local
/// Lambda Runtime API, for both functions and a hello-world function built
/// the same way. The invocations need no I/O (an empty SQS event, an unknown
/// path), so only start-up is measured.
pub async fn cold_start(release: &Path, runs: usize) -> Result<Value, Failure> {
    eprintln!("bench: cold start, {runs} runs per function");
    let stack = Stack::new("benchcold").await;
    let env = stack.function_env(&stack.endpoint);
    let contenders = [
        ("consumer", "shelver-consumer", json!({"Records": []})),
        (
            "http",
            "shelver-http",
            api_gateway::request("GET", "/nope", ""),
        ),
        ("hello", "hello", json!({"hello": "world"})),
    ];
    let mut times: HashMap<&str, Vec<f64>> = HashMap::new();
    for run in 0..=runs {
        for (label, binary, payload) in &contenders {
            let started = Instant::now();
            let host = LambdaHost::start_binary(&release.join(binary), binary, &env).await;
            let _answer = host.invoke(payload).await;
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            // Run 0 warms the page cache.
            if run > 0 {
                times.entry(label).or_default().push(elapsed);
            }
        }
    }
    let median = |label: &str| stats(&times[label])["median"].as_f64().unwrap_or(0.0);
    Ok(json!({
        "consumer": stats(&times["consumer"]),
        "http": stats(&times["http"]),
        "hello": stats(&times["hello"]),
        "ratio_consumer": median("consumer") / median("hello"),
        "ratio_http": median("http") / median("hello"),
        "target": 1.2,
    }))
}

/// Scenario 4b: each function's peak resident memory while it processes
/// `batches` batches of 10.
pub async fn memory(release: &Path, batches: usize) -> Result<Value, Failure> {
    eprintln!("bench: peak memory over {batches} batches");
    // A fresh stack holding `batches` batches, and `binary` started on it.
    let loaded = |prefix: &'static str, binary: &'static str| async move {
        let stack = Stack::new(prefix).await;
        fill(&stack, batches * 10, 100).await;
        let env = stack.function_env(&stack.endpoint);
        let function = LambdaHost::start_binary(&release.join(binary), binary, &env).await;
        (stack, function)
    };

    let (stack, consumer) = loaded("benchmem", "shelver-consumer").await;
    let mapping = stack.mapping();
    let mut delivered = 0;
    while delivered < batches {
        if mapping.poll_once(&consumer).await?.is_some() {
            delivered += 1;
        } else if stack.input_depth().await == 0 {
            break;
        }
    }
    let consumer_kib = consumer.peak_rss_kib().ok_or("no /proc for the consumer")?;

    let (_stack, http) = loaded("benchmemhttp", "shelver-http").await;
    let drain = api_gateway::request("POST", "/", "max_messages=10");
    for _ in 0..batches {
        http.invoke(&drain)
            .await
            .map_err(|e| format!("drain failed: {e}"))?;
    }
    let http_kib = http
        .peak_rss_kib()
        .ok_or("no /proc for the http function")?;
    Ok(json!({
        "batches": batches, "consumer_kib": consumer_kib, "http_kib": http_kib,
        "target_bytes": 32_000_000,
    }))
}

/// Scenario 5: the arm64 release bootstraps and zips `scripts/package.sh`
/// built.
pub fn sizes(release: &Path) -> Value {
    let target = release.parent().map(Path::to_path_buf).unwrap_or_default();
    let size = |path: std::path::PathBuf| std::fs::metadata(path).map(|m| m.len()).ok();
    let mut sizes = serde_json::Map::new();
    for function in ["shelver-consumer", "shelver-http"] {
        let binary = target
            .join("aarch64-unknown-linux-gnu/release")
            .join(function);
        let zip = target.join("lambda").join(function).join("bootstrap.zip");
        sizes.insert(
            function.into(),
            json!({"bootstrap": size(binary), "zip": size(zip)}),
        );
    }
    sizes.insert("target_zip".into(), json!(5_000_000));
    Value::Object(sizes)
}

/// The CPU's model name, from `/proc/cpuinfo`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|line| {
                line.strip_prefix("model name")
                    .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown".into())
}
