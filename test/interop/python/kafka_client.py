#!/usr/bin/env python3
"""kafka-python client for faust-ts interoperability tests.

Every command prints JSON lines on stdout (one object per line); diagnostics go to stderr.
Bytes (keys, values, header values) are printed as UTF-8 text when they decode, else as base64
with a sibling flag "<field>_b64": true.

    kafka_client.py produce   --bootstrap 127.0.0.1:9092 --topic T --count N [--key-prefix k]
                              [--no-key] [--headers] [--value-json] [--partitions P] [--acks all]
        -> {"key","partition","offset"} per message (kafka-python's default partitioner);
           keys <prefix><i> (default key-<i>), values value-<i> or with --value-json
           {"i","key","source":"kafka-python"}; --headers adds i=<i>, source=kafka-python
    kafka_client.py consume   --bootstrap 127.0.0.1:9092 --topic T --count N --timeout S [--group G]
        -> {"partition","offset","key","value","headers","timestamp"} per message, from earliest;
           exit 1 if fewer than N arrived before the timeout (those that did are printed)
    kafka_client.py partition --partitions P [--hex] KEY...
        -> {"key","murmur2","partition"} per key, no broker needed (murmur2 as Java's signed int)
    kafka_client.py create-topic  --bootstrap ... --topic T [--partitions P]
        -> {"created": T, "partitions": P}, or {"exists": T} (exit 0 too)
    kafka_client.py delete-topics --bootstrap ... [--prefix PFX] [T...]          -> {"deleted": [...]}
    kafka_client.py committed     --bootstrap ... --group G [--topic T]
        -> {"topic","partition","offset"} per committed offset of group G
    kafka_client.py delete-groups --bootstrap ... G...                           -> {"deleted": [...]}

--bootstrap defaults to $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
import time
from typing import Iterable, List, Optional, Tuple

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError
from kafka.partitioner.default import DefaultPartitioner, murmur2


def out(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def err(msg: str) -> None:
    sys.stderr.write(f"kafka_client: {msg}\n")
    sys.stderr.flush()


def render_bytes(name: str, data: Optional[bytes], obj: dict) -> None:
    if data is None:
        obj[name] = None
        return
    try:
        obj[name] = data.decode("utf-8")
    except UnicodeDecodeError:
        obj[name] = base64.b64encode(data).decode("ascii")
        obj[name + "_b64"] = True


def to_signed32(h: int) -> int:
    return h - (1 << 32) if h >= (1 << 31) else h


def bootstrap_list(s: str) -> List[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


# ---------------------------------------------------------------------------- partition


class _StubCluster:
    """Just enough of kafka-python's ClusterMetadata for DefaultPartitioner.partition()."""

    def __init__(self, topic: str, partitions: int) -> None:
        self._topic = topic
        self._parts = set(range(partitions))

    def topics(self) -> set:
        return {self._topic}

    def partitions_for_topic(self, topic: str) -> set:
        return set(self._parts)

    def available_partitions_for_topic(self, topic: str) -> set:
        return set(self._parts)


def cmd_partition(args: argparse.Namespace) -> int:
    if args.partitions < 1:
        err("--partitions must be >= 1")
        return 2
    partitioner = DefaultPartitioner()
    cluster = _StubCluster("t", args.partitions)
    for key in args.keys:
        raw = bytes.fromhex(key) if args.hex else key.encode("utf-8")
        p = partitioner.partition("t", raw, raw, None, None, cluster)
        out({"key": key, "murmur2": to_signed32(murmur2(raw)), "partition": p})
    return 0


# ---------------------------------------------------------------------------- admin helpers


def admin(args: argparse.Namespace) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=bootstrap_list(args.bootstrap), client_id="py-interop-admin")


def ensure_topic(args: argparse.Namespace, topic: str, partitions: int) -> bool:
    """Create the topic with `partitions` partitions; False if it already existed."""
    a = admin(args)
    try:
        if hasattr(a, "list_group_offsets"):  # kafka-python 3.x: dict form, wait until leaders exist
            a.create_topics(
                {topic: {"num_partitions": partitions, "replication_factor": args.replication_factor}},
                wait_for_metadata=True,
            )
        else:  # kafka-python 2.x
            a.create_topics([NewTopic(topic, partitions, args.replication_factor)])
        return True
    except TopicAlreadyExistsError:
        return False
    finally:
        a.close()


def cmd_create_topic(args: argparse.Namespace) -> int:
    created = ensure_topic(args, args.topic, args.partitions)
    out({"created": args.topic, "partitions": args.partitions} if created else {"exists": args.topic})
    return 0


