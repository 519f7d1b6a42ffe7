"""The original design on Powertools for AWS Lambda (Python): a handler using
its FIFO partial batch processor, fed batches of ten the way the SQS event
source mapping would, with the successes deleted afterwards.

Runs until the queue is empty (nothing visible and nothing in flight: other
copies may be running), then prints {"messages": N, "seconds": S}, N being
the messages this copy did.
"""

import json
import time

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from common import drained, setup, write_book

processor = SqsFifoPartialProcessor()


def event_of(messages: list) -> dict:
    """The SQS event Lambda would deliver for these messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:bench.fifo",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def main() -> None:
    run = setup()

    def handler(event, context):
        return process_partial_response(
            event=event,
            record_handler=lambda record: write_book(run, record.body),
            processor=processor,
            context=context,
        )

    done = 0
    started = time.perf_counter()
    finished = started
    while True:
        reply = run.sqs.receive_message(
            QueueUrl=run.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
        )
        messages = reply.get("Messages", [])
        if not messages:
            if drained(run):
                break
            continue
        failed = {f["itemIdentifier"] for f in handler(event_of(messages), None)["batchItemFailures"]}
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(messages)
            if m["MessageId"] not in failed
        ]
        if entries:
            run.sqs.delete_message_batch(QueueUrl=run.queue_url, Entries=entries)
        done += len(entries)
        finished = time.perf_counter()
    # Up to the last batch done: the final empty poll is not work.
    print(json.dumps({"messages": done, "seconds": finished - started}))


if __name__ == "__main__":
    main()
