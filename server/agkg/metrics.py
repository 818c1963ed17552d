"""Per-query counters in the Prometheus text format, summed over every web worker of a server.

A scrape reaches one worker at random, so each worker keeps its numbers in a small memory-mapped
file of doubles under the server's run folder and `render()` adds up all the files, those of
workers that have since exited included (counters never go down). Updating one is a few
assignments under a lock: cheap enough for every request.
"""

from __future__ import annotations

import mmap
import os
import threading
from array import array
from pathlib import Path

STATUSES = (200, 400, 403, 404, 405, 406, 413, 414, 415, 503)
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
EVENTS = ("timeout", "lost", "restart")  # what happened to an executor (limits.ExecutorPool)

_SLOTS: dict[str, int] = {}
for _name in (
    *(f"status:{s}" for s in (*STATUSES, "other")),
    *(f"bucket:{b}" for b in BUCKETS),
    "duration_sum",
    "duration_count",
    "result_bytes",
    "truncated",
    *(f"event:{e}" for e in EVENTS),
):
    _SLOTS[_name] = len(_SLOTS)
_SIZE = len(_SLOTS) * 8
_STATUS_SLOT = {s: _SLOTS[f"status:{s}"] for s in STATUSES}  # looked up on every request
_BUCKET_SLOTS = [(b, _SLOTS[f"bucket:{b}"]) for b in BUCKETS]


class Metrics:
    """This worker's counters, and the sum of all workers' on `render()`."""

    def __init__(self, folder: Path | str | None = None, static: dict[str, dict[str, float]] | None = None):
        self.folder = Path(folder) if folder else None
        self.static = static or {}  # gauges known at start-up: name -> {label value: number}
        self._lock = threading.Lock()
        self._values: memoryview | None = None
        if hasattr(os, "register_at_fork"):  # a forked worker starts its own file
            os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._values = None
        self._lock = threading.Lock()

    def _own(self) -> memoryview:
        """This process's slots (created on first use)."""
        if self._values is None:
            if self.folder is None:
                self._values = memoryview(bytearray(_SIZE)).cast("d")
            else:
                path = self.folder / f"worker-{os.getpid()}.bin"
                with open(path, "wb+") as handle:
                    handle.truncate(_SIZE)
                    self._values = memoryview(mmap.mmap(handle.fileno(), _SIZE)).cast("d")
        return self._values

    def observe_query(self, status: int, seconds: float, size: int, truncated: bool) -> None:
        with self._lock:
            values = self._own()
            values[_STATUS_SLOT.get(status, _SLOTS["status:other"])] += 1
            for bound, slot in _BUCKET_SLOTS:
                if seconds <= bound:
                    values[slot] += 1
                    break
            values[_SLOTS["duration_sum"]] += seconds
            values[_SLOTS["duration_count"]] += 1
            values[_SLOTS["result_bytes"]] += size
            if truncated:
                values[_SLOTS["truncated"]] += 1

    def event(self, name: str) -> None:
        with self._lock:
            self._own()[_SLOTS[f"event:{name}"]] += 1

    def totals(self) -> dict[str, float]:
        """Each slot summed over all workers' files (or this process alone without a folder)."""
        total = array("d", bytes(_SIZE))
        sources = []
        if self.folder is None:
            sources.append(bytes(self._own()))
        else:
            self._own()
            for path in sorted(self.folder.glob("worker-*.bin")):
                try:
                    sources.append(path.read_bytes()[:_SIZE])
                except OSError:
                    continue
        for raw in sources:
            if len(raw) == _SIZE:
                for i, v in enumerate(array("d", raw)):
                    total[i] += v
        return {name: total[i] for name, i in _SLOTS.items()}

    def render(self) -> str:
        t = self.totals()
        out = [
            "# HELP agkg_sparql_queries_total SPARQL queries answered, by HTTP status.",
            "# TYPE agkg_sparql_queries_total counter",
        ]
        for s in (*STATUSES, "other"):
            out.append(f'agkg_sparql_queries_total{{status="{s}"}} {t[f"status:{s}"]:g}')
        out += [
            "# HELP agkg_sparql_query_duration_seconds Time from request to response of SPARQL queries.",
            "# TYPE agkg_sparql_query_duration_seconds histogram",
        ]
        running = 0.0
        for bound in BUCKETS:
            running += t[f"bucket:{bound}"]
            out.append(f'agkg_sparql_query_duration_seconds_bucket{{le="{bound:g}"}} {running:g}')
        out.append(f'agkg_sparql_query_duration_seconds_bucket{{le="+Inf"}} {t["duration_count"]:g}')
        out.append(f"agkg_sparql_query_duration_seconds_sum {t['duration_sum']:.6f}")
        out.append(f"agkg_sparql_query_duration_seconds_count {t['duration_count']:g}")
        out += [
            "# HELP agkg_sparql_result_bytes_total Bytes of SPARQL results sent.",
            "# TYPE agkg_sparql_result_bytes_total counter",
            f"agkg_sparql_result_bytes_total {t['result_bytes']:g}",
            "# HELP agkg_sparql_truncated_total Results cut at max_rows.",
            "# TYPE agkg_sparql_truncated_total counter",
            f"agkg_sparql_truncated_total {t['truncated']:g}",
            "# HELP agkg_executor_events_total Query executors killed at the timeout, lost (died), "
            "or restarted after being demoted.",
            "# TYPE agkg_executor_events_total counter",
        ]
        for e in EVENTS:
            out.append(f'agkg_executor_events_total{{event="{e}"}} {t[f"event:{e}"]:g}')
        for name, series in self.static.items():
            out.append(f"# TYPE {name} gauge")
            for label, value in series.items():
                out.append(f"{name}{label} {value:g}")
        return "\n".join(out) + "\n"
