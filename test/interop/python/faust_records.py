"""Python Faust (faust-streaming) side of the records interoperability test with faust-ts.

Records with a nested record, a datetime and a Decimal, under fixed namespaces that the
TypeScript side declares too (test/integration/faust-interop.test.ts).

    FAUST_APP_ID=... FAUST_IN_TOPIC=T FAUST_OUT_FILE=/tmp/x.jsonl python -m faust -A faust_records worker -l info
        the agent reads Order records from T and writes one JSON line per record, with the Python
        types it decoded (so the test can check that datetimes and decimals arrived as such).
    python -m faust -A faust_records produce-orders --topic T --count N
        sends N Order records with Faust's own serializer and prints {"id","partition","offset"} lines.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import List, Optional

import faust
from faust.cli import option

APP_ID = os.environ.get("FAUST_APP_ID", "py-interop-records")
IN_TOPIC = os.environ.get("FAUST_IN_TOPIC", "py-interop-records-in")
OUT_FILE = os.environ.get("FAUST_OUT_FILE") or None
BROKER = os.environ.get("FAUST_BROKER") or ";".join(
    "kafka://" + s.strip() for s in os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092").split(",") if s.strip()
)


class Address(faust.Record, namespace="interop.Address", coerce=True):
    city: str
    zip: Optional[str] = None


class Order(faust.Record, namespace="interop.Order", coerce=True):
    id: int
    amount: Decimal
    created: datetime
    address: Address
    items: List[str]


app = faust.App(
    APP_ID,
    broker=BROKER,
    datadir=os.environ.get("FAUST_DATADIR") or tempfile.mkdtemp(prefix="faust-records-"),
    store="memory://",
    topic_partitions=1,
    web_enabled=False,
    broker_commit_every=10,
    broker_commit_interval=0.5,
    consumer_auto_offset_reset="earliest",
)
app.boot_strategy.enable_web = False

orders = app.topic(IN_TOPIC, key_type=str, value_type=Order)


def _emit(obj: dict) -> None:
    line = json.dumps(obj)
    if OUT_FILE:
        with open(OUT_FILE, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    else:
        print(line, flush=True)


@app.agent(orders)
async def record_orders(stream):
    async for key, order in stream.items():
        _emit(
            {
                "key": key,
                "class": type(order).__name__,
                "id": order.id,
                "amount": str(order.amount),
                "amount_type": type(order.amount).__name__,
                "created": order.created.isoformat(),
                "created_type": type(order.created).__name__,
                "address_class": type(order.address).__name__,
                "city": order.address.city,
                "zip": order.address.zip,
                "items": list(order.items),
            }
        )


@app.task
async def announce_ready() -> None:
    _emit({"event": "ready"})


def make_order(i: int) -> Order:
    return Order(
        id=i,
        amount=Decimal("12345678901234567890.123456789") + i,
        created=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc) + timedelta(seconds=i),
        address=Address(city=f"City {i}", zip=None if i % 2 else f"{10000 + i}"),
        items=[f"item-{i}", "x"],
    )


@app.command(option("--topic", type=str, required=True), option("--count", type=int, default=3))
async def produce_orders(self, topic: str, count: int) -> None:
    """Send COUNT Order records to TOPIC."""
    target = app.topic(topic, key_type=str, value_type=Order)
    for i in range(count):
        md = await (await target.send(key=f"order-{i}", value=make_order(i)))
        print(json.dumps({"id": i, "partition": md.partition, "offset": md.offset}), flush=True)


if __name__ == "__main__":
    app.main()