def cmd_delete_topics(args: argparse.Namespace) -> int:
    a = admin(args)
    try:
        names = set(args.topics)
        if args.prefix:
            names |= {t for t in a.list_topics() if t.startswith(args.prefix)}
        deleted = []
        for t in sorted(names):
            try:
                a.delete_topics([t])
                deleted.append(t)
            except UnknownTopicOrPartitionError:
                pass
        out({"deleted": deleted})
        return 0
    finally:
        a.close()


def cmd_delete_groups(args: argparse.Namespace) -> int:
    a = admin(args)
    try:
        delete = getattr(a, "delete_groups", None) or a.delete_consumer_groups  # 3.x / 2.x
        res = delete(args.groups)
        # kafka-python 3.x: {group_id: None | error name}; 2.x: [(group_id, KafkaError)].
        pairs = list(res.items()) if isinstance(res, dict) else list(res)
        deleted, failed = [], {}
        for g, e in pairs:
            if e is None or getattr(e, "errno", None) == 0 or e in ("OK", "NoError"):
                deleted.append(g)
            else:
                failed[g] = e if isinstance(e, str) else (e.__name__ if isinstance(e, type) else type(e).__name__)
        out({"deleted": deleted, "failed": failed})
        return 0
    finally:
        a.close()


def cmd_committed(args: argparse.Namespace) -> int:
    a = admin(args)
    try:
        if hasattr(a, "list_group_offsets"):  # kafka-python 3.x
            offsets = a.list_group_offsets({args.group: None}).get(args.group, {})
        else:  # kafka-python 2.x
            offsets = a.list_consumer_group_offsets(args.group)
        for tp, om in sorted(offsets.items(), key=lambda kv: (kv[0].topic, kv[0].partition)):
            if args.topic and tp.topic != args.topic:
                continue
            out({"topic": tp.topic, "partition": tp.partition, "offset": om.offset})
        return 0
    finally:
        a.close()


# ---------------------------------------------------------------------------- produce


def cmd_produce(args: argparse.Namespace) -> int:
    if args.partitions:
        ensure_topic(args, args.topic, args.partitions)
    acks = args.acks if args.acks == "all" else int(args.acks)
    producer = KafkaProducer(
        bootstrap_servers=bootstrap_list(args.bootstrap),
        client_id="py-interop-producer",
        acks=acks,
        linger_ms=args.linger_ms,
    )
    try:
        futures: List[Tuple[Optional[str], object]] = []
        for i in range(args.count):
            key = None if args.no_key else f"{args.key_prefix}{i}"
            if args.value_json:
                value = json.dumps({"i": i, "key": key, "source": "kafka-python"}).encode()
            else:
                value = f"{args.value_prefix}{i}".encode()
            headers = None
            if args.headers:
                headers = [("i", str(i).encode()), ("source", b"kafka-python")]
            fut = producer.send(args.topic, key=None if key is None else key.encode(), value=value, headers=headers)
            futures.append((key, fut))
        producer.flush(timeout=args.timeout)
        for key, fut in futures:
            md = fut.get(timeout=args.timeout)  # type: ignore[attr-defined]
            out({"key": key, "partition": md.partition, "offset": md.offset})
        return 0
    finally:
        producer.close(timeout=5)


# ---------------------------------------------------------------------------- consume


def cmd_consume(args: argparse.Namespace) -> int:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_list(args.bootstrap),
        client_id="py-interop-consumer",
        group_id=args.group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    deadline = time.monotonic() + args.timeout
    got = 0
    try:
        if args.group:
            consumer.subscribe([args.topic])
        else:
            # No group: assign all partitions ourselves (wait for the topic's metadata).
            parts = None
            while time.monotonic() < deadline:
                parts = consumer.partitions_for_topic(args.topic)
                if parts:
                    break
                time.sleep(0.2)
            if not parts:
                err(f"topic {args.topic} not found within {args.timeout}s")
                return 1
            tps = [TopicPartition(args.topic, p) for p in sorted(parts)]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
        while (args.count <= 0 or got < args.count) and time.monotonic() < deadline:
            remaining_ms = max(1, int((deadline - time.monotonic()) * 1000))
            batch = consumer.poll(timeout_ms=min(500, remaining_ms))
            records = [r for recs in batch.values() for r in recs]
            records.sort(key=lambda r: (r.partition, r.offset))
            to_commit = {}
            for r in records:
                if args.count > 0 and got >= args.count:
                    break
                line: dict = {"partition": r.partition, "offset": r.offset}
                render_bytes("key", r.key, line)
                render_bytes("value", r.value, line)
                headers = []
                for hk, hv in r.headers or []:
                    h: dict = {"key": hk}
                    render_bytes("value", hv, h)
                    headers.append(h)
                line["headers"] = headers
                line["timestamp"] = r.timestamp
                out(line)
                got += 1
                to_commit[TopicPartition(r.topic, r.partition)] = _offset_meta(r.offset + 1)
            if args.group and to_commit:
                # Commit exactly what was printed (synchronously, so `committed` sees it right after).
                consumer.commit(to_commit)
        if args.count > 0 and got < args.count:
            err(f"only {got} of {args.count} messages within {args.timeout}s")
            return 1
        return 0
    finally:
        consumer.close(autocommit=False)


