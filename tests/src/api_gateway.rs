//! API Gateway HTTP API (payload v2) events and responses, for driving the
//! HTTP function binary.

use serde_json::{Value, json};

const HTTP_API_HEALTH: &str = include_str!("../../events/http-api-health.json");

/// An HTTP API event for `method` on `path` with `query` (`a=1&b=2`), built
/// from the fixture in `events/`.
///
/// # Panics
///
/// When the fixture is not JSON.
#[must_use]
pub fn request(method: &str, path: &str, query: &str) -> Value {
    let mut event: Value = serde_json::from_str(HTTP_API_HEALTH).expect("fixture is JSON");
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!(query);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    let pairs: serde_json::Map<String, Value> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.to_owned(), json!(value)))
        .collect();
    if !pairs.is_empty() {
        event["queryStringParameters"] = Value::Object(pairs);
    }
    event
}

/// A function's API Gateway response: status and parsed JSON body.
///
/// # Panics
///
/// When `answer` is not an API Gateway response with a JSON (or empty) body.
#[must_use]
pub fn response(answer: &Value) -> (u16, Value) {
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|code| u16::try_from(code).ok())
        .expect("a status code");
    let body = match answer["body"].as_str() {
        Some(text) if !text.is_empty() => serde_json::from_str(text).expect("a JSON body"),
        _ => Value::Null,
    };
    (status, body)
}
