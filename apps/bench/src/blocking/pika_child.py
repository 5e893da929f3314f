"""Runs the blocking benchmark for Pika's BlockingConnection, the same steps as child.ts.

Prints a BlockingChildResult as one line of JSON. Usage: python3 pika_child.py REQUEST_JSON
"""
import json
import math
import resource
import sys
import time

import pika


def cpu_micros():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1_000_000


def nearest_rank(samples, fraction):
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


request = json.loads(sys.argv[1])
url = request["url"]
if url.rstrip("/").count("/") == 2:
    url = url.rstrip("/") + "/%2F"
connection = pika.BlockingConnection(pika.URLParameters(url))
channel = connection.channel()
queue = request["queue"]
channel.queue_declare(queue)
body = b"a" * request["bodySize"]
count = request["publishCount"]

start_cpu = cpu_micros()
start = time.perf_counter()
for _ in range(count):
    channel.basic_publish("", queue, body)
while channel.queue_declare(queue, passive=True).method.message_count < count:
    pass
publish = {"messages": count, "seconds": time.perf_counter() - start, "cpuMicros": cpu_micros() - start_cpu}

for _ in range(request["warmupCount"]):
    channel.queue_declare(queue, passive=True)
samples = []
for _ in range(request["callCount"]):
    call_start = time.perf_counter()
    channel.queue_declare(queue, passive=True)
    samples.append((time.perf_counter() - call_start) * 1_000_000)

channel.queue_delete(queue)
connection.close()
result = {
    "library": f"pika {pika.__version__}",
    "publish": publish,
    "call": {"p50": nearest_rank(samples, 0.5), "p99": nearest_rank(samples, 0.99)},
}
print(json.dumps(result))
