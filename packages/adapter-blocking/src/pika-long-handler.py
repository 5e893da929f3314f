"""Pika's BlockingConnection under a long handler, for comparison with Warren's blocking adapter.

Consumes one message with a short heartbeat and a handler that blocks the thread for longer
than the broker's heartbeat timeout, then tries to ack it. Prints one line of JSON: whether the
connection was lost, and the error that showed it.

Usage: python3 pika-long-handler.py URL QUEUE HEARTBEAT_SECONDS BLOCK_SECONDS
"""
import json
import sys
import time

import pika

url, queue, heartbeat, block_seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
parameters = pika.URLParameters(url)
parameters.heartbeat = heartbeat
connection = pika.BlockingConnection(parameters)
channel = connection.channel()
result = {"lost": False, "error": None, "negotiatedHeartbeat": connection._impl.params.heartbeat}


def on_message(channel, method, properties, body):
    time.sleep(block_seconds)
    channel.basic_ack(method.delivery_tag)
    channel.stop_consuming()


try:
    channel.basic_consume(queue, on_message)
    channel.start_consuming()
    # A round trip shows whether the connection survived the handler.
    channel.queue_declare(queue, passive=True)
    connection.close()
except Exception as error:  # Any failure here means the connection was lost.
    result["lost"] = True
    result["error"] = f"{type(error).__name__}: {error}"

print(json.dumps(result))
