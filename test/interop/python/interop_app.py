"""The Python Faust app the table interoperability scripts share: settings from the environment.

FAUST_APP_ID, FAUST_IN_TOPIC (raw string keys and values), FAUST_OUT_FILE, FAUST_PARTITIONS,
FAUST_BROKER (else KAFKA_BOOTSTRAP_SERVERS), FAUST_DATADIR; memory store, no standbys, no web
server, quick commits, reading from the earliest offset.
"""

from __future__ import annotations

import os
import tempfile

import faust

OUT_FILE = os.environ.get("FAUST_OUT_FILE") or None
PARTITIONS = int(os.environ.get("FAUST_PARTITIONS", "4"))


def make_app(name: str) -> tuple[faust.App, faust.TopicT]:
    """The app (id FAUST_APP_ID, default `py-interop-<name>`) and its input topic."""
    broker = os.environ.get("FAUST_BROKER") or ";".join(
        "kafka://" + s.strip() for s in os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092").split(",") if s.strip()
    )
    app = faust.App(
        os.environ.get("FAUST_APP_ID", f"py-interop-{name}"),
        broker=broker,
        datadir=os.environ.get("FAUST_DATADIR") or tempfile.mkdtemp(prefix=f"faust-{name}-"),
        store="memory://",
        topic_partitions=PARTITIONS,
        table_standby_replicas=0,
        web_enabled=False,
        broker_commit_every=10,
        broker_commit_interval=0.5,
        consumer_auto_offset_reset="earliest",
    )
    app.boot_strategy.enable_web = False
    topic = app.topic(
        os.environ.get("FAUST_IN_TOPIC", f"py-interop-{name}-in"),
        key_type=str, value_type=str, key_serializer="raw", value_serializer="raw",
    )
    return app, topic
