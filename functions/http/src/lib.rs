//! The HTTP function behind API Gateway (REST or HTTP API, payload v1 or v2):
//!
//! - `GET /health` (and `HEAD`): checks the configuration, the queues and the
//!   buckets, concurrently and each within a short timeout; `200` when all
//!   pass, `503` naming what failed. The body carries the queues' depths.
//! - `GET /` (and `HEAD`): the queues' depths, with no side effects.
//! - `POST /`: drains the input queue through the same pipeline as the
//!   consumer, within a time budget, and reports what happened.
//!
//! A stage prefix (`/prod/health`) and a trailing slash route like the bare
//! path. Other methods get `405` with `Allow`, unknown paths `404`, malformed
//! query values `400` naming the parameter.

pub mod backend;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt as _, Response};
use serde::Serialize;
use serde_json::json;
use shelver::drain::{DrainLimits, DrainReport};
use shelver::queue::Depth;
use tracing::field::Empty;
use tracing::{Instrument as _, Span, info, info_span};

/// The longest drain: below API Gateway's 30-second integration timeout, with
/// room to answer.
pub const DRAIN_BUDGET: Duration = Duration::from_secs(25);

/// Time kept back from the function's own deadline when sizing a drain.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(3);

/// The most messages one drain receives unless `max_messages` says fewer.
pub const DEFAULT_MAX_MESSAGES: usize = 10_000;

/// One health check's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Whether the dependency answered as expected.
    pub ok: bool,
    /// Why not, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Check {
    /// A passing check.
    #[must_use]
    pub fn pass() -> Self {
        Self {
            ok: true,
            error: None,
        }
    }

    /// A failing check with its reason.
    #[must_use]
    pub fn fail(error: impl Into<String>) -> Self {
        Self {
            ok: false,
            error: Some(error.into()),
        }
    }
}

/// The queues' depths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueStatus {
    /// The input queue.
    pub input_queue: Depth,
    /// The dead-letter queue.
    pub dead_letter_queue: Depth,
}

/// Every check by name, and the depths when the queues answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// Check name (`configuration`, `input_queue`, `bucket:scifi`, ...) to result.
    pub checks: BTreeMap<String, Check>,
    /// The input queue's depth, if it answered.
    pub input_queue: Option<Depth>,
    /// The dead-letter queue's depth, if it answered.
    pub dead_letter_queue: Option<Depth>,
}

impl Health {
    /// Whether every check passed.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.values().all(|check| check.ok)
    }
}

/// What the routes need from the outside world.
pub trait Backend: Send + Sync {
    /// Runs every health check.
    fn health(&self) -> impl Future<Output = Health> + Send;

    /// Reads the queues' depths.
    ///
    /// # Errors
    ///
    /// Why the queues could not be read (safe to show to a caller).
    fn status(&self) -> impl Future<Output = Result<QueueStatus, String>> + Send;

    /// Drains the input queue within `limits`.
    ///
    /// # Errors
    ///
    /// Why the drain could not run or stopped (safe to show to a caller).
    fn drain(
        &self,
        limits: DrainLimits,
    ) -> impl Future<Output = Result<DrainReport, String>> + Send;
}

/// Answers one request, with one `info` line saying how (a drain's counts
/// included).
pub async fn handle<B: Backend>(backend: &B, request: Request) -> Response<Body> {
    let span = info_span!(
        "request",
        received = Empty,
        stored = Empty,
        dead_lettered = Empty,
        retried = Empty,
        more = Empty
    );
    answer(backend, request).instrument(span).await
}

async fn answer<B: Backend>(backend: &B, request: Request) -> Response<Body> {
    let path = route_path(&request);
    let method = request.method().as_str();
    let head = method == "HEAD";

    let response = match (path.as_str(), method) {
        ("/health", "GET" | "HEAD") => health(backend).await,
        ("/health", _) => not_allowed("GET, HEAD"),
        ("/", "GET" | "HEAD") => status(backend).await,
        ("/", "POST") => match drain_limits(&request, SystemTime::now()) {
            Ok(limits) => drain(backend, limits).await,
            Err(message) => reply(400, &json!({ "error": message })),
        },
        ("/", _) => not_allowed("GET, HEAD, POST"),
        _ => reply(404, &json!({ "error": format!("no route for {path}") })),
    };
    info!(
        method,
        path = %shelver::error::shorten(&path, 64),
        status = response.status().as_u16(),
        "request answered"
    );
    if head {
        without_body(response)
    } else {
        response
    }
}

