"""Minimal Python Faust (faust-streaming) app for interoperability tests with faust-ts.

Everything is configured through environment variables so that a test can start a worker with

    FAUST_IN_TOPIC=py-interop-abc FAUST_OUT_FILE=/tmp/out.jsonl \
        python -m faust -A faust_app worker -l info          (cwd: this directory)

or, equivalently, ``python faust_app.py worker -l info``.

Environment:
    FAUST_BROKER        broker URL, default kafka://127.0.0.1:9092
                        (KAFKA_BOOTSTRAP_SERVERS=host:port[,host:port] is used if FAUST_BROKER is unset)
    FAUST_APP_ID        app id = consumer group id, default py-interop-faust
    FAUST_IN_TOPIC      topic the agent reads (required for the worker)
    FAUST_IN_PARTITIONS partitions of the input topic if faust has to create it (default 1);
                        an existing topic is used as it is
    FAUST_OUT_FILE      file the agent appends one JSON line per received event to
                        (default: stdout only)
    FAUST_OUT_TOPIC     optional: the agent also forwards every event (same key/value) here
    FAUST_DATADIR       faust data directory, default a fresh temporary directory
    FAUST_WEB_PORT      port of faust's web server; default: the web server is disabled

Each received event is written as
    {"topic","partition","offset","key","value","headers","timestamp"}
with bytes rendered as UTF-8 text, or as base64 with "key_b64"/"value_b64": true when they are not
valid UTF-8 (same convention as kafka_client.py). A line {"event": "ready", ...} is written to the
out file when the agent starts consuming (partitions assigned).

Commands (besides faust's own worker/send/...):
    python -m faust -A faust_app produce --topic T --count N [--key-prefix k] [--partitions P]
        sends N records with faust (aiokafka producer, aiokafka DefaultPartitioner) and prints one
        JSON line per record: {"key","partition","offset"} (keys <prefix><i>, values v<i>).
    python -m faust -A faust_app send T VALUE --key K      (faust's own; prints RecordMetadata JSON)

Notes:
  * Log levels of `worker -l` are crit/error/warn/info/debug ("warning" is rejected).
  * The worker always creates the topic <FAUST_APP_ID>-__assignor-__leader; give the app id and
    the topics one prefix (py-interop-<random>) and clean up with
    `kafka_client.py delete-topics --prefix py-interop-<random>` and `delete-groups <app id>`.
  * SIGTERM stops the worker cleanly (LeaveGroup, exit code 0).
  * Needs aiokafka >= 0.13 against Kafka 4.x (docs/decisions/0002-python-interop.md).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
from typing import Any, Optional

import faust
from faust.cli import option


def _broker() -> str:
    if os.environ.get("FAUST_BROKER"):
        return os.environ["FAUST_BROKER"]
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if servers:
        return ";".join("kafka://" + s.strip() for s in servers.split(",") if s.strip())
    return "kafka://127.0.0.1:9092"


def render_bytes(name: str, data: Optional[bytes], out: dict) -> None:
    if data is None:
        out[name] = None
        return
    try:
        out[name] = data.decode("utf-8")
    except UnicodeDecodeError:
        out[name] = base64.b64encode(data).decode("ascii")
        out[name + "_b64"] = True


APP_ID = os.environ.get("FAUST_APP_ID", "py-interop-faust")
IN_TOPIC = os.environ.get("FAUST_IN_TOPIC", "py-interop-faust-in")
OUT_TOPIC = os.environ.get("FAUST_OUT_TOPIC") or None
OUT_FILE = os.environ.get("FAUST_OUT_FILE") or None
WEB_PORT = os.environ.get("FAUST_WEB_PORT")

app = faust.App(
    APP_ID,
    broker=_broker(),
    datadir=os.environ.get("FAUST_DATADIR") or tempfile.mkdtemp(prefix="faust-interop-"),
    store="memory://",
    topic_partitions=int(os.environ.get("FAUST_IN_PARTITIONS", "1")),
    topic_replication_factor=1,
    web_enabled=WEB_PORT is not None,
    web_port=int(WEB_PORT) if WEB_PORT else 6066,
    # Small test-friendly timings.
    broker_commit_every=10,
    broker_commit_interval=0.5,
    consumer_auto_offset_reset="earliest",
)

# `faust worker` turns the web server on unless given --without-web (port 6066 would clash between
# parallel test workers); the boot strategy's flag wins over the CLI's.
app.boot_strategy.enable_web = WEB_PORT is not None

in_topic = app.topic(IN_TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
out_topic = (
    app.topic(OUT_TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    if OUT_TOPIC
    else None
)


def _emit(obj: dict) -> None:
    line = json.dumps(obj)
    if OUT_FILE:
        with open(OUT_FILE, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
    else:
        # The faust worker redirects stdout into its log (as WARNING lines).
        print(line, flush=True)


@app.agent(in_topic)
async def record(stream: Any) -> None:
    async for event in stream.events():
        msg = event.message
        line: dict = {
            "topic": msg.topic,
            "partition": msg.partition,
            "offset": msg.offset,
            "timestamp": int(round(msg.timestamp * 1000)),  # faust gives seconds; print ms like kafka_client.py
        }
        render_bytes("key", msg.key, line)
        render_bytes("value", msg.value, line)
        headers = []
        for k, v in (msg.headers or []):
            h: dict = {"key": k if isinstance(k, str) else k.decode("utf-8", "replace")}
            render_bytes("value", v, h)
            headers.append(h)
        line["headers"] = headers
        _emit(line)
        if out_topic is not None:
            await out_topic.send(key=msg.key, value=msg.value, headers=msg.headers)


@app.on_partitions_assigned.connect
async def _on_assigned(app_: faust.App, assigned: set, **kwargs: Any) -> None:
    _emit({"event": "ready", "assigned": sorted([tp.topic, tp.partition] for tp in assigned)})


@app.command(
    option("--topic", type=str, required=True, help="Topic to send to."),
    option("--count", type=int, default=10, help="Number of records."),
    option("--key-prefix", type=str, default="k", help="Keys are <prefix><i>."),
    option("--value-prefix", type=str, default="v", help="Values are <prefix><i>."),
    option("--partitions", type=int, default=1, help="Partitions if faust has to create the topic."),
)
async def produce(self: Any, topic: str, count: int, key_prefix: str, value_prefix: str, partitions: int) -> None:
    """Send COUNT records and print {"key","partition","offset"} per record."""
    t = app.topic(topic, key_serializer="raw", value_serializer="raw", partitions=partitions)
    await t.maybe_declare()
    for i in range(count):
        key = f"{key_prefix}{i}"
        fut = await t.send(key=key.encode(), value=f"{value_prefix}{i}".encode())
        md = await fut
        print(json.dumps({"key": key, "partition": md.partition, "offset": md.offset}), flush=True)


if __name__ == "__main__":
    app.main()
