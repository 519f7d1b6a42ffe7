"""The original design on Powertools for AWS Lambda (Python): a handler using
its FIFO partial batch processor, fed batches of ten the way the SQS event
source mapping would, with the successes deleted afterwards.

Runs until the queue is empty (nothing visible and nothing in flight: other
copies may be running), then prints {"messages": N, "seconds": S}, N being
the messages this copy did.
"""

import argparse
import json
import time

import boto3
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from botocore.config import Config

processor = SqsFifoPartialProcessor()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--buckets", required=True, help="genre=bucket,...")
    args = parser.parse_args()

    buckets = dict(pair.split("=", 1) for pair in args.buckets.split(","))
    sqs = boto3.client("sqs", endpoint_url=args.endpoint)
    s3 = boto3.client("s3", endpoint_url=args.endpoint, config=Config(s3={"addressing_style": "path"}))

    def record_handler(record) -> None:
        book = json.loads(record.body)
        s3.put_object(
            Bucket=buckets[book["genre"].strip().lower()],
            Key=f'{book["title"]}.json',
            Body=json.dumps(book).encode(),
            ContentType="application/json",
        )

    def handler(event, context):
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    done = 0

    def drained() -> bool:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        counts = sqs.get_queue_attributes(QueueUrl=args.queue_url, AttributeNames=names)["Attributes"]
        return all(int(counts[name]) == 0 for name in names)

    started = time.perf_counter()
    finished = started
    while True:
        reply = sqs.receive_message(
            QueueUrl=args.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
        )
        messages = reply.get("Messages", [])
        if not messages:
            if drained():
                break
            continue
        event = {
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
        failed = {f["itemIdentifier"] for f in handler(event, None)["batchItemFailures"]}
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(messages)
            if m["MessageId"] not in failed
        ]
        if entries:
            sqs.delete_message_batch(QueueUrl=args.queue_url, Entries=entries)
        done += len(entries)
        finished = time.perf_counter()
    # Up to the last batch done: the final empty poll is not work.
    print(json.dumps({"messages": done, "seconds": finished - started}))


if __name__ == "__main__":
    main()
