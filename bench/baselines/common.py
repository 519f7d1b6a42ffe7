"""What both baselines share: their command line, their clients, the way
they write a book, and how they know the queue is done."""

import argparse
import json
from dataclasses import dataclass

import boto3
from botocore.config import Config


@dataclass
class Setup:
    queue_url: str
    buckets: dict
    sqs: object
    s3: object


def setup() -> Setup:
    """Reads --endpoint, --queue-url and --buckets (genre=bucket,...)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--buckets", required=True, help="genre=bucket,...")
    args = parser.parse_args()
    return Setup(
        queue_url=args.queue_url,
        buckets=dict(pair.split("=", 1) for pair in args.buckets.split(",")),
        sqs=boto3.client("sqs", endpoint_url=args.endpoint),
        s3=boto3.client("s3", endpoint_url=args.endpoint, config=Config(s3={"addressing_style": "path"})),
    )


def write_book(run: Setup, body: str) -> None:
    """Stores one record as its genre's bucket's `<title>.json`."""
    book = json.loads(body)
    run.s3.put_object(
        Bucket=run.buckets[book["genre"].strip().lower()],
        Key=f'{book["title"]}.json',
        Body=json.dumps(book).encode(),
        ContentType="application/json",
    )


def drained(run: Setup) -> bool:
    """Whether the queue is empty: nothing visible, nothing in flight."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    counts = run.sqs.get_queue_attributes(QueueUrl=run.queue_url, AttributeNames=names)["Attributes"]
    return all(int(counts[name]) == 0 for name in names)
