"""The web application: `create_app(settings)` wires store, limits, protocol and pages together;
`serve()` runs it under a production WSGI server.

WSGI server: granian, measured against gunicorn on this 2-core machine with 8 keep-alive
connections, 2 workers each: Flask "hello" 11,400 req/s under granian vs 4,000 under gunicorn's
sync workers (which also close every connection), and a Flask route answering a pyoxigraph
label lookup 7,560 vs 3,680. Granian runs one Python thread per query executor (see limits.py):
more threads only wait on the GIL (4,100 vs 3,300 req/s with two extra threads per worker).

Other blueprints (the linked-data pages) query through `app.extensions["agkg"]`, an `Endpoint`
whose `query()`, `select()` and `construct()` apply the same limits as /sparql.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from . import __version__
from . import formats as F
from .config import ConfigError, Settings, load_settings, settings_from_dict
from .limits import Busy, ExecutorLost, ExecutorPool, QueryPolicy, QueryTimeout, Refused, Reply, Request, looks_like_update
from .metrics import Metrics
from .sources import Project, SourceError
from .store import GRAPHS, CacheEntry, ensure_cache
from .vocab import PREFIXES

access_log = logging.getLogger("agkg.access")
log = logging.getLogger("agkg")
_ENV = "AGKG_SERVE"  # how serve() hands its settings to the worker processes


class Endpoint:
    """The query side of the app: settings, store cache entry, policy, executor pool, metrics."""

    def __init__(self, settings: Settings, entry: CacheEntry, run_dir: str | None = None):
        self.settings = settings
        self.entry = entry
        self.meta = entry.meta
        self.policy = QueryPolicy(settings.service_allowlist, GRAPHS.values(), PREFIXES)
        self.metrics = Metrics(
            run_dir,
            static={
                "agkg_store_triples": {f'{{graph="{n}"}}': c for n, c in self.meta["triples"].items()},
                "agkg_info": {f'{{version="{__version__}"}}': 1},
            },
        )
        if settings.store_url:  # an external SPARQL server answers; see remote.py
            from .remote import RemoteStore

            self.pool = RemoteStore(settings.store_url, settings.executors, prefixes=PREFIXES, on_event=self.metrics.event)
        else:
            self.pool = ExecutorPool(
                str(entry.dump),
                settings.executors,
                demote_after=settings.demote_after,
                memory_bytes=settings.executor_memory_mb * 2**20 or None,
                prefixes=PREFIXES,
                on_event=self.metrics.event,
            )
        self._describe_key = (json.dumps(self.meta, sort_keys=True), tuple(sorted(settings.service_allowlist)))

    def describe_key(self) -> tuple:
        """What the service description depends on (a hashable cache key)."""
        return self._describe_key

    def query(
        self,
        sparql: str,
        *,
        choice: F.Choice | None = None,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        max_rows: int | None = None,
    ) -> Reply:
        """Run one query under every limit; raises Refused(status, message) when it cannot answer.

        `choice` defaults to JSON results / N-Triples graphs. The predeclared prefixes (agkg:,
        agd:, org:, ...) are available without PREFIX lines.
        """
        checked = self.policy.check(sparql)
        choice = choice or F.Choice(F.BY_NAME["json"], F.BY_NAME["ntriples"])
        req = Request(
            sparql,
            choice.results.name if choice.results else None,
            choice.graph.name if choice.graph else None,
            union=not checked.has_dataset,
            default_graphs=tuple(self.policy.dataset_graphs(default_graphs, "default-graph-uri")) if default_graphs else None,
            named_graphs=tuple(self.policy.dataset_graphs(named_graphs, "named-graph-uri")) if named_graphs else None,
            max_rows=max_rows or self.settings.max_rows,
        )
        timeout = self.settings.timeout
        try:
            reply = self.pool.run(req, timeout)
        except QueryTimeout:
            raise Refused(503, f"the query ran longer than the {timeout:g} s limit and was stopped") from None
        except Busy:
            raise Refused(503, f"no query executor became free within {timeout:g} s; try again") from None
        except ExecutorLost:
            raise Refused(
                503, "the query's executor stopped (it needed more memory than allowed, or crashed); the query was abandoned"
            ) from None
        if reply.status != 200:
            message = reply.body.decode("utf-8", "replace")
            if reply.status == 400 and message.startswith("malformed") and looks_like_update(sparql):
                raise Refused(403, "SPARQL Update is not allowed: this endpoint is read-only")
            raise Refused(reply.status, message)
        return reply

    def select(self, sparql: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Rows of a SELECT as {variable: pyoxigraph term} dicts (unbound variables left out)."""
        import pyoxigraph as ox

        reply = self.query(sparql, choice=F.Choice(F.BY_NAME["tsv"], None), **kwargs)
        solutions = ox.parse_query_results(reply.body, format=ox.QueryResultsFormat.TSV)
        names = [v.value for v in solutions.variables]
        return [{n: s[n] for n in names if s[n] is not None} for s in solutions]

    def construct(self, sparql: str, **kwargs: Any) -> list:
        """Triples of a CONSTRUCT or DESCRIBE as pyoxigraph Triples."""
        import pyoxigraph as ox

        reply = self.query(sparql, choice=F.Choice(None, F.BY_NAME["ntriples"]), **kwargs)
        return [q.triple for q in ox.parse(reply.body, format=ox.RdfFormat.N_TRIPLES)]

    def close(self) -> None:
        self.pool.close()


