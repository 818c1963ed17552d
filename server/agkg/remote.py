"""An external SPARQL 1.1 server as agkg's store: loading it (`agkg load --into URL`) and serving
from it (`agkg serve --store URL`) with agkg's protocol handling, limits and pages in front.

Loading uses the SPARQL 1.1 Graph Store HTTP Protocol: one PUT per named graph (asserted,
inferred, ontology; store.GRAPHS), so loading again replaces them and leaves the server's other
graphs alone. Each graph is written to a temporary N-Triples file first and sent with its length,
so a large graph is streamed from disk rather than held as one request body in memory, and no
server needs to accept chunked uploads. The Graph Store Protocol scopes blank nodes to one
request: a blank node occurring in two of the graphs becomes two nodes on the server (`load`
counts and reports them; the bundled data has none).

Querying: `RemoteStore` has the interface of limits.ExecutorPool (`run`, `alive`, `ready`,
`wait_ready`, `close`), so app.Endpoint keeps doing everything before a query is run (SERVICE
and FROM policy, refusing updates) and after (metrics, statuses). Each query is POSTed as a form
with an explicit dataset: the three graphs as `default-graph-uri` (so the default graph is their
merge, as the embedded store's union default graph) and as `named-graph-uri`, unless the request
chose its own dataset (FROM, or the protocol parameters). So the server needs no union-default-graph
mode, and other graphs it holds stay out of agkg's answers. The answer is asked for in the
client's media type (TSV when the client wants CSV, which cannot be parsed back), passed through
unchanged when it is too short to exceed `max_rows`, and otherwise parsed as it streams in, cut
after `max_rows` rows or triples (the connection is dropped, so the server stops sending) and
serialized in the client's format. A server that cannot produce the media type (406) is asked
again for SPARQL JSON or N-Triples and the answer converted.

The time limit covers connecting, waiting and reading; past it the connection is closed and the
client gets 503. No timeout parameter is sent, because servers disagree on its name and unit
(Fuseki's `timeout` is seconds, Virtuoso's milliseconds): give the server its own limit
(`oxigraph serve --timeout-s`, Fuseki's `arq:queryTimeout`) or put the parameter in the store URL,
which is kept on every request.

Credentials: HTTP basic auth from the environment variable AGKG_STORE_AUTH (`user:password`),
never from the command line or the URL, so they stay out of shell history, process lists and logs.
"""

from __future__ import annotations

import base64
import http.client
import io
import logging
import os
import queue
import re
import socket
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from . import formats as F
from .limits import Refused, Reply, Request, cut_solutions, cut_triples, explain_syntax_error, looks_like_update
from .store import GRAPHS

log = logging.getLogger("agkg.remote")

AUTH_ENV = "AGKG_STORE_AUTH"
_FALLBACK_ACCEPT = "application/sparql-results+json, application/n-triples"
_ERROR_BYTES = 4096  # of a server's error message that is kept
_READ = 1 << 16


class StoreError(Exception):
    """The external store cannot be used; the message says why and what to do."""


# --- URLs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreURLs:
    """Where an external server answers queries and where it takes graphs (Graph Store Protocol)."""

    query: str
    graph_store: str


def store_urls(url: str, *, query: str | None = None, graph_store: str | None = None) -> StoreURLs:
    """Both endpoints from one URL, by the layouts of Oxigraph and Fuseki; `query` and
    `graph_store` override. The rules (README, "External store"):

    - a server root (no path): Oxigraph's `/query` and `/store`;
    - a path ending in `/query` or `/sparql` is the query endpoint; its Graph Store is `/store`
      when the path is `/query` (Oxigraph), else the sibling `data` (Fuseki's `/ds/data`);
    - `/store` (Oxigraph) or `/data` (Fuseki) is the Graph Store; the query endpoint is the
      sibling `query` or `sparql`;
    - any other path is used for both (a Fuseki dataset URL takes queries and graphs alike).
    """
    parts = _checked(url)
    path = parts.path.rstrip("/")
    parent, _, last = path.rpartition("/")
    at = lambda p: urlunsplit(parts._replace(path=p))  # noqa: E731
    if not path:
        found = StoreURLs(at("/query"), at("/store"))
    elif last in ("query", "sparql"):
        found = StoreURLs(at(path), at("/store" if path == "/query" else f"{parent}/data"))
    elif last == "store":
        found = StoreURLs(at(f"{parent}/query"), at(path))
    elif last == "data":
        found = StoreURLs(at(f"{parent}/sparql"), at(path))
    else:
        found = StoreURLs(at(path), at(path))
    return StoreURLs(_checked(query).geturl() if query else found.query, _checked(graph_store).geturl() if graph_store else found.graph_store)


