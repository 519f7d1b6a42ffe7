//! Entry point of the HTTP function: logging, then the Lambda runtime loop
//! serving API Gateway requests.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    lambda_http::run(service_fn(route)).await
}

async fn route(request: Request) -> Result<Response<Body>, Error> {
    let (status, body) = if request
        .uri()
        .path()
        .trim_end_matches('/')
        .ends_with("/health")
    {
        (200, r#"{"status":"ok"}"#)
    } else {
        (404, r#"{"error":"not found"}"#)
    };
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body))?)
}
