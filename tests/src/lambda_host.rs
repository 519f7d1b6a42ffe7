//! A minimal Lambda Runtime API on 127.0.0.1 that runs a real function binary
//! and invokes it the way the Lambda service does: the function asks for the
//! next event, the host answers with one invocation, the function posts the
//! response or an error.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::{Mutex, mpsc, oneshot, watch};

/// What a function answered.
pub type Answer = Result<serde_json::Value, serde_json::Value>;

struct Invocation {
    id: String,
    payload: Vec<u8>,
    deadline: SystemTime,
    reply: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct State {
    pending: Mutex<Option<mpsc::Receiver<Invocation>>>,
    replies: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    init_error: Mutex<Option<serde_json::Value>>,
}

/// How a function process ended.
#[derive(Debug)]
pub struct Exited {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it wrote to stdout and stderr.
    pub logs: String,
    /// The error it posted to the Runtime API's init error route, if any.
    pub init_error: Option<serde_json::Value>,
}

/// A running function and the Runtime API it polls. Dropping it kills the
/// function's process.
pub struct LambdaHost {
    invocations: mpsc::Sender<Invocation>,
    state: Arc<State>,
    next_id: AtomicU64,
    exited: watch::Receiver<Option<ExitStatus>>,
    _kill: oneshot::Sender<()>,
    logs: Arc<std::sync::Mutex<String>>,
    pid: Option<u32>,
    /// A shorter deadline for the next invocation only.
    next_timeout: std::sync::Mutex<Option<Duration>>,
    /// How long each invocation may run; reported to the function as its deadline.
    pub timeout: Duration,
}

/// The path of a workspace binary built next to this test executable.
///
/// # Panics
///
/// When the binary has not been built: the test command builds it first.
#[must_use]
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("the test runs from target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --workspace --bins` (the test command does)",
        path.display()
    );
    path
}

impl LambdaHost {
    /// Starts the Runtime API and the binary `name` with `env` (and nothing of
    /// this process's environment).
    ///
    /// # Panics
    ///
    /// When the server cannot bind or the binary cannot start.
    pub async fn start(name: &str, env: &[(String, String)]) -> Self {
        Self::start_binary(&binary(name), name, env).await
    }

    /// As [`LambdaHost::start`], for the binary at `path`.
    ///
    /// # Panics
    ///
    /// When the server cannot bind or the binary cannot start.
    pub async fn start_binary(
        path: &std::path::Path,
        name: &str,
        env: &[(String, String)],
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Runtime API");
        let address = listener.local_addr().expect("bound address");
        let (invocations, pending) = mpsc::channel(16);
        let state = Arc::new(State {
            pending: Mutex::new(Some(pending)),
            ..State::default()
        });
        tokio::spawn(serve(listener, Arc::clone(&state)));

        let mut child = Command::new(path)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the function binary");

        let pid = child.id();
        let logs = Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(collect(stdout, Arc::clone(&logs)));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(collect(stderr, Arc::clone(&logs)));
        }

        let (kill, killed) = oneshot::channel::<()>();
        let (exit_sender, exited) = watch::channel(None);
        tokio::spawn(async move {
            tokio::select! {
                status = child.wait() => {
                    let _ = exit_sender.send(status.ok());
                }
                _ = killed => {
                    let _ = child.kill().await;
                }
            }
        });

