//! Entry point of the HTTP function: logging, the backend built once per cold
//! start, then the Lambda runtime loop serving API Gateway requests.

use lambda_http::{Error, Request, service_fn};
use shelver_http::backend::AwsBackend;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();

    let backend = AwsBackend::from_env().await;

    lambda_http::run(service_fn(|request: Request| async {
        // The health checks' SDK futures are large: keep them off the stack.
        Ok::<_, Error>(Box::pin(shelver_http::handle(&backend, request)).await)
    }))
    .await
}
