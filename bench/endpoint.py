"""Throughput and latency of the agkg endpoint next to Oxigraph's own server, on the bundled data.

    python bench/endpoint.py [--duration 5] [--connections 8]

Starts, on 127.0.0.1 and free ports: `agkg serve`; `oxigraph serve-read-only` over a store loaded
with the same N-Quads (asserted + inferred + ontology graphs, union default graph); and two
"hello world" apps under granian with agkg's worker settings: a Flask one (the ceiling any Flask
app reaches here) and a bare WSGI one (the ceiling of agkg's /sparql, which bypasses Flask). Then drives each with the same closed-loop load (N keep-alive connections, each sending
its next request when the previous answer is complete) for a fixed time per cell, and prints
requests per second, p50 and p99 latency, and the ratio agkg/oxigraph.

Four query kinds; every request of a kind asks about a different entity drawn from the data, so
no response cache can carry the numbers. The load generator is in-process Python (selectors,
raw HTTP/1.1): it shares the CPU with the servers, like any load generator on the same machine.
Installs nothing; needs the `oxigraph` command (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import os
import platform
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"

# Each takes an entity IRI and returns a query; the text is identical for both servers.
KINDS = {
    "label lookup": lambda e: f"SELECT ?label WHERE {{ <{e}> <{RDFS_LABEL}> ?label }}",
    "2-hop join": lambda e: f"SELECT ?p ?o ?label WHERE {{ <{e}> ?p ?o . ?o <{RDFS_LABEL}> ?label }}",
    "aggregation": lambda e: (
        f"SELECT ?type (COUNT(?fact) AS ?n) WHERE {{ ?fact ?p <{e}> . ?fact <{RDF_TYPE}> ?type }} "
        "GROUP BY ?type ORDER BY DESC(?n)"
    ),
    "property path": lambda e: f"SELECT DISTINCT ?class WHERE {{ <{e}> <{RDF_TYPE}>/<{SUBCLASS}>* ?class }}",
}


# --- load generator ----------------------------------------------------------------------------


class _Conn:
    __slots__ = ("sock", "buf", "sent_at", "head_done", "chunked", "need", "status")


def _response_complete(c: _Conn) -> bool:
    """Consume one complete HTTP/1.1 response from c.buf if there is one."""
    if not c.head_done:
        end = c.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = c.buf[:end].decode("latin-1").lower()
        c.buf = c.buf[end + 4 :]
        c.status = int(head[9:12])
        c.head_done = True
        c.chunked = "transfer-encoding: chunked" in head
        c.need = 0
        if not c.chunked:
            at = head.find("content-length:")
            if at >= 0:
                stop = head.find("\r\n", at)
                c.need = int(head[at + 15 : stop if stop > 0 else None])
    if c.chunked:
        pos = 0
        while True:
            eol = c.buf.find(b"\r\n", pos)
            if eol < 0:
                return False
            size = int(c.buf[pos:eol].split(b";")[0], 16)
            if size == 0:
                if len(c.buf) < eol + 4:
                    return False
                c.buf = c.buf[eol + 4 :]
                c.head_done = False
                return True
            pos = eol + 2 + size + 2
            if len(c.buf) < pos:
                return False
    if len(c.buf) < c.need:
        return False
    c.buf = c.buf[c.need :]
    c.head_done = False
    return True


def drive(port: int, requests: list[bytes], connections: int, duration: float, warmup: float = 1.0):
    """Closed-loop load; returns (requests/s, sorted latencies in s, {status: count})."""
    selector = selectors.DefaultSelector()
    counter = [0]

    def connect(c: _Conn) -> None:
        c.sock = socket.create_connection(("127.0.0.1", port))
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.buf, c.head_done, c.chunked, c.need, c.status = b"", False, False, 0, 0
        selector.register(c.sock, selectors.EVENT_READ, c)

    def send(c: _Conn) -> None:
        c.sent_at = time.perf_counter()
        c.sock.sendall(requests[counter[0] % len(requests)])
        counter[0] += 1

    conns = []
    for _ in range(connections):
        c = _Conn()
        connect(c)
        conns.append(c)
        send(c)
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + duration
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    while (now := time.perf_counter()) < stop_at:
        for key, _ in selector.select(timeout=stop_at - now):
            c = key.data
            data = c.sock.recv(1 << 18)
            if not data:  # the server closed the connection (no keep-alive): reconnect, resend
                selector.unregister(c.sock)
                c.sock.close()
                connect(c)
                send(c)
                continue
            c.buf += data
            while _response_complete(c):
                done = time.perf_counter()
                if measure_from <= done < stop_at:
                    latencies.append(done - c.sent_at)
                    statuses[c.status] = statuses.get(c.status, 0) + 1
                if done < stop_at:
                    send(c)
    for c in conns:
        selector.unregister(c.sock)
        c.sock.close()
    return len(latencies) / duration, sorted(latencies), statuses


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))] * 1000


def get_requests(port: int, path: str, queries: list[str], accept: str) -> list[bytes]:
    return [
        (
            f"GET {path}?query={urllib.parse.quote(q)} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Accept: {accept}\r\n\r\n"
        ).encode()
        for q in queries
    ]


# --- servers -----------------------------------------------------------------------------------


def command(name: str) -> str | None:
    """A console script of this Python's environment, else one on PATH."""
    sibling = Path(sys.executable).with_name(name)
    return str(sibling) if sibling.exists() else shutil.which(name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with status {proc.returncode}: {proc.args}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def start(cmd: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, **kw)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def hello_app():
    """granian factory target for the ceiling row (Flask, one route, nothing else)."""
    from flask import Flask

    app = Flask("hello")

    @app.get("/hello")
    def hello():
        return "Hello, World!"

    return app


def wsgi_hello_app():
    """granian factory target for the second ceiling row: a bare WSGI callable, as agkg's
    SparqlRoute answers queries without Flask."""

    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
        return [b"Hello, World!"]

    return hello


def entities(dump: Path, limit: int = 200) -> list[str]:
    """Labelled entities of the data (agd: IRIs), the subjects of the benchmark's queries."""
    import pyoxigraph as ox

    store = ox.Store()
    store.bulk_load(path=str(dump), format=ox.RdfFormat.N_QUADS)
    rows = store.query(
        f"SELECT DISTINCT ?e WHERE {{ ?e <{RDFS_LABEL}> ?l FILTER STRSTARTS(STR(?e), 'https://w3id.org/agkg/id/') }} "
        f"ORDER BY ?e LIMIT {limit}",
        use_default_graph_as_union=True,
    )
    return [r[0].value for r in rows]


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model or platform.machine()}), {platform.system()}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per cell (default 5)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections (default 8)")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent, help="agkg project folder")
    args = parser.parse_args()

    oxigraph, agkg, granian = (command(name) for name in ("oxigraph", "agkg", "granian"))
    if oxigraph is None:
        raise SystemExit("the `oxigraph` command is missing: pip install -e '.[bench]'")
    if agkg is None or granian is None:
        raise SystemExit("the `agkg` command is missing: pip install -e .")

    from agkg.config import Settings
    from agkg.sources import Project
    from agkg.store import ensure_cache

    entry = ensure_cache(Project(args.root))
    subjects = entities(entry.dump)
    workdir = Path(tempfile.mkdtemp(prefix="agkg-bench-"))
    procs: list[subprocess.Popen] = []
    try:
        subprocess.run([oxigraph, "load", "--location", str(workdir / "ox"), "--file", str(entry.dump)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ports = {"agkg": free_port(), "oxigraph": free_port(), "hello": free_port(), "wsgi": free_port()}
        procs.append(start([agkg, "--root", str(args.root), "serve", "--port", str(ports["agkg"])]))
        procs.append(start([oxigraph, "serve-read-only", "--location", str(workdir / "ox"), "--union-default-graph",
                            "--bind", f"127.0.0.1:{ports['oxigraph']}"]))
        settings = Settings()
        procs.append(start([granian, "--interface", "wsgi", "--factory", "--no-ws", "--no-log",
                            "--workers", str(settings.worker_count),
                            "--blocking-threads", str(settings.executors),
                            "--port", str(ports["hello"]), "endpoint:hello_app"], cwd=Path(__file__).parent))
        procs.append(start([granian, "--interface", "wsgi", "--factory", "--no-ws", "--no-log",
                            "--workers", str(settings.worker_count),
                            "--blocking-threads", str(settings.executors),
                            "--port", str(ports["wsgi"]), "endpoint:wsgi_hello_app"], cwd=Path(__file__).parent))
        startup = wait_http(f"http://127.0.0.1:{ports['agkg']}/healthz", procs[0])
        wait_http(f"http://127.0.0.1:{ports['oxigraph']}/query?query=ASK%7B%7D", procs[1])
        wait_http(f"http://127.0.0.1:{ports['hello']}/hello", procs[2])
        wait_http(f"http://127.0.0.1:{ports['wsgi']}/hello", procs[3])

        print(f"machine: {machine()}")
        print(f"data: {entry.meta['union_triples']} triples (union of {', '.join(entry.meta['triples'])}); "
              f"{len(subjects)} entities; {args.connections} connections; {args.duration:g} s per cell; "
              f"agkg {settings.worker_count} workers x {settings.executors} executors, ready in {startup:.2f} s")
        for port, path in ((ports["agkg"], "/sparql"), (ports["oxigraph"], "/query")):  # warm both up
            drive(port, get_requests(port, path, [KINDS["label lookup"](e) for e in subjects], "*/*"),
                  args.connections, 1.0, warmup=0.5)
        header = f"{'':16} {'agkg req/s':>11} {'p50 ms':>7} {'p99 ms':>7}   {'oxigraph req/s':>14} {'p50 ms':>7} {'p99 ms':>7}   {'agkg/oxigraph':>13}"
        print(header)
        print("-" * len(header))
        accept = "application/sparql-results+json"
        for name, make in KINDS.items():
            queries = [make(e) for e in subjects]
            row = {}
            for server, path in (("agkg", "/sparql"), ("oxigraph", "/query")):
                rps, lat, statuses = drive(ports[server], get_requests(ports[server], path, queries, accept),
                                           args.connections, args.duration)
                bad = {s: n for s, n in statuses.items() if s != 200}
                if bad:
                    print(f"  warning: {server} {name}: non-200 responses {bad}")
                row[server] = (rps, percentile(lat, 0.5), percentile(lat, 0.99))
            a, o = row["agkg"], row["oxigraph"]
            print(f"{name:16} {a[0]:11.0f} {a[1]:7.2f} {a[2]:7.2f}   {o[0]:14.0f} {o[1]:7.2f} {o[2]:7.2f}   {a[0] / o[0]:13.2f}")
        hello = [f"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()]
        for name, port, note in (("Flask hello", ports["hello"], "the ceiling of any Flask app here"),
                                 ("WSGI hello", ports["wsgi"], "a bare WSGI callable, as /sparql is served")):
            rps, lat, _ = drive(port, hello, args.connections, args.duration)
            print(f"{name:16} {rps:11.0f} {percentile(lat, 0.5):7.2f} {percentile(lat, 0.99):7.2f}   "
                  f"(granian, agkg's workers/threads: {note})")
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