        Self {
            invocations,
            state,
            next_id: AtomicU64::new(0),
            exited,
            _kill: kill,
            logs,
            pid,
            next_timeout: std::sync::Mutex::new(None),
            timeout: Duration::from_secs(60),
        }
    }

    /// Invokes the function with `payload` and waits for its answer.
    ///
    /// # Errors
    ///
    /// The error document the function posted, when it failed the invocation.
    ///
    /// # Panics
    ///
    /// When the function exits or does not answer within its timeout.
    pub async fn invoke(&self, payload: &serde_json::Value) -> Answer {
        let number = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (reply, answer) = oneshot::channel();
        let timeout = self
            .next_timeout
            .lock()
            .ok()
            .and_then(|mut next| next.take())
            .unwrap_or(self.timeout);
        let invocation = Invocation {
            id: format!("request-{number}"),
            payload: serde_json::to_vec(payload).expect("payload serializes"),
            deadline: SystemTime::now() + timeout,
            reply,
        };
        self.invocations
            .send(invocation)
            .await
            .expect("the Runtime API is up");

        let mut exited = self.exited.clone();
        tokio::select! {
            answer = answer => answer.expect("the host keeps the reply channel"),
            status = exited.wait_for(Option::is_some) => {
                panic!("the function exited during an invocation: {:?}", status.map(|s| *s))
            }
            () = tokio::time::sleep(self.timeout + Duration::from_secs(5)) => {
                panic!("the function did not answer within {:?}", self.timeout)
            }
        }
    }

    /// Gives the next invocation only `timeout` before its deadline (the host
    /// still waits the usual time for its answer).
    pub fn shorten_next_deadline(&self, timeout: Duration) {
        if let Ok(mut next) = self.next_timeout.lock() {
            *next = Some(timeout);
        }
    }

    /// The function's peak resident memory so far, in KiB (`VmHWM`), while it
    /// runs; `None` where `/proc` cannot tell.
    #[must_use]
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid?)).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Everything the function has written to stdout and stderr so far.
    #[must_use]
    pub fn logs(&self) -> String {
        self.logs
            .lock()
            .map(|logs| logs.clone())
            .unwrap_or_default()
    }

    /// Waits for the process to exit (for functions that must fail at start).
    ///
    /// # Panics
    ///
    /// When it is still running after `limit`.
    pub async fn exit(self, limit: Duration) -> Exited {
        let mut exited = self.exited.clone();
        let status = tokio::time::timeout(limit, exited.wait_for(Option::is_some))
            .await
            .expect("the function should have exited")
            .map(|status| status.expect("an exit status"))
            .expect("the process watcher is running");
        // The exit can be seen before the readers have drained the pipes.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Exited {
            status,
            logs: self.logs(),
            init_error: self.state.init_error.lock().await.take(),
        }
    }
}

impl shelver_local::mapping::Invoke for LambdaHost {
    async fn invoke(&self, event: &SqsEvent) -> Result<SqsBatchResponse, shelver_local::Error> {
        let payload = serde_json::to_value(event).expect("an SQS event serializes");
        match LambdaHost::invoke(self, &payload).await {
            Ok(answer) => serde_json::from_value(answer)
                .map_err(|e| shelver_local::Error::Invoke(format!("not a batch response: {e}"))),
            Err(error) => Err(shelver_local::Error::Invoke(error.to_string())),
        }
    }
}

/// Copies a function's output into `logs`, and on to this process's stderr so
/// a failing test shows it.
async fn collect(stream: impl tokio::io::AsyncRead + Unpin, logs: Arc<std::sync::Mutex<String>>) {
    use tokio::io::AsyncBufReadExt as _;

    let mut lines = tokio::io::BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("[function] {line}");
        if let Ok(mut logs) = logs.lock() {
            logs.push_str(&line);
            logs.push('\n');
        }
    }
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    while let Ok((stream, _)) = listener.accept().await {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&state), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn reply(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let json = || serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let parts: Vec<&str> = path
        .trim_start_matches("/2018-06-01/runtime/")
        .split('/')
        .collect();

    match parts.as_slice() {
        ["invocation", "next"] => Ok(next(&state).await),
        ["invocation", id, outcome @ ("response" | "error")] => {
            let answer = if *outcome == "response" {
                Ok(json())
            } else {
                Err(json())
            };
            if let Some(waiter) = state.replies.lock().await.remove(*id) {
                let _ = waiter.send(answer);
            }
            Ok(reply(StatusCode::ACCEPTED, b"{}".to_vec()))
        }
        ["init", "error"] => {
            *state.init_error.lock().await = Some(json());
            Ok(reply(StatusCode::ACCEPTED, b"{}".to_vec()))
        }
        _ => Ok(reply(StatusCode::NOT_FOUND, b"{}".to_vec())),
    }
}

async fn next(state: &State) -> Response<Full<Bytes>> {
    // One function process polls at a time, as on Lambda.
    let mut receiver = state.pending.lock().await;
    let Some(invocation) = (match receiver.as_mut() {
        Some(pending) => pending.recv().await,
        None => None,
    }) else {
        return reply(StatusCode::GONE, b"{}".to_vec());
    };

    state
        .replies
        .lock()
        .await
        .insert(invocation.id.clone(), invocation.reply);
    let deadline_ms = invocation
        .deadline
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let mut response = reply(StatusCode::OK, invocation.payload);
    let headers = response.headers_mut();
    let values = [
        ("lambda-runtime-aws-request-id", invocation.id),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:000000000000:function:test".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000".to_owned(),
        ),
    ];
    for (name, value) in values {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    }
    response
}
