"""Python Faust (faust-streaming) side of the table changelog interoperability test with faust-ts.

A word-count table `counts` (default int) over FAUST_IN_TOPIC (key = value = the word), app id
FAUST_APP_ID, FAUST_PARTITIONS partitions. Every second a timer writes the table's current
contents as one JSON line `{"table": {...}}` to FAUST_OUT_FILE (so the test sees what a Python
worker recovered from a changelog that faust-ts wrote, and the other way round).

    FAUST_APP_ID=... FAUST_IN_TOPIC=T FAUST_OUT_FILE=/tmp/x.jsonl python -m faust -A faust_tables worker -l warn
"""

from __future__ import annotations

import json

from interop_app import OUT_FILE, PARTITIONS, make_app

app, words = make_app("tables")
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
