//! Routing tests: API Gateway events from `events/` (HTTP API v2 and REST API
//! v1), varied per case, answered by the handler over a recording backend.

use std::sync::Mutex;

use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shelver::drain::{DrainLimits, DrainReport};
use shelver::queue::Depth;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_http::RequestExt as _;
use lambda_http::lambda_runtime::Context;
use shelver_http::{Backend, Check, DEADLINE_MARGIN, DRAIN_BUDGET, Health, QueueStatus, handle};

const HTTP_API_HEALTH: &str = include_str!("../../../events/http-api-health.json");
const HTTP_API_DRAIN: &str = include_str!("../../../events/http-api-drain.json");
const REST_API_HEALTH: &str = include_str!("../../../events/rest-api-health.json");

/// A backend that answers from fixed values and records drains.
#[derive(Default)]
struct Recording {
    failing_bucket: bool,
    drains: Mutex<Vec<DrainLimits>>,
}

impl Backend for Recording {
    async fn health(&self) -> Health {
        let mut health = Health {
            input_queue: Some(Depth {
                visible: 3,
                in_flight: 1,
            }),
            dead_letter_queue: Some(Depth {
                visible: 2,
                in_flight: 0,
            }),
            ..Health::default()
        };
        health.checks.insert("configuration".into(), Check::pass());
        let bucket = if self.failing_bucket {
            Check::fail("HeadBucket b: NotFound")
        } else {
            Check::pass()
        };
        health.checks.insert("bucket:romance".into(), bucket);
        health
    }

    async fn status(&self) -> Result<QueueStatus, String> {
        Ok(QueueStatus::default())
    }

    async fn drain(&self, limits: DrainLimits) -> Result<DrainReport, String> {
        self.drains.lock().expect("not poisoned").push(limits);
        Ok(DrainReport {
            received: 7,
            ..DrainReport::default()
        })
    }
}

fn event(fixture: &str, edit: impl FnOnce(&mut Value)) -> Request {
    let mut event: Value = serde_json::from_str(fixture).expect("fixture is JSON");
    edit(&mut event);
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event")
}

/// An HTTP API (v2) event for `method` on `path`, with `query`.
fn v2(method: &str, path: &str, query: &str) -> Request {
    event(HTTP_API_HEALTH, |e| {
        e["rawPath"] = json!(path);
        e["requestContext"]["http"]["path"] = json!(path);
        e["requestContext"]["http"]["method"] = json!(method);
        e["rawQueryString"] = json!(query);
        let pairs: serde_json::Map<String, Value> = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), json!(v)))
            .collect();
        if !pairs.is_empty() {
            e["queryStringParameters"] = Value::Object(pairs);
        }
    })
}

fn body(response: &Response<Body>) -> Value {
    match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("a JSON body"),
        Body::Binary(bytes) => serde_json::from_slice(bytes).expect("a JSON body"),
        _ => Value::Null,
    }
}

#[tokio::test]
async fn health_over_the_http_api_is_200_with_checks_and_depths() {
    let response = handle(&Recording::default(), event(HTTP_API_HEALTH, |_| {})).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = body(&response);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["checks"]["bucket:romance"]["ok"], true);
    assert_eq!(body["input_queue"], json!({"visible": 3, "in_flight": 1}));
    assert_eq!(body["dead_letter_queue"]["visible"], 2);
}

#[tokio::test]
async fn health_over_the_rest_api_with_a_stage_routes_like_the_bare_path() {
    let response = handle(&Recording::default(), event(REST_API_HEALTH, |_| {})).await;

    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["status"], "ok");
}

