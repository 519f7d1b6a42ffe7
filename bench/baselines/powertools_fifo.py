"""The original design on Powertools for AWS Lambda (Python): a handler using
its FIFO partial batch processor, fed batches of ten the way the SQS event
source mapping would, with the successes deleted afterwards.

Prints {"messages": N, "seconds": S} when COUNT messages are done.
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
    parser.add_argument("--count", type=int, required=True)
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
    started = time.perf_counter()
    while done < args.count:
        reply = sqs.receive_message(
            QueueUrl=args.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
        )
        messages = reply.get("Messages", [])
        if not messages:
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
    print(json.dumps({"messages": done, "seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