async fn health<B: Backend>(backend: &B) -> Response<Body> {
    let health = backend.health().await;
    let (code, status) = if health.is_ok() {
        (200, "ok")
    } else {
        (503, "unavailable")
    };
    reply(
        code,
        &json!({
            "status": status,
            "checks": health.checks,
            "input_queue": health.input_queue,
            "dead_letter_queue": health.dead_letter_queue,
        }),
    )
}

async fn status<B: Backend>(backend: &B) -> Response<Body> {
    match backend.status().await {
        Ok(status) => reply(200, &status),
        Err(error) => reply(503, &json!({ "error": error })),
    }
}

async fn drain<B: Backend>(backend: &B, limits: DrainLimits) -> Response<Body> {
    match backend.drain(limits).await {
        Ok(report) => {
            let span = Span::current();
            span.record("received", report.received);
            span.record("stored", report.stored_total());
            span.record("dead_lettered", report.dead_lettered.len());
            span.record("retried", report.retried);
            span.record("more", report.more);
            reply(200, &report)
        }
        Err(error) => reply(503, &json!({ "error": error })),
    }
}

/// The path without the API Gateway stage prefix and without a trailing slash.
fn route_path(request: &Request) -> String {
    let path = request.uri().path();
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.clone(),
        Some(RequestContext::ApiGatewayV1(context)) => context.stage.clone(),
        _ => None,
    };
    let unstaged = stage
        .filter(|stage| stage != "$default")
        .and_then(|stage| {
            let rest = path.strip_prefix('/')?.strip_prefix(stage.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then_some(rest)
        })
        .unwrap_or(path);
    let trimmed = unstaged.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.into()
    }
}

/// The drain's limits from the query string and the function's deadline.
fn drain_limits(request: &Request, now: SystemTime) -> Result<DrainLimits, String> {
    let query = request.query_string_parameters();
    let whole = |name: &str| -> Result<Option<u64>, String> {
        let values = query.all(name).unwrap_or_default();
        let raw = match values.as_slice() {
            [] => return Ok(None),
            [raw] => raw.trim(),
            _ => return Err(format!("query parameter `{name}` is given more than once")),
        };
        let digits = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
        match raw.parse::<u64>() {
            Ok(value) if value > 0 => Ok(Some(value)),
            // Too many digits for u64: far above every cap anyway.
            Err(_) if digits => Ok(Some(u64::MAX)),
            _ => Err(format!(
                "query parameter `{name}` must be a whole number from 1, found {:?}",
                shelver::error::shorten(raw, 32)
            )),
        }
    };
    let max_seconds = whole("max_seconds")?;
    let max_messages = whole("max_messages")?;

    let mut budget = DRAIN_BUDGET;
    if let Some(seconds) = max_seconds {
        budget = budget.min(Duration::from_secs(seconds));
    }
    let deadline_ms = request
        .lambda_context_ref()
        .map_or(0, |context| context.deadline);
    if let Some(left) = shelver::deadline::remaining(deadline_ms, now) {
        budget = budget.min(left.saturating_sub(DEADLINE_MARGIN));
    }

    let max_messages = max_messages
        .map_or(DEFAULT_MAX_MESSAGES, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        })
        .min(DEFAULT_MAX_MESSAGES);
    Ok(DrainLimits {
        budget,
        max_messages,
    })
}

fn reply(status: u16, body: &impl Serialize) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = reply(
        405,
        &json!({ "error": "method not allowed", "allow": allow }),
    );
    response
        .headers_mut()
        .insert("allow", lambda_http::http::HeaderValue::from_static(allow));
    response
}

fn without_body(response: Response<Body>) -> Response<Body> {
    let (parts, _) = response.into_parts();
    Response::from_parts(parts, Body::Empty)
}
