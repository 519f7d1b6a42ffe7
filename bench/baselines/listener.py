"""The original design, as its users would have built it: a listener that
receives one message at a time with boto3, writes it, and deletes it.

Runs until the queue is empty (nothing visible and nothing in flight: other
copies may be running), then prints {"messages": N, "seconds": S}, N being
the messages this copy did.
"""

import argparse
import json
import time

import boto3
from botocore.config import Config


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--buckets", required=True, help="genre=bucket,...")
    args = parser.parse_args()

    buckets = dict(pair.split("=", 1) for pair in args.buckets.split(","))
    sqs = boto3.client("sqs", endpoint_url=args.endpoint)
    s3 = boto3.client("s3", endpoint_url=args.endpoint, config=Config(s3={"addressing_style": "path"}))

    done = 0

    def drained() -> bool:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        counts = sqs.get_queue_attributes(QueueUrl=args.queue_url, AttributeNames=names)["Attributes"]
        return all(int(counts[name]) == 0 for name in names)

    started = time.perf_counter()
    finished = started
    while True:
        reply = sqs.receive_message(QueueUrl=args.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1)
        if not reply.get("Messages") and drained():
            break
        for message in reply.get("Messages", []):
            book = json.loads(message["Body"])
            s3.put_object(
                Bucket=buckets[book["genre"].strip().lower()],
                Key=f'{book["title"]}.json',
                Body=json.dumps(book).encode(),
                ContentType="application/json",
            )
            sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=message["ReceiptHandle"])
            done += 1
            finished = time.perf_counter()
    # Up to the last message done: the final empty poll is not work.
    print(json.dumps({"messages": done, "seconds": finished - started}))


if __name__ == "__main__":
    main()
