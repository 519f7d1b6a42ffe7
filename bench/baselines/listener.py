"""The original design, as its users would have built it: a listener that
receives one message at a time with boto3, writes it, and deletes it.

Runs until the queue is empty (nothing visible and nothing in flight: other
copies may be running), then prints {"messages": N, "seconds": S}, N being
the messages this copy did.
"""

import json
import time

from common import drained, setup, write_book


def main() -> None:
    run = setup()
    done = 0
    started = time.perf_counter()
    finished = started
    while True:
        reply = run.sqs.receive_message(QueueUrl=run.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1)
        messages = reply.get("Messages", [])
        if not messages and drained(run):
            break
        for message in messages:
            write_book(run, message["Body"])
            run.sqs.delete_message(QueueUrl=run.queue_url, ReceiptHandle=message["ReceiptHandle"])
            done += 1
            finished = time.perf_counter()
    # Up to the last message done: the final empty poll is not work.
    print(json.dumps({"messages": done, "seconds": finished - started}))


if __name__ == "__main__":
    main()