def _checked(url: str):
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StoreError(f"{url!r} is not an http:// or https:// URL of a SPARQL server")
    if parts.username or parts.password:
        raise StoreError(f"put the store's credentials in ${AUTH_ENV} (user:password), not in the URL")
    return parts


def _auth_headers() -> dict[str, str]:
    value = os.environ.get(AUTH_ENV)
    if not value:
        return {}
    if ":" not in value:
        raise StoreError(f"${AUTH_ENV} must be user:password")
    return {"Authorization": "Basic " + base64.b64encode(value.encode()).decode()}


# --- HTTP --------------------------------------------------------------------------------------


class _Connections:
    """Keep-alive connections to one server, reused across requests (one per concurrent request)."""

    def __init__(self, url: str, size: int):
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port
        self.target = parts.path or "/"
        self.params = parts.query  # kept on every request (a server's own timeout parameter, say)
        self.headers = _auth_headers()
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue(maxsize=max(size, 1))

    def path(self, **params: str) -> str:
        extra = urlencode(params)
        query = "&".join(p for p in (self.params, extra) if p)
        return self.target + ("?" + query if query else "")

    def request(self, method: str, path: str, body, headers: dict[str, str], timeout: float):
        """Send one request and return (connection, response) once the status line is in.

        A kept-alive connection the server has closed meanwhile fails before any byte of an
        answer; the request is then sent once more on a fresh connection (queries are read-only).
        """
        headers = {**self.headers, **headers}
        for attempt in (0, 1):
            conn, reused = self._take(timeout)
            try:
                conn.request(method, path, body, headers)
                return conn, conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                if not reused or attempt:
                    raise
                if hasattr(body, "seek"):
                    body.seek(0)
            except BaseException:
                conn.close()
                raise
        raise AssertionError("unreachable")

    def _take(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            conn = cls(self.host, self.port, timeout=timeout)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return conn, False
        conn.sock.settimeout(timeout)
        return conn, True

    def give_back(self, conn: http.client.HTTPConnection) -> None:
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


class _Body:
    """A response body read under a deadline, after the bytes already read (`head`)."""

    def __init__(self, head: bytes, response: http.client.HTTPResponse, conn, deadline: float):
        self.head = head
        self.response = response
        self.conn = conn
        self.deadline = deadline

    def read(self, n: int = -1) -> bytes:
        if self.head:
            chunk, self.head = (self.head, b"") if n < 0 or n >= len(self.head) else (self.head[:n], self.head[n:])
            return chunk
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.conn.sock.settimeout(left)
        return self.response.read(n if n >= 0 else None) if n != 0 else b""


def _message(response: http.client.HTTPResponse) -> str:
    text = response.read(_ERROR_BYTES).decode("utf-8", "replace").strip()
    return text or response.reason


# --- querying ------------------------------------------------------------------------------------


class RemoteStore:
    """Runs agkg's queries on an external SPARQL server; the interface of limits.ExecutorPool."""

    def __init__(
        self,
        url: str,
        size: int = 2,
        *,
        graphs: Iterable[str] = GRAPHS.values(),
        prefixes: dict[str, str] | None = None,
        on_event=None,
    ):
        self.url = store_urls(url).query
        self._http = _Connections(self.url, size)
        graphs = list(graphs)
        self._union = [("default-graph-uri", g) for g in graphs] + [("named-graph-uri", g) for g in graphs]
        self.prefixes = dict(prefixes or {})
        self._prefix_use = {p: re.compile(rf"(?<![\w.:/#-]){re.escape(p)}:") for p in self.prefixes}
        self.on_event = on_event or (lambda name: None)  # "timeout", "lost": for metrics
        self._up = True
        self._probed = 0.0

    # the interface of ExecutorPool ------------------------------------------------------------

    def run(self, request: Request, timeout: float) -> Reply:
        """Answer `request` from the store within `timeout` seconds; Refused(503/502) when it cannot."""
        try:
            reply = self._query(request, timeout)
        except (TimeoutError, socket.timeout):
            self.on_event("timeout")
            raise Refused(
                503,
                f"the SPARQL store did not answer within the {timeout:g} s limit; the request was abandoned",
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            self._up = False
            self.on_event("lost")
            raise Refused(502, f"cannot reach the SPARQL store at {self.url}: {_reason(exc)}") from None
        self._up = True
        return reply

    @property
    def alive(self) -> int:
        """1 while the store answers; after a failure it is asked again at most once a second."""
        if not self._up and time.monotonic() - self._probed > 1.0:
            self.probe(1.0)
        return int(self._up)

    @property
    def ready(self) -> int:
        return self.alive

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Block until the store answers `ASK {}` (start-up)."""
        end = time.monotonic() + timeout
        while not self.probe(max(min(2.0, end - time.monotonic()), 0.1)):
            if time.monotonic() >= end:
                log.error("the SPARQL store at %s does not answer", self.url)
                return False
            time.sleep(0.5)
        return True

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------------------------------

    def probe(self, timeout: float) -> bool:
        """Whether the store answers a trivial query now (updates `alive`)."""
        self._probed = time.monotonic()
        try:
            self._up = self._query(Request("ASK {}", "json", None, union=False), timeout).status == 200
        except (OSError, http.client.HTTPException, Refused):
            self._up = False
        return self._up

    def _query(self, request: Request, timeout: float) -> Reply:
        if looks_like_update(request.query):  # never let an update reach a writable server
            return Reply(400, "", b"malformed query: SPARQL Update is not a query")
        deadline = time.monotonic() + timeout
        text, shift = self._with_prefixes(request.query)
        params = [("query", text), *self._dataset(request)]
        reply = self._ask(params, _accept(request.results_format, request.graph_format), request, deadline, shift)
        if reply is None:  # 406: the server lacks the media type; ask for a common one, convert
            reply = self._ask(params, _FALLBACK_ACCEPT, request, deadline, shift)
        return reply or Reply(406, "", b"the SPARQL store cannot produce SPARQL JSON results or N-Triples")

    def _with_prefixes(self, query: str) -> tuple[str, int]:
        """The query with a PREFIX line for each predeclared prefix it uses without declaring,
        and how many lines were added (to correct positions in the server's error messages)."""
        missing = [
            p
            for p, used in self._prefix_use.items()
            if used.search(query) and not re.search(rf"PREFIX\s+{re.escape(p)}:", query, re.IGNORECASE)
        ]
        if not missing:
            return query, 0
        return "".join(f"PREFIX {p}: <{self.prefixes[p]}>\n" for p in missing) + query, len(missing)

    def _dataset(self, request: Request) -> list[tuple[str, str]]:
        if request.default_graphs is not None or request.named_graphs is not None:
            return [("default-graph-uri", g) for g in request.default_graphs or ()] + [
                ("named-graph-uri", g) for g in request.named_graphs or ()
            ]
        return self._union if request.union else []

    def _ask(self, params, accept: str, request: Request, deadline: float, shift: int) -> Reply | None:
        """One round trip; None when the server answers 406."""
        body = urlencode(params).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept}
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        conn, response = self._http.request("POST", self._http.path(), body, headers, left)
        complete = False
        try:
            if response.status == 406:
                _message(response)
                complete = response.isclosed()
                return None
            if response.status != 200:
                reply = _error_reply(response.status, _message(response), request.query, shift, self.url)
                complete = response.isclosed()
                return reply
            reply, complete = _answer(response, conn, request, deadline)
            return reply
        finally:
            if complete and not response.will_close:
                self._http.give_back(conn)
            else:
                conn.close()


def _accept(results: str | None, graph: str | None) -> str:
    """The Accept header for the client's formats (TSV for CSV: agkg must be able to re-read it)."""
    types = []
    if results:
        types.append(F.BY_NAME["tsv" if results == "csv" else results].media_type)
    if graph:
        types.append(F.BY_NAME[graph].media_type)
    return ", ".join(types) or _FALLBACK_ACCEPT


def _format_of(content_type: str, request: Request) -> F.Format | None:
    """The Format the server answered in, preferring the families the client asked for."""
    media = content_type.split(";", 1)[0].strip().lower()
    found = [f for f in F.FORMATS if media == f.media_type] or [f for f in F.FORMATS if media in f.aliases]
    for name in (request.results_format, request.graph_format, "tsv"):
        if name and F.BY_NAME[name] in found:
            return F.BY_NAME[name]
    return found[0] if found else None


def _answer(response: http.client.HTTPResponse, conn, request: Request, deadline: float) -> tuple[Reply, bool]:
    """The 200 answer in the client's format, cut at max_rows; and whether it was read to the end."""
    got = _format_of(response.getheader("Content-Type", ""), request)
    if got is None:
        raise Refused(502, f"the SPARQL store answered in {response.getheader('Content-Type')!r}, which agkg cannot read")
    want_name = request.results_format if got.kind == F.RESULTS else request.graph_format
    if want_name is None:
        try:
            F.Choice(None, None).pick(got.kind)
        except F.NotAcceptable as exc:
            return Reply(406, "", str(exc).encode()), False
    want = F.BY_NAME[want_name]
    budget = got.min_row_bytes * (request.max_rows + 1)
    stream = _Body(b"", response, conn, deadline)
    parts, size = [], 0
    while size < budget:
        chunk = stream.read(_READ)
        if not chunk:  # all of it, and too short to hold more than max_rows
            body = b"".join(parts)
            try:  # parsed even when passed through: a server may send 200, then fail mid-body
                if got is want:
                    _parse_all(body, got)
                else:
                    body = _cut(io.BytesIO(body), got, want, request.max_rows)[0]
            except SyntaxError as exc:
                return _unreadable(exc, body), True
            return Reply(200, want.name, body, False, got.kind), True
        parts.append(chunk)
        size += len(chunk)
    try:
        body, truncated = _cut(_Body(b"".join(parts), response, conn, deadline), got, want, request.max_rows)
    except SyntaxError as exc:
        return _unreadable(exc, b"".join(parts)), False
    return Reply(200, want.name, body, truncated, got.kind), False


def _parse_all(body: bytes, fmt: F.Format) -> None:
    """Raise SyntaxError unless `body` is a complete document in `fmt`."""
    import pyoxigraph as ox

    if fmt.kind == F.GRAPH:
        for _ in ox.parse(body, format=fmt.ox_format):
            pass
    elif fmt.name != "csv":  # not parseable (and never asked for: see _accept)
        results = ox.parse_query_results(body, format=fmt.ox_format)
        if not isinstance(results, ox.QueryBoolean):
            for _ in results:
                pass


def _unreadable(exc: SyntaxError, body: bytes) -> Reply:
    tail = body[-200:].decode("utf-8", "replace").strip()
    return Reply(502, "", f"the SPARQL store's answer is cut short or malformed ({exc}); it ends with: {tail}".encode())


def _cut(stream, got: F.Format, want: F.Format, max_rows: int) -> tuple[bytes, bool]:
    """Parse `stream` (in format `got`) lazily, keep max_rows rows or triples, write them as `want`."""
    import pyoxigraph as ox

    if got.kind == F.GRAPH:
        return cut_triples(ox.parse(stream, format=got.ox_format), want, max_rows)
    results = ox.parse_query_results(stream, format=got.ox_format)
    if isinstance(results, ox.QueryBoolean):
        return results.serialize(format=want.ox_format), False
    return cut_solutions(results, want, max_rows)


_POSITION = re.compile(r"(error at |line )(\d+)([:,])")
_PARSE_ERROR = re.compile(r"error at \d+:\d+|parse|syntax|lexical|encountered", re.IGNORECASE)


def _error_reply(status: int, message: str, query: str, shift: int, url: str) -> Reply:
    """A non-200 answer as the embedded executors would give it (400 malformed / failed; 502 for
    the server's own failures and refusals)."""
    if status == 400:
        if _PARSE_ERROR.search(message):
            if shift:  # lines of PREFIX declarations agkg added before the user's query
                message = _POSITION.sub(lambda m: f"{m.group(1)}{max(int(m.group(2)) - shift, 1)}{m.group(3)}", message)
            return Reply(400, "", explain_syntax_error(query, message).encode())
        return Reply(400, "", f"query failed: {message}".encode())
    if status in (401, 403):
        hint = f" (credentials are read from ${AUTH_ENV}=user:password)"
        return Reply(502, "", f"the SPARQL store at {url} refused the query ({status}): {message}{hint}".encode())
    if status in (503, 504):
        return Reply(503, "", f"the SPARQL store is unavailable or timed out ({status}): {message}".encode())
    return Reply(502, "", f"the SPARQL store at {url} answered {status}: {message}".encode())


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running, and is the URL's port right?)"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    return str(exc) or type(exc).__name__


# --- loading and checking ------------------------------------------------------------------------


def load(store, urls: StoreURLs, *, timeout: float = 600.0, echo=print) -> None:
    """PUT each of the three named graphs of `store` (a pyoxigraph Store) to the Graph Store.

    Raises StoreError when the server cannot be reached or refuses a graph.
    """
    import pyoxigraph as ox

    http_ = _Connections(urls.graph_store, 1)
    blank: dict[str, set[str]] = {}
    try:
        for name, iri in GRAPHS.items():
            seen = blank.setdefault(name, set())
            with tempfile.TemporaryFile(prefix="agkg-load-") as tmp:
                ox.serialize(_triples(store, iri, seen), output=tmp, format=ox.RdfFormat.N_TRIPLES)
                size = tmp.tell()
                tmp.seek(0)
                headers = {"Content-Type": "application/n-triples", "Content-Length": str(size)}
                started = time.perf_counter()
                try:
                    conn, response = http_.request("PUT", http_.path(graph=iri), tmp, headers, timeout)
                except (TimeoutError, socket.timeout):
                    raise StoreError(f"the graph store at {urls.graph_store} did not answer within {timeout:g} s") from None
                except (OSError, http.client.HTTPException) as exc:
                    raise StoreError(f"cannot reach the graph store at {urls.graph_store}: {_reason(exc)}") from None
                try:
                    if response.status not in (200, 201, 204):
                        raise StoreError(
                            f"the graph store at {urls.graph_store} answered {response.status} {response.reason} "
                            f"to PUT of the {name} graph: {_message(response)}"
                        )
                    response.read()
                finally:
                    conn.close()
            echo(f"{name:>9}: {size:,} bytes of N-Triples put as <{iri}> in {time.perf_counter() - started:.1f} s")
    finally:
        http_.close()
    names = list(blank)
    shared = {b for i, a in enumerate(names) for other in names[i + 1 :] for b in blank[a] & blank[other]}
    if shared:
        echo(
            f"warning: {len(shared)} blank nodes occur in more than one graph; the Graph Store Protocol "
            "scopes blank nodes to one request, so the server holds a separate node in each graph"
        )


def _triples(store, iri: str, blank: set[str]):
    import pyoxigraph as ox

    for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(iri)):
        if isinstance(quad.subject, ox.BlankNode):
            blank.add(quad.subject.value)
        if isinstance(quad.object, ox.BlankNode):
            blank.add(quad.object.value)
        yield quad.triple


def graph_counts(query_url: str, timeout: float = 60.0) -> dict[str, int]:
    """Triples per agkg graph (asserted, inferred, ontology) as the server's query endpoint counts them."""
    values = " ".join(f"<{iri}>" for iri in GRAPHS.values())
    query = f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g"
    remote = RemoteStore(query_url, 1)
    try:
        reply = remote.run(Request(query, "tsv", None, union=False, max_rows=10), timeout)
    except Refused as exc:
        raise StoreError(exc.message) from None
    finally:
        remote.close()
    if reply.status != 200:
        raise StoreError(f"counting the graphs at {query_url} failed: {reply.body.decode('utf-8', 'replace')}")
    import pyoxigraph as ox

    by_iri = {row["g"].value: int(row["n"].value) for row in ox.parse_query_results(reply.body, format=ox.QueryResultsFormat.TSV)}
    return {name: by_iri.get(iri, 0) for name, iri in GRAPHS.items()}


def compare_counts(remote: dict[str, int], local: dict[str, int]) -> list[str]:
    """One line per graph whose triple count on the server differs from the built store's."""
    return [
        f"{name}: the store holds {remote.get(name, 0):,} triples, the built graph {n:,}"
        for name, n in local.items()
        if remote.get(name, 0) != n
    ]


def check_store(url: str, local: dict[str, int], warn=print) -> None:
    """Start-up check of `agkg serve --store`: the store answers (else StoreError), and holds as
    many triples per graph as the built store (else a warning naming `agkg load`)."""
    query_url = store_urls(url).query
    for line in compare_counts(graph_counts(query_url, timeout=30.0), local):
        warn(f"{line}; answers will differ from the embedded store's until `agkg load --into {url}`")