#[tokio::test]
async fn a_stage_prefix_and_a_trailing_slash_are_tolerated() {
    let staged = event(HTTP_API_HEALTH, |e| {
        e["rawPath"] = json!("/prod/health/");
        e["requestContext"]["stage"] = json!("prod");
    });

    let response = handle(&Recording::default(), staged).await;

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_failing_dependency_makes_health_503_and_names_it() {
    let backend = Recording {
        failing_bucket: true,
        ..Recording::default()
    };

    let response = handle(&backend, event(HTTP_API_HEALTH, |_| {})).await;

    assert_eq!(response.status(), 503);
    let body = body(&response);
    assert_eq!(body["status"], "unavailable");
    assert_eq!(
        body["checks"]["bucket:romance"],
        json!({"ok": false, "error": "HeadBucket b: NotFound"})
    );
    assert_eq!(
        body["input_queue"]["visible"], 3,
        "depths are reported either way"
    );
}

#[tokio::test]
async fn head_runs_the_same_checks_with_an_empty_body() {
    let backend = Recording {
        failing_bucket: true,
        ..Recording::default()
    };

    let response = handle(&backend, v2("HEAD", "/health", "")).await;

    assert_eq!(response.status(), 503);
    assert!(matches!(response.body(), Body::Empty));
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let cases = [
        ("PUT", "/health", "GET, HEAD"),
        ("DELETE", "/", "GET, HEAD, POST"),
        ("POST", "/health", "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let response = handle(&Recording::default(), v2(method, path, "")).await;

        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
    }
}

#[tokio::test]
async fn an_unknown_path_gets_404_in_json() {
    let response = handle(&Recording::default(), v2("GET", "/nope", "")).await;

    assert_eq!(response.status(), 404);
    assert_eq!(body(&response)["error"], "no route for /nope");
}

#[tokio::test]
async fn a_malformed_query_value_gets_400_naming_the_parameter() {
    for (query, parameter) in [
        ("max_seconds=abc", "max_seconds"),
        ("max_seconds=0", "max_seconds"),
        ("max_messages=-3", "max_messages"),
        ("max_messages=1.5", "max_messages"),
    ] {
        let backend = Recording::default();

        let response = handle(&backend, v2("POST", "/", query)).await;

        assert_eq!(response.status(), 400, "{query}");
        let error = body(&response)["error"]
            .as_str()
            .expect("an error")
            .to_owned();
        assert!(
            error.contains(&format!("`{parameter}`")),
            "{query}: {error}"
        );
        assert!(
            backend.drains.lock().expect("not poisoned").is_empty(),
            "no drain on a bad request"
        );
    }
}

#[tokio::test]
async fn a_repeated_parameter_is_refused_and_a_huge_one_is_capped() {
    let backend = Recording::default();

    let repeated = handle(&backend, v2("POST", "/", "max_seconds=5&max_seconds=abc")).await;
    let huge = handle(
        &backend,
        v2("POST", "/", "max_messages=99999999999999999999999"),
    )
    .await;

    assert_eq!(repeated.status(), 400);
    assert!(
        body(&repeated)["error"]
            .as_str()
            .is_some_and(|e| e.contains("`max_seconds` is given more than once"))
    );
    assert_eq!(huge.status(), 200);
    assert_eq!(
        backend.drains.lock().expect("not poisoned")[0].max_messages,
        shelver_http::DEFAULT_MAX_MESSAGES
    );
}

#[tokio::test]
async fn post_drains_within_the_requested_limits() {
    let backend = Recording::default();

    let response = handle(&backend, event(HTTP_API_DRAIN, |_| {})).await;

    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["received"], 7);
    let drains = backend.drains.lock().expect("not poisoned").clone();
    assert_eq!(drains.len(), 1);
    assert_eq!(drains[0].budget.as_secs(), 10);
    assert_eq!(drains[0].max_messages, 100);
}

#[tokio::test]
async fn a_larger_max_seconds_cannot_exceed_the_default_budget() {
    let backend = Recording::default();

    handle(&backend, v2("POST", "/", "max_seconds=3600")).await;

    assert_eq!(
        backend.drains.lock().expect("not poisoned")[0].budget,
        DRAIN_BUDGET
    );
}

#[tokio::test]
async fn the_budget_keeps_a_margin_before_the_function_deadline() {
    let backend = Recording::default();
    let in_ten_seconds = SystemTime::now() + Duration::from_secs(10);
    let mut context = Context::default();
    context.deadline = u64::try_from(
        in_ten_seconds
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis(),
    )
    .expect("fits");
    let mut past = Context::default();
    past.deadline = 600_000;

    handle(&backend, v2("POST", "/", "").with_lambda_context(context)).await;
    handle(&backend, v2("POST", "/", "").with_lambda_context(past)).await;

    let drains = backend.drains.lock().expect("not poisoned").clone();
    assert!(
        drains[0].budget <= Duration::from_secs(10).saturating_sub(DEADLINE_MARGIN),
        "{drains:?}"
    );
    assert!(drains[0].budget >= Duration::from_secs(6), "{drains:?}");
    assert_eq!(
        drains[1].budget, DRAIN_BUDGET,
        "an unusable deadline is ignored"
    );
}

#[tokio::test]
async fn get_on_the_root_reads_status_without_draining() {
    let backend = Recording::default();

    let response = handle(&backend, v2("GET", "/", "")).await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        body(&response)["input_queue"],
        json!({"visible": 0, "in_flight": 0})
    );
    assert!(backend.drains.lock().expect("not poisoned").is_empty());
}
