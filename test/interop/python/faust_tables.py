"""Python Faust (faust-streaming) side of the table changelog interoperability test with faust-ts.

A word-count table `counts` (default int) over FAUST_IN_TOPIC (key = value = the word), app id
FAUST_APP_ID, FAUST_PARTITIONS partitions. Every second a timer writes the table's current
contents as one JSON line `{"table": {...}}` to FAUST_OUT_FILE (so the test sees what a Python
worker recovered from a changelog that faust-ts wrote, and the other way round).

    FAUST_APP_ID=... FAUST_IN_TOPIC=T FAUST_OUT_FILE=/tmp/x.jsonl python -m faust -A faust_tables worker -l warn
"""

from __future__ import annotations

import json
import os
import tempfile

import faust

APP_ID = os.environ.get("FAUST_APP_ID", "py-interop-tables")
IN_TOPIC = os.environ.get("FAUST_IN_TOPIC", "py-interop-tables-in")
OUT_FILE = os.environ.get("FAUST_OUT_FILE") or None
PARTITIONS = int(os.environ.get("FAUST_PARTITIONS", "4"))
BROKER = os.environ.get("FAUST_BROKER") or ";".join(
    "kafka://" + s.strip() for s in os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092").split(",") if s.strip()
)

app = faust.App(
    APP_ID,
    broker=BROKER,
    datadir=os.environ.get("FAUST_DATADIR") or tempfile.mkdtemp(prefix="faust-tables-"),
    store="memory://",
    topic_partitions=PARTITIONS,
    table_standby_replicas=0,
    web_enabled=False,
    broker_commit_every=10,
    broker_commit_interval=0.5,
    consumer_auto_offset_reset="earliest",
)
app.boot_strategy.enable_web = False

words = app.topic(IN_TOPIC, key_type=str, value_type=str, key_serializer="raw", value_serializer="raw")
counts = app.Table("counts", default=int, partitions=PARTITIONS)


@app.agent(words)
async def count_words(stream):
    async for word in stream:
        counts[word] += 1


@app.timer(1.0)
async def dump_table() -> None:
    line = json.dumps({"table": {k: v for k, v in counts.items()}})
    if OUT_FILE:
        with open(OUT_FILE, "a", encoding="utf-8") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    app.main()
