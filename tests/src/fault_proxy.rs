//! An HTTP proxy on 127.0.0.1 that sits between a function and the emulator
//! and, for the requests a test chooses, answers with an error status, drops
//! the connection, or adds latency. Everything else passes through unchanged.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// What the proxy does to a matching request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and an S3-style error body, without forwarding.
    Status(u16),
    /// Close the connection without answering.
    Reset,
    /// Forward after this delay.
    Delay(Duration),
}

/// The parts of a request a rule can look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The HTTP method.
    pub method: String,
    /// The path, percent-decoded (for S3: `/bucket/key`).
    pub path: String,
    /// The `X-Amz-Target` header (for SQS: `AmazonSQS.SendMessage`).
    pub target: String,
    /// The status the client got: the upstream's, or the injected one;
    /// `None` when the connection was dropped.
    pub status: Option<u16>,
}

type Matcher = Box<dyn Fn(&Seen) -> bool + Send + Sync>;

struct Rule {
    matches: Matcher,
    fault: Fault,
    remaining: Option<usize>,
    /// Chance to apply, in parts per thousand.
    per_mille: u32,
}

#[derive(Default)]
struct Shared {
    rules: Mutex<Vec<Rule>>,
    seen: Mutex<Vec<Seen>>,
    /// A seeded generator, so a run's faults can be replayed.
    random: Mutex<u64>,
}

/// A running proxy; it stops when dropped.
pub struct FaultProxy {
    /// The proxy's URL, to use as a function's `AWS_ENDPOINT_URL`.
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (for example the emulator's URL).
    ///
    /// # Panics
    ///
    /// When it cannot bind to 127.0.0.1 or `upstream` is not an `http://` URL.
    pub async fn start(upstream: &str) -> Self {
        let upstream: Uri = upstream.parse().expect("upstream is a URL");
        assert_eq!(
            upstream.scheme_str(),
            Some("http"),
            "the proxy forwards plain HTTP only"
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("bound address"));
        let shared = Arc::new(Shared::default());
        let client = Client::builder(TokioExecutor::new()).build(HttpConnector::new());

        let task = tokio::spawn(accept(listener, upstream, client, Arc::clone(&shared)));
        Self { url, shared, task }
    }

    /// Applies `fault` to every request for which `matches` is true.
    pub fn inject(&self, matches: impl Fn(&Seen) -> bool + Send + Sync + 'static, fault: Fault) {
        self.add(Box::new(matches), fault, None);
    }

    /// Applies `fault` to the next `times` matching requests only.
    pub fn inject_times(
        &self,
        matches: impl Fn(&Seen) -> bool + Send + Sync + 'static,
        fault: Fault,
        times: usize,
    ) {
        self.add(Box::new(matches), fault, Some(times));
    }

    /// Applies `fault` to about `per_mille` in a thousand matching requests,
    /// drawn from a generator seeded with `seed`.
    pub fn inject_fraction(
        &self,
        matches: impl Fn(&Seen) -> bool + Send + Sync + 'static,
        fault: Fault,
        per_mille: u32,
        seed: u64,
    ) {
        *lock(&self.shared.random) = seed.max(1);
        lock(&self.shared.rules).push(Rule {
            matches: Box::new(matches),
            fault,
            remaining: None,
            per_mille,
        });
    }

    /// Removes every rule.
    pub fn heal(&self) {
        lock(&self.shared.rules).clear();
    }

    /// Every request seen so far, in arrival order.
    #[must_use]
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.shared.seen).clone()
    }

    fn add(&self, matches: Matcher, fault: Fault, remaining: Option<usize>) {
        lock(&self.shared.rules).push(Rule {
            matches,
            fault,
            remaining,
            per_mille: 1000,
        });
    }
}

/// A matcher for S3 writes (`PUT`) whose key ends with `suffix`.
pub fn put_object_ending(suffix: &str) -> impl Fn(&Seen) -> bool + Send + Sync + 'static {
    let suffix = suffix.to_owned();
    move |seen: &Seen| seen.method == "PUT" && seen.path.ends_with(&suffix)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn accept(
    listener: TcpListener,
    upstream: Uri,
    client: Client<HttpConnector, Full<Bytes>>,
    shared: Arc<Shared>,
) {
    while let Ok((stream, _)) = listener.accept().await {
        let (upstream, client, shared) = (upstream.clone(), client.clone(), Arc::clone(&shared));
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                forward(
                    request,
                    upstream.clone(),
                    client.clone(),
                    Arc::clone(&shared),
                )
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The error returned to hyper to drop a connection unanswered.
#[derive(Debug)]
struct DroppedOnPurpose;

impl std::fmt::Display for DroppedOnPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fault proxy")
    }
}

impl std::error::Error for DroppedOnPurpose {}

async fn forward(
    request: Request<Incoming>,
    upstream: Uri,
    client: Client<HttpConnector, Full<Bytes>>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, DroppedOnPurpose> {
    let mut seen = Seen {
        method: request.method().to_string(),
        path: percent_decode(request.uri().path()),
        target: request
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        status: None,
    };
    let fault = choose_fault(&shared, &seen);
    match fault {
        Some(Fault::Reset) => {
            lock(&shared.seen).push(seen);
            return Err(DroppedOnPurpose);
        }
        Some(Fault::Status(status)) => {
            seen.status = Some(status);
            lock(&shared.seen).push(seen);
            return Ok(error_response(status));
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let answer = pass_through(request, &upstream, &client).await;
    seen.status = answer
        .as_ref()
        .ok()
        .map(|response| response.status().as_u16());
    // Recorded when answered, so the log's order is the order of commits.
    lock(&shared.seen).push(seen);
    answer
}

async fn pass_through(
    request: Request<Incoming>,
    upstream: &Uri,
    client: &Client<HttpConnector, Full<Bytes>>,
) -> Result<Response<Full<Bytes>>, DroppedOnPurpose> {
    let (mut parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|_| DroppedOnPurpose)?
        .to_bytes();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    parts.uri = format!("{upstream}{}", path_and_query.trim_start_matches('/'))
        .parse()
        .map_err(|_| DroppedOnPurpose)?;
    if let Some(authority) = upstream.authority().and_then(|a| a.as_str().parse().ok()) {
        parts.headers.insert(hyper::header::HOST, authority);
    }

    let response = client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(|_| DroppedOnPurpose)?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|_| DroppedOnPurpose)?
        .to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

fn choose_fault(shared: &Shared, seen: &Seen) -> Option<Fault> {
    let mut rules = lock(&shared.rules);
    for rule in rules.iter_mut() {
        if rule.remaining == Some(0) || !(rule.matches)(seen) {
            continue;
        }
        if rule.per_mille < 1000 && next_random(&shared.random) % 1000 >= u64::from(rule.per_mille)
        {
            continue;
        }
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining -= 1;
        }
        return Some(rule.fault);
    }
    None
}

/// xorshift64: small, fast, and the same sequence for the same seed.
fn next_random(state: &Mutex<u64>) -> u64 {
    let mut x = lock(state);
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn error_response(status: u16) -> Response<Full<Bytes>> {
    let code = if status == 503 {
        "SlowDown"
    } else {
        "InternalError"
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>injected by the fault proxy</Message></Error>"
    );
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
}

/// Decodes `%XX` escapes (S3 keys arrive percent-encoded in the path).
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escape = (bytes[index] == b'%')
            .then(|| path.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = escape {
            decoded.push(byte);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}
