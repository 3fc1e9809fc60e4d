"""Python Faust (faust-streaming) side of the windowed-table interoperability test with faust-ts.

A tumbling-window page-view count `views` (default int, tumbling 10 s, expires 1 h) over
FAUST_IN_TOPIC (key = value = the page), app id FAUST_APP_ID, FAUST_PARTITIONS partitions, windows
relative to the event's timestamp (Faust's default). Every second a timer writes every window it
holds as one JSON line `{"windows": [[page, start, end, count], ...]}` to FAUST_OUT_FILE, so the
test sees what a Python worker recovered from a changelog that faust-ts wrote.

    FAUST_APP_ID=... FAUST_IN_TOPIC=T FAUST_OUT_FILE=/tmp/x.jsonl python -m faust -A faust_windows worker -l warn
"""

from __future__ import annotations

import json

from interop_app import OUT_FILE, PARTITIONS, make_app

app, pages = make_app("windows")
views = app.Table("views", default=int, partitions=PARTITIONS).tumbling(10, expires=3600)


@app.agent(pages)
async def count_views(stream):
    async for page in stream:
        views[page] += 1


@app.timer(1.0)
async def dump_windows() -> None:
    rows = sorted([key, window[0], window[1], value] for (key, window), value in views.table.data.items())
    if OUT_FILE:
        with open(OUT_FILE, "a", encoding="utf-8") as f:
            f.write(json.dumps({"windows": rows}) + "\n")


if __name__ == "__main__":
    app.main()
