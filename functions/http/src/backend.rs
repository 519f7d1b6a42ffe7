//! The [`Backend`] backed by SQS and S3: health checks, queue depths and the
//! drain, built once per cold start from the environment.

use std::future::Future;
use std::time::Duration;

use futures_util::future::join_all;
use shelver::drain::{DrainLimits, DrainReport, drain};
use shelver::queue::{InputQueue, depth};
use shelver::{Config, Pipeline, S3Store, SqsDeadLetters, aws};

use crate::{Backend, Check, Health, QueueStatus};

/// How long each health check may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

struct Ready {
    pipeline: Pipeline<S3Store, SqsDeadLetters>,
    input_queue: InputQueue,
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    input_queue_url: String,
    dead_letter_queue_url: String,
    buckets: Vec<(String, String)>,
}

/// The real backend. A function with bad configuration still starts, so that
/// `/health` can say what is wrong; every other route then answers `503`.
pub struct AwsBackend {
    ready: Result<Ready, String>,
}

impl AwsBackend {
    /// Reads the environment and builds the clients.
    pub async fn from_env() -> Self {
        let lookup = |name: &str| std::env::var(name).ok();
        let config = match Config::from_lookup(lookup) {
            Ok(config) => config,
            Err(err) => {
                tracing::error!(error = %err, "configuration is invalid");
                return Self {
                    ready: Err(err.to_string()),
                };
            }
        };

        let sdk = aws::load().await;
        let sqs = aws::sqs(&sdk);
        let s3 = aws::s3(&sdk, config.s3_force_path_style);
        let buckets = config
            .routes
            .routes()
            .map(|route| (route.genre.to_owned(), route.bucket.to_owned()))
            .collect();
        let input_queue_url = config.input_queue_url.clone();
        let dead_letter_queue_url = config.dead_letter_queue_url.clone();
        Self {
            ready: Ok(Ready {
                pipeline: aws::pipeline_with(sqs.clone(), s3.clone(), config),
                input_queue: InputQueue::new(sqs.clone(), input_queue_url.clone()),
                sqs,
                s3,
                input_queue_url,
                dead_letter_queue_url,
                buckets,
            }),
        }
    }
}

/// Runs `check` within [`CHECK_TIMEOUT`].
async fn timed<T>(check: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {CHECK_TIMEOUT:?}")))
}

fn describe(err: &impl std::error::Error) -> String {
    shelver::error::shorten(&shelver::error::chain(err), 300)
}

impl Backend for AwsBackend {
    async fn health(&self) -> Health {
        let mut health = Health::default();
        let ready = match &self.ready {
            Ok(ready) => ready,
            Err(error) => {
                health
                    .checks
                    .insert("configuration".into(), Check::fail(error.clone()));
                return health;
            }
        };
        health.checks.insert("configuration".into(), Check::pass());

        let queues = async {
            tokio::join!(
                timed(async {
                    depth(&ready.sqs, &ready.input_queue_url)
                        .await
                        .map_err(|e| e.reason())
                }),
                timed(async {
                    depth(&ready.sqs, &ready.dead_letter_queue_url)
                        .await
                        .map_err(|e| e.reason())
                }),
            )
        };
        let buckets = join_all(ready.buckets.iter().map(|(genre, bucket)| async move {
            let answer = timed(async {
                ready
                    .s3
                    .head_bucket()
                    .bucket(bucket)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|err| format!("HeadBucket {bucket}: {}", describe(&err)))
            })
            .await;
            (format!("bucket:{genre}"), answer)
        }));
        let ((input, dead_letters), buckets) = tokio::join!(queues, buckets);

        for (name, answer, slot) in [
            ("input_queue", input, &mut health.input_queue),
            (
                "dead_letter_queue",
                dead_letters,
                &mut health.dead_letter_queue,
            ),
        ] {
            let check = match answer {
                Ok(found) => {
                    *slot = Some(found);
                    Check::pass()
                }
                Err(error) => Check::fail(error),
            };
            health.checks.insert(name.into(), check);
        }
        for (name, answer) in buckets {
            let check = answer.map_or_else(Check::fail, |()| Check::pass());
            health.checks.insert(name, check);
        }
        health
    }

    async fn status(&self) -> Result<QueueStatus, String> {
        let ready = self.ready.as_ref().map_err(Clone::clone)?;
        let (input, dead_letters) = tokio::join!(
            depth(&ready.sqs, &ready.input_queue_url),
            depth(&ready.sqs, &ready.dead_letter_queue_url),
        );
        Ok(QueueStatus {
            input_queue: input.map_err(|e| e.reason())?,
            dead_letter_queue: dead_letters.map_err(|e| e.reason())?,
        })
    }

    async fn drain(&self, limits: DrainLimits) -> Result<DrainReport, String> {
        let ready = self.ready.as_ref().map_err(Clone::clone)?;
        drain(&ready.input_queue, &ready.pipeline, limits)
            .await
            .map_err(|e| e.reason())
    }
}
