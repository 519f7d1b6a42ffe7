//! Moving dead letters back to the input queue, in order.
//!
//! The native way is an SQS message move task, which keeps each message's
//! group and order and its attributes. Where the queue service does not
//! offer it, the messages are copied one at a time, oldest first within each
//! group: send to the input queue with the same group, then delete from the
//! dead-letter queue, so a crash between the two duplicates a message (which
//! the idempotent write absorbs) but never loses one.

use std::time::Duration;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use shelver::dead_letter::ATTR_REASON;

use crate::Error;

/// How the messages were moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// An SQS message move task.
    MoveTask,
    /// Receive, send, delete, one message at a time.
    Copy,
}

/// What a redrive did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moved {
    /// How many messages went back.
    pub messages: u64,
    /// How.
    pub method: Method,
}

/// Moves every message of the dead-letter queue at `dead_letter_url` to the
/// queue at `input_url`. `copy` skips the move task. `progress` is told
/// (moved, total) as the move goes.
///
/// # Errors
///
/// [`Error::Aws`] when a call fails, [`Error::MoveTask`] when SQS abandons
/// the task.
pub async fn redrive(
    sqs: &aws_sdk_sqs::Client,
    dead_letter_url: &str,
    input_url: &str,
    copy: bool,
    progress: impl Fn(u64, u64),
) -> Result<Moved, Error> {
    let total = visible(sqs, dead_letter_url).await?;
    if !copy {
        let source = arn(sqs, dead_letter_url).await?;
        let destination = arn(sqs, input_url).await?;
        match sqs
            .start_message_move_task()
            .source_arn(&source)
            .destination_arn(&destination)
            .send()
            .await
        {
            Ok(_) => {
                let messages = wait_for_task(sqs, &source, total, &progress).await?;
                return Ok(Moved {
                    messages,
                    method: Method::MoveTask,
                });
            }
            Err(err) if unsupported(&err) => {}
            Err(err) => return Err(Error::aws("StartMessageMoveTask", err)),
        }
    }
    let messages = copy_all(sqs, dead_letter_url, input_url, total, &progress).await?;
    Ok(Moved {
        messages,
        method: Method::Copy,
    })
}

fn unsupported<E, R>(err: &aws_sdk_sqs::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|service| service.code())
        .is_some_and(|code| code.contains("UnsupportedOperation") || code.contains("InvalidAction"))
}

async fn wait_for_task(
    sqs: &aws_sdk_sqs::Client,
    source: &str,
    total: u64,
    progress: &impl Fn(u64, u64),
) -> Result<u64, Error> {
    loop {
        let tasks = sqs
            .list_message_move_tasks()
            .source_arn(source)
            .max_results(1)
            .send()
            .await
            .map_err(|e| Error::aws("ListMessageMoveTasks", e))?;
        let Some(task) = tasks.results.unwrap_or_default().into_iter().next() else {
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        };
        let moved = u64::try_from(task.approximate_number_of_messages_moved).unwrap_or(0);
        progress(moved, total.max(moved));
        match task.status.as_deref() {
            Some("COMPLETED") => return Ok(moved),
            Some(status @ ("FAILED" | "CANCELLED")) => {
                return Err(Error::MoveTask {
                    status: status.to_lowercase(),
                    reason: task.failure_reason.unwrap_or_default(),
                });
            }
            _ => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

async fn copy_all(
    sqs: &aws_sdk_sqs::Client,
    dead_letter_url: &str,
    input_url: &str,
    total: u64,
    progress: &impl Fn(u64, u64),
) -> Result<u64, Error> {
    // Only letters already parked when the redrive starts are moved: a
    // consumer may park some again meanwhile, and chasing those would never
    // end. Newer ones are held hidden until the end, then handed back.
    let started = std::time::SystemTime::now();
    let mut held = Vec::new();
    let mut moved = 0;
    loop {
        let batch = sqs
            .receive_message()
            .queue_url(dead_letter_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(300)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| Error::aws("ReceiveMessage", e))?
            .messages
            .unwrap_or_default();
        if batch.is_empty() {
            break;
        }
        for message in batch {
            let system = message.attributes.clone().unwrap_or_default();
            let sent = shelver::metrics::sent_at(
                system
                    .get(&MessageSystemAttributeName::SentTimestamp)
                    .map(String::as_str),
            );
            if sent.is_some_and(|sent| sent >= started) {
                held.extend(message.receipt_handle);
                continue;
            }
            copy_one(sqs, dead_letter_url, input_url, message).await?;
            moved += 1;
            progress(moved, total.max(moved));
        }
    }
    if !held.is_empty() {
        let handles: Vec<&str> = held.iter().map(String::as_str).collect();
        shelver::queue::InputQueue::new(sqs.clone(), dead_letter_url.to_owned())
            .set_visibility(&handles, 0)
            .await?;
    }
    Ok(moved)
}

/// Sends one dead letter to the input queue with its group, then deletes it:
/// a crash in between duplicates it, never loses it.
async fn copy_one(
    sqs: &aws_sdk_sqs::Client,
    dead_letter_url: &str,
    input_url: &str,
    message: aws_sdk_sqs::types::Message,
) -> Result<(), Error> {
    let id = message.message_id.clone().unwrap_or_default();
    let group = message
        .attributes
        .as_ref()
        .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId).cloned())
        .unwrap_or_else(|| id.clone());
    // The reason belonged to the failed attempt; a new failure gets a new one.
    let attributes = message.message_attributes.clone().map(|mut all| {
        all.remove(ATTR_REASON);
        all
    });
    sqs.send_message()
        .queue_url(input_url)
        .message_body(message.body.clone().unwrap_or_default())
        .message_group_id(group)
        .message_deduplication_id(
            format!("redrive-{id}")
                .chars()
                .take(128)
                .collect::<String>(),
        )
        .set_message_attributes(attributes.filter(|a| !a.is_empty()))
        .send()
        .await
        .map_err(|e| Error::aws("SendMessage", e))?;
    sqs.delete_message()
        .queue_url(dead_letter_url)
        .receipt_handle(message.receipt_handle.unwrap_or_default())
        .send()
        .await
        .map_err(|e| Error::aws("DeleteMessage", e))?;
    Ok(())
}

async fn arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String, Error> {
    Ok(shelver::queue::arn(sqs, url).await?)
}

async fn visible(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<u64, Error> {
    Ok(shelver::queue::depth(sqs, url).await?.visible)
}
