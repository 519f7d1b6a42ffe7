//! Entry point of the consumer function: logging, configuration, clients built
//! once per cold start, then the Lambda runtime loop.

use lambda_runtime::{Error, service_fn};
use shelver::{Config, aws};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();

    let config = Config::from_env().inspect_err(|err| {
        tracing::error!(error = %err, "configuration is invalid");
    })?;
    let sdk = aws::load().await;
    let pipeline = aws::pipeline(&sdk, config);

    lambda_runtime::run(service_fn(|event| {
        shelver_consumer::handle(&pipeline, event)
    }))
    .await
}