class Envelope:
    """WSGI middleware around the Flask app: CORS headers on every response, and one log line
    per request with status, bytes and milliseconds. Done here, on the raw header list, because
    it is several times cheaper than Flask's after_request on werkzeug's Headers."""

    CORS = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "X-SPARQL-MaxRows, Retry-After")]

    def __init__(self, app, *, cors: bool = True, log: bool = True):
        self.app = app
        self.cors = cors
        self.log = log
        self.write = _access_writer()

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        seen: list[str] = ["-", "-"]
        extra = list(self.CORS) if self.cors else []
        if self.cors and environ.get("REQUEST_METHOD") == "OPTIONS":
            extra += [
                ("Access-Control-Allow-Methods", "GET, POST, HEAD, OPTIONS"),
                ("Access-Control-Allow-Headers", environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS") or "Content-Type, Accept"),
                ("Access-Control-Max-Age", "86400"),
            ]

        def wrapped_start_response(status, headers, exc_info=None):
            seen[0] = status[:3]
            for name, value in headers:
                if name == "Content-Length":
                    seen[1] = value
            return start_response(status, headers + extra if extra else headers, exc_info)

        result = self.app(environ, wrapped_start_response)
        if self.log:
            query = environ.get("agkg.query")
            self.write(
                f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')} {seen[0]} {seen[1]}B "
                f"{(time.perf_counter() - started) * 1000:.2f}ms"
                + (f' query="{" ".join(query.split())[:160]}"' if query else "")
            )
        return result


def _access_writer():
    """How Envelope writes a line: straight to stderr with one system call when the access log
    is ours (serve() configured it), else through `logging` for an app embedded elsewhere.
    The logging module costs about 20 us a line, as much as the query on a label lookup."""
    handlers = access_log.handlers
    if not (len(handlers) == 1 and getattr(handlers[0], "agkg_plain", False) and access_log.isEnabledFor(logging.INFO)):
        return access_log.info
    try:
        fd = handlers[0].stream.fileno()
    except (AttributeError, OSError, ValueError):  # a stream without a file (a test's capture)
        return access_log.info
    stamp = [0, ""]

    def write(message: str) -> None:
        now = time.time()
        second = int(now)
        if second != stamp[0]:
            stamp[0], stamp[1] = second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        os.write(fd, f"{stamp[1]},{int(now * 1000) % 1000:03d} agkg.access {message}\n".encode("utf-8", "replace"))

    return write


def create_app(settings: Settings | None = None, *, entry: CacheEntry | None = None, run_dir: str | None = None) -> Flask:
    """The Flask app. Starts this process's query executors, so call it in the serving process.

    `entry` is the built store (default: built or found for `settings.root`); `run_dir` is where
    workers share metrics (default: this process only).
    """
    settings = settings or Settings()
    if entry is None:
        project = Project(Path(settings.root).resolve()) if settings.root else Project.discover()
        entry = ensure_cache(project, Path(settings.cache_dir) if settings.cache_dir else None)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.sort_keys = False
    endpoint = Endpoint(settings, entry, run_dir)
    app.extensions["agkg"] = endpoint

    from .protocol import SparqlRoute, bp, error

    app.register_blueprint(bp)
    _register_pages(app)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        response = error(exc.code or 500, _describe_http_error(exc))
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:  # a bug: log it, do not show a traceback
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error(500, "internal error (logged on the server)")

    app.wsgi_app = SparqlRoute(app.wsgi_app, endpoint, settings.max_request_bytes)
    if settings.cors or settings.log_requests:
        app.wsgi_app = Envelope(app.wsgi_app, cors=settings.cors, log=settings.log_requests)
    return app


def _describe_http_error(exc: HTTPException) -> str:
    if exc.code == 413:
        return f"the request body is larger than the {request.max_content_length} bytes allowed"
    if exc.code == 405:
        return f"{request.method} is not allowed here; use {', '.join(exc.valid_methods or ['GET'])}"
    if exc.code == 404:
        return f"nothing at {request.path}; the SPARQL endpoint is /sparql"
    return exc.description or exc.name


def _register_pages(app: Flask) -> None:
    """Mount the linked-data pages blueprint when that package is present."""
    try:
        from .pages import bp as pages_bp  # type: ignore[attr-defined]
    except ImportError:
        return
    app.register_blueprint(pages_bp)


# --- running it ------------------------------------------------------------------------------


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    config_file: Path | None = None,
    root: Path | None = None,
    store_url: str | None = None,
) -> None:
    """Build (or find) the cached store, then serve with granian until interrupted."""
    _configure_logging()
    try:
        settings = load_settings(config_file, root=str(Path(root).resolve()) if root else None, store_url=store_url)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    started = time.perf_counter()
    try:
        project = Project(Path(settings.root).resolve()) if settings.root else Project.discover()
        settings = settings.replace(root=str(project.root))
        entry = ensure_cache(project, Path(settings.cache_dir) if settings.cache_dir else None)
    except SourceError as exc:  # path:line: message, and the exit status of unreadable input
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as exc:
        where = settings.cache_dir or "the project's .agkg-cache/"
        print(f"error: cannot build the store cache in {where}: {exc}; set cache_dir in --config", file=sys.stderr)
        raise SystemExit(2) from None
    log.info("store ready in %.2f s: %s triples (%s)", time.perf_counter() - started, entry.meta["union_triples"], entry.path)
    if settings.store_url:
        from .remote import StoreError, check_store

        try:
            check_store(settings.store_url, entry.meta["triples"], log.warning)
        except StoreError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    run_dir = tempfile.mkdtemp(prefix="agkg-run-")
    os.environ[_ENV] = json.dumps({"settings": settings.to_dict(), "entry": str(entry.path), "run_dir": run_dir})
    from granian import Granian

    server = Granian(
        "agkg.app:worker_app",
        factory=True,
        interface="wsgi",
        websockets=False,
        address=host,
        port=port,
        workers=settings.worker_count,
        blocking_threads=settings.executors,  # one Python thread per executor: measured best
        log_access=False,
        respawn_failed_workers=True,
        workers_kill_timeout=5,
    )
    log.info("serving http://%s:%d/ (SPARQL at /sparql) with %d workers x %d executors", host, port, settings.worker_count, settings.executors)
    try:
        server.serve()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def worker_app():
    """The WSGI app of one granian worker, from what serve() put in the environment."""
    _configure_logging()
    spec = json.loads(os.environ[_ENV])
    settings = settings_from_dict(spec["settings"], _ENV)
    if settings.pin_cpus:
        pin_to_cpu(Path(spec["run_dir"]))
    app = create_app(settings, entry=CacheEntry(Path(spec["entry"])), run_dir=spec["run_dir"])
    app.extensions["agkg"].pool.wait_ready(30)
    return app


def pin_to_cpu(run_dir: Path) -> int | None:
    """Bind this worker process (all its threads, and the executors it starts later) to one CPU.

    Measured on this 2-core VM, one executor round trip: 74 us of executor CPU and 94 us wall
    when the two processes may run on different CPUs, 40 us and 56 us when they share one (a
    cross-CPU wake-up is an interrupt between virtual CPUs). Workers take CPUs in turn through
    slot files in `run_dir`; a respawned worker takes over the slot of the one it replaces.
    Returns the CPU, or None where affinity is not supported.
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    slot = 0
    while True:  # the first slot whose owner is gone
        path = run_dir / f"cpu-slot-{slot}"
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                owner = int(path.read_text() or 0)
                os.kill(owner, 0)
            except (ValueError, ProcessLookupError, OSError):
                path.unlink(missing_ok=True)
                continue
            slot += 1
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        break
    cpu = cpus[slot % len(cpus)]
    for task in os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else [0]:
        try:
            os.sched_setaffinity(int(task), {cpu})
        except OSError:
            pass
    return cpu


def _configure_logging() -> None:
    for name in ("agkg", "agkg.access"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
            handler.agkg_plain = True  # the access log may bypass logging (see _access_writer)
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