def _offset_meta(offset: int):
    from kafka.structs import OffsetAndMetadata

    try:
        return OffsetAndMetadata(offset, "", -1)  # kafka-python >= 2.0.3: (offset, metadata, leader_epoch)
    except TypeError:
        return OffsetAndMetadata(offset, "")


# ---------------------------------------------------------------------------- main


def main(argv: Optional[Iterable[str]] = None) -> int:
    default_bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="store_true", help="kafka-python INFO logging on stderr")
    sub = p.add_subparsers(dest="cmd", required=True)

    def with_broker(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("--bootstrap", default=default_bootstrap, help="host:port[,host:port]")
        sp.add_argument("--replication-factor", type=int, default=1, help="for topics this tool creates")
        return sp

    sp = with_broker(sub.add_parser("produce", help="produce N messages"))
    sp.add_argument("--topic", required=True)
    sp.add_argument("--count", type=int, required=True)
    sp.add_argument("--key-prefix", default="key-", help="keys are <prefix><i> (default key-)")
    sp.add_argument("--no-key", action="store_true", help="send null keys")
    sp.add_argument("--value-prefix", default="value-", help="values are <prefix><i> (default value-)")
    sp.add_argument("--value-json", action="store_true", help='values are {"i","key","source"} JSON')
    sp.add_argument("--headers", action="store_true", help="add headers i=<i>, source=kafka-python")
    sp.add_argument("--partitions", type=int, default=0, help="create the topic with P partitions first")
    sp.add_argument("--acks", default="all", choices=["0", "1", "all"])
    sp.add_argument("--linger-ms", type=int, default=5)
    sp.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for acks")
    sp.set_defaults(func=cmd_produce)

    sp = with_broker(sub.add_parser("consume", help="consume from earliest"))
    sp.add_argument("--topic", required=True)
    sp.add_argument("--count", type=int, required=True, help="stop after N messages (0: until --timeout)")
    sp.add_argument("--timeout", type=float, default=30.0, help="overall deadline in seconds")
    sp.add_argument("--group", default=None, help="consumer group (commits what it printed); none: assign all")
    sp.set_defaults(func=cmd_consume)

    sp = sub.add_parser("partition", help="kafka-python DefaultPartitioner's choice per key")
    sp.add_argument("--partitions", type=int, required=True)
    sp.add_argument("--hex", action="store_true", help="keys are hex-encoded bytes")
    sp.add_argument("keys", nargs="+", metavar="KEY")
    sp.set_defaults(func=cmd_partition)

    sp = with_broker(sub.add_parser("create-topic", help="create a topic"))
    sp.add_argument("--topic", required=True)
    sp.add_argument("--partitions", type=int, default=1)
    sp.set_defaults(func=cmd_create_topic)

    sp = with_broker(sub.add_parser("delete-topics", help="delete topics (by name and/or prefix)"))
    sp.add_argument("--prefix", default=None)
    sp.add_argument("topics", nargs="*")
    sp.set_defaults(func=cmd_delete_topics)

    sp = with_broker(sub.add_parser("committed", help="committed offsets of a group"))
    sp.add_argument("--group", required=True)
    sp.add_argument("--topic", default=None)
    sp.set_defaults(func=cmd_committed)

    sp = with_broker(sub.add_parser("delete-groups", help="delete consumer groups"))
    sp.add_argument("groups", nargs="+")
    sp.set_defaults(func=cmd_delete_groups)

    args = p.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    if not args.verbose:
        # Harmless right after subscribing to a topic whose metadata is not loaded yet.
        logging.getLogger("kafka.coordinator.assignors.range").setLevel(logging.ERROR)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
