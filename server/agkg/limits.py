"""Every query is bounded: what it may reach (SERVICE, FROM), how long it runs, how much it returns.

Stopping a query. pyoxigraph has no timeout and no cancellation, and a thread running Rust code
cannot be interrupted, so a runaway query can only be stopped by ending the process it runs in.
Queries therefore run in a few *executor* processes per web worker, each holding the store in
memory. A request borrows an idle executor, sends it the query over a socketpair and waits:
- once it has burnt CPU for about `demote_after` (0.25 s; measured from /proc, so a query that
  only waits for a CPU on a busy machine is left alone) the executor is reniced to 19, so a long
  query only gets CPU that the quick ones leave idle: a cartesian product does not slow the
  other clients down. Afterwards its priority is restored, or where that is not permitted
  (raising priority needs privileges) the executor is replaced;
- at `timeout` (10 s) the executor is killed (SIGKILL: the work stops at once), the client gets
  503, and a fresh executor is started in the background; the others keep serving meanwhile.
An executor that dies for another reason (out of memory under its address-space limit, a crash on
a pathological query) costs that one request a 503 and is replaced the same way.

The price is the round trip between processes: two more context switches and three system
calls per query (about 30 us of CPU on each side on this 2-core VM; the wire format below is
built to need no more). Measured with 2 granian workers, 8 connections, label lookups on the
bundled data, alternating runs: 2,800 req/s through executors vs 3,300 with the same app running
queries in the web worker (-15 %), Flask "hello" 7,600. Alternatives rejected: a thread per query
(it cannot be stopped); killing the web worker at a timeout (it drops every other request and
keep-alive connection the worker holds, and nobody is left to send the 503); a process per query
(a fork per request); checking a deadline between result rows (an aggregate, or a FILTER over a
cartesian product, runs for minutes before the first row); an on-disk store shared by executors
(queries 1.4-2.4x slower, see store.py).

Reaching out. pyoxigraph evaluates SERVICE by making the HTTP request itself (checked: it connects
to a loopback listener), so SERVICE targets are checked *before* the query reaches the store: a
small lexer (strings, comments and IRIs skipped, prefixed names expanded) finds every SERVICE and
refuses any target that is not literally on `service_allowlist`, a variable, or a relative IRI.
The lexer runs only when the query contains the word "service" or "from", or is long enough to
nest brackets MAX_NESTING deep (Oxigraph's parser overflows its stack, killing the process, at a
few thousand levels). An allowlisted SERVICE is evaluated by pyoxigraph's own HTTP client, which
has no timeout of its own: the executor timeout bounds it. FROM and FROM NAMED never fetch
anything in Oxigraph; they may only name the endpoint's own graphs. LOAD and every other update
are refused by the endpoint before they get here.

Result size. At most `max_rows` rows or triples are returned; a longer result is cut and marked.
Counting rows cheaply: a serialization shorter than `min_row_bytes * (max_rows + 1)` cannot hold
more than max_rows rows, so nearly every response is serialized once, straight into the requested
format, by pyoxigraph. Only a large one is re-run into TSV (one row per line) and cut there.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from urllib.parse import urlsplit

log = logging.getLogger("agkg.limits")

# --- policy: what a query may reach -----------------------------------------------------------


class Refused(Exception):
    """A query the endpoint will not run; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


# Every alternative is linear: possessive repeats, and an unterminated string runs to the end of
# its line (or of the text), so no input makes the scan quadratic.
_TOKENS = re.compile(
    r"""
    (?P<ws>\s++)
  | (?P<comment>\#[^\r\n]*+)
  | (?P<string>\"\"\"(?:(?:\"|\"\")?+(?:[^\"\\]|\\.))*+(?:\"\"\"|\Z)
              | '''(?:(?:'|'')?+(?:[^'\\]|\\.))*+(?:'''|\Z)
              | "(?:[^"\\\r\n]|\\.)*+(?:"|(?=[\r\n])|\Z)
              | '(?:[^'\\\r\n]|\\.)*+(?:'|(?=[\r\n])|\Z))
  | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*+>)
  | (?P<var>[?$]\w++)
  | (?P<pname>(?:[^\W\d][\w.\-]*+)?+:(?:[\w.:%\-]|\\[_~.\-!$&'()*+,;=/?\#@%])*+)
  | (?P<word>[^\W\d][\w.\-]*+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_UCHAR = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_PN_ESCAPE = re.compile(r"\\(.)")
_UPDATE = re.compile(
    r"""^(?:\s|\#[^\n]*+(?:\n|$))*+
        (?:(?:PREFIX\s*+[^\s:]*+:\s*+<[^>]*+>|BASE\s*+<[^>]*+>)(?:\s|\#[^\n]*+(?:\n|$))*+)*+
        (INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b""",
    re.IGNORECASE | re.VERBOSE,
)


def looks_like_update(text: str) -> bool:
    """True if `text` is shaped like a SPARQL Update request (used to explain a parse error)."""
    return _UPDATE.match(text) is not None


@dataclass(frozen=True)
class Checked:
    """What the policy learned about a query it let through."""

    has_dataset: bool = False  # FROM / FROM NAMED present: the query chooses its own graphs


UNCHANGED = Checked()


MAX_NESTING = 200  # levels of ( { [ : Oxigraph's parser overflows its stack at a few thousand


class QueryPolicy:
    """Refuses SERVICE to unlisted endpoints and FROM of graphs the endpoint does not hold."""

    def __init__(self, service_allowlist: Iterable[str], graphs: Iterable[str], prefixes: dict[str, str]):
        self.allowlist = frozenset(service_allowlist)
        self.graphs = frozenset(graphs)
        self.prefixes = dict(prefixes)

    def check(self, query: str) -> Checked:
        """Raise Refused, or say what the query's text implies for its evaluation."""
        if len(query) < 2 * MAX_NESTING:  # too short to nest too deeply
            lowered = query.lower()
            if "service" not in lowered and "from" not in lowered:
                return UNCHANGED  # the common case costs two substring searches
        return self._scan(query)

    def _scan(self, query: str) -> Checked:
        prefixes = dict(self.prefixes)
        tokens = [(m.lastgroup, m.group()) for m in _TOKENS.finditer(query) if m.lastgroup not in ("ws", "comment")]
        has_dataset = False
        depth = 0
        for i, (kind, value) in enumerate(tokens):
            if kind == "other":
                if value in "({[":
                    depth += 1
                    if depth > MAX_NESTING:
                        raise Refused(400, f"the query nests brackets more than {MAX_NESTING} levels deep")
                elif value in ")}]":
                    depth -= 1
                continue
            if kind != "word":
                continue
            word = value.upper()
            if word == "PREFIX" and i + 2 < len(tokens) and tokens[i + 1][0] == "pname" and tokens[i + 2][0] == "iri":
                prefixes[tokens[i + 1][1][:-1]] = _unescape_iri(tokens[i + 2][1])
            elif word == "SERVICE":
                j = i + 1
                if j < len(tokens) and tokens[j][0] == "word" and tokens[j][1].upper() == "SILENT":
                    j += 1
                self._check_service(tokens[j] if j < len(tokens) else ("other", ""), prefixes)
            elif word == "FROM":
                has_dataset = True
                j = i + 1
                if j < len(tokens) and tokens[j][0] == "word" and tokens[j][1].upper() == "NAMED":
                    j += 1
                target = _resolve(tokens[j] if j < len(tokens) else ("other", ""), prefixes)
                if target is not None and target not in self.graphs:
                    raise Refused(
                        400,
                        f"FROM <{target}>: not a graph of this endpoint (graphs are never fetched "
                        f"from the web); its graphs are {', '.join(f'<{g}>' for g in sorted(self.graphs))}",
                    )
        return Checked(has_dataset=has_dataset)

    def _check_service(self, token: tuple[str, str], prefixes: dict[str, str]) -> None:
        target = _resolve(token, prefixes)
        if target is not None and target in self.allowlist:
            return
        if token[0] == "var":
            why = f"SERVICE {token[1]}: a variable endpoint is not allowed"
        elif target is None:
            why = f"SERVICE {token[1]}: the endpoint must be written as an absolute IRI"
        else:
            why = f"SERVICE <{target}> is not on this endpoint's service allowlist"
        allowed = ", ".join(f"<{i}>" for i in sorted(self.allowlist)) or "none (federation is off)"
        raise Refused(403, f"{why}; no request was made. Allowed SERVICE endpoints: {allowed}")

    def dataset_graphs(self, iris: Iterable[str], param: str) -> list[str]:
        """Protocol default-graph-uri / named-graph-uri values, each one of the endpoint's graphs."""
        out = []
        for iri in iris:
            if iri not in self.graphs:
                raise Refused(
                    400,
                    f"{param}={iri}: not a graph of this endpoint (graphs are never fetched from "
                    f"the web); its graphs are {', '.join(sorted(self.graphs))}",
                )
            out.append(iri)
        return out


def _unescape_iri(token: str) -> str:
    return _UCHAR.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), token[1:-1])


def _resolve(token: tuple[str, str], prefixes: dict[str, str]) -> str | None:
    """The absolute IRI an IRI or prefixed-name token denotes, or None if it denotes none."""
    kind, value = token
    if kind == "iri":
        iri = _unescape_iri(value)
    elif kind == "pname":
        prefix, _, local = value.rstrip(".").partition(":")  # a local name never ends with "."
        if prefix not in prefixes:
            return None
        iri = prefixes[prefix] + _PN_ESCAPE.sub(r"\1", local)
    else:
        return None
    return iri if urlsplit(iri).scheme else None


# --- evaluation, inside an executor -----------------------------------------------------------


@dataclass(slots=True)
class Request:
    """One query for an executor. Graph lists are IRIs; None means "not given"."""

    query: str
    results_format: str | None  # formats.Format.name for SELECT/ASK, None if not acceptable
    graph_format: str | None  # for CONSTRUCT/DESCRIBE
    union: bool = True  # default graph = union of the named graphs
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    max_rows: int = 10_000


@dataclass(slots=True)
class Reply:
    """An executor's answer: HTTP-ish status, the format used (or an error message), the body."""

    status: int
    format: str  # Format.name when status is 200, else ""
    body: bytes  # the serialized result, or a UTF-8 error message
    truncated: bool = False
    kind: str = ""  # "results" or "graph" when status is 200


class _Full(Exception):
    """Raised from inside a serializer to stop it (and the evaluation feeding it)."""


class _Sink:
    """A write target for pyoxigraph's serializers that gives up past `limit` bytes or lines."""

    __slots__ = ("parts", "size", "limit", "lines", "max_lines")

    def __init__(self, limit: int | None = None, max_lines: int | None = None):
        self.parts: list[bytes] = []
        self.size = 0
        self.limit = limit
        self.lines = 0
        self.max_lines = max_lines

    def write(self, chunk: bytes) -> int:
        chunk = bytes(chunk)
        self.parts.append(chunk)
        self.size += len(chunk)
        if self.limit is not None and self.size >= self.limit:
            raise _Full
        if self.max_lines is not None:
            self.lines += chunk.count(b"\n")
            if self.lines > self.max_lines:
                raise _Full
        return len(chunk)

    def flush(self) -> None:
        pass

    def value(self) -> bytes:
        return b"".join(self.parts)


def execute(store, request: Request, prefixes: dict[str, str] | None = None) -> Reply:
    """Run one query on a pyoxigraph store and serialize it within the row cap. Never raises."""
    from . import formats as F

    try:
        results = _run(store, request, prefixes)
        import pyoxigraph as ox

        if isinstance(results, ox.QueryTriples):
            fmt_name, kind = request.graph_format, F.GRAPH
        else:
            fmt_name, kind = request.results_format, F.RESULTS
        if fmt_name is None:
            return Reply(406, "", _not_acceptable(kind))
        fmt = F.BY_NAME[fmt_name]
        if isinstance(results, ox.QueryBoolean):
            return Reply(200, fmt.name, results.serialize(format=fmt.ox_format), kind=kind)
        sink = _Sink(limit=fmt.min_row_bytes * (request.max_rows + 1))
        try:
            results.serialize(sink, format=fmt.ox_format)
            return Reply(200, fmt.name, sink.value(), kind=kind)
        except _Full:
            pass  # large: count exactly below
        cut = cut_triples if kind == F.GRAPH else cut_solutions
        body, truncated = cut(_run(store, request, prefixes), fmt, request.max_rows)
        return Reply(200, fmt.name, body, truncated, kind)
    except SyntaxError as exc:
        return Reply(400, "", explain_syntax_error(request.query, str(exc)).encode())
    except MemoryError:
        return Reply(503, "", b"the query needed more memory than an executor may use")
    except Exception as exc:  # an evaluation error is the query's (type errors, SERVICE failures, ...)
        return Reply(400, "", f"query failed: {type(exc).__name__}: {exc}".encode())


def _not_acceptable(kind: str) -> bytes:
    from . import formats as F

    return (
        f"cannot produce any requested media type for this {'SELECT/ASK' if kind == F.RESULTS else 'CONSTRUCT/DESCRIBE'}"
        f" query; available: {', '.join(f.media_type for f in F.FORMATS if f.kind == kind)}"
    ).encode()


def _run(store, request: Request, prefixes: dict[str, str] | None):
    import pyoxigraph as ox

    kwargs = {}
    if request.default_graphs is not None or request.named_graphs is not None:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in request.default_graphs or ()] or None
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in request.named_graphs or ()]
    elif request.union:
        kwargs["use_default_graph_as_union"] = True
    try:  # without the predeclared prefixes first: passing them costs ~20 us per query
        return store.query(request.query, **kwargs)
    except SyntaxError as exc:
        if not prefixes or "Prefix not found" not in str(exc):
            raise
    return store.query(request.query, prefixes=prefixes, **kwargs)


_POSITION = re.compile(r"error at (\d+):(\d+)")


def explain_syntax_error(query: str, message: str) -> str:
    """The parser's message with its position, shortened, plus the offending line and a caret."""
    if "expected one of" in message and "Prefix not found" in message:
        message = message[: message.index("expected one of")] + "undeclared prefix (declare it with PREFIX)"
    elif len(message) > 300:
        message = message[:300] + " ..."
    found = _POSITION.search(message)
    text = f"malformed query: {message}"
    if found:
        line_no, column = int(found.group(1)), int(found.group(2))
        lines = query.splitlines()
        if 1 <= line_no <= len(lines):
            line = lines[line_no - 1]
            text += f"\n  {line}\n  {' ' * max(min(column - 1, len(line)), 0)}^"
    return text


def cut_triples(triples, fmt, max_rows: int) -> tuple[bytes, bool]:
    """At most max_rows of `triples` (pyoxigraph Triples or Quads) serialized in `fmt`, and
    whether there were more. Used by executors and by remote.RemoteStore."""
    import pyoxigraph as ox

    kept = [getattr(t, "triple", t) for t in islice(triples, max_rows + 1)]
    return ox.serialize(kept[:max_rows], format=fmt.ox_format), len(kept) > max_rows


def cut_solutions(solutions, fmt, max_rows: int) -> tuple[bytes, bool]:
    """At most max_rows rows of `solutions` serialized in `fmt`, and whether there were more:
    cut in TSV (which escapes newlines, so a row is a line), then converted."""
    import pyoxigraph as ox

    sink = _Sink(max_lines=max_rows + 1)  # the header line + max_rows rows
    try:
        solutions.serialize(sink, format=ox.QueryResultsFormat.TSV)
        body, truncated = sink.value(), False
    except _Full:
        lines = sink.value().split(b"\n", max_rows + 1)
        body, truncated = b"\n".join(lines[: max_rows + 1]) + b"\n", True
    if fmt.name != "tsv":
        body = ox.parse_query_results(body, format=ox.QueryResultsFormat.TSV).serialize(format=fmt.ox_format)
    return body, truncated


# --- the wire between a web worker and an executor ----------------------------------------------
# One frame each way, in as few system calls as possible (a send, a poll and usually one recv in
# the web worker; one recv and one sendmsg in the executor): on a virtual machine every system
# call and every cross-CPU wake-up shows in the request rate.
#   request: length, flags, results format, graph format, max_rows, then UTF-8 query NUL
#            default graphs (newline-separated) NUL named graphs
#   reply:   status, truncated, kind, format name, body length, then the body

_REQUEST = struct.Struct("!IBBBI")
_REPLY = struct.Struct("!HBB16sI")  # status, truncated, kind (0/1/2), format name, body length
_KINDS = ("", "results", "graph")
_UNION, _DEFAULT, _NAMED = 1, 2, 4
_CHUNK = 1 << 16
_TICK = 0.05  # seconds between checks on a query that has not answered yet
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _format_names() -> list[str | None]:
    from .formats import FORMATS

    return [None, *(f.name for f in FORMATS)]


_NAMES: list[str | None] = []


def encode_request(request: Request) -> bytes:
    names = _NAMES or _NAMES.extend(_format_names()) or _NAMES
    flags = (
        (_UNION if request.union else 0)
        | (_DEFAULT if request.default_graphs is not None else 0)
        | (_NAMED if request.named_graphs is not None else 0)
    )
    body = b"\0".join(
        (
            request.query.encode("utf-8", "surrogatepass"),
            "\n".join(request.default_graphs or ()).encode(),
            "\n".join(request.named_graphs or ()).encode(),
        )
    )
    head = _REQUEST.pack(
        _REQUEST.size - 4 + len(body),
        flags,
        names.index(request.results_format),
        names.index(request.graph_format),
        request.max_rows,
    )
    return head + body


def decode_request(frame: bytes, names: list[str | None]) -> Request:
    _, flags, results, graph, max_rows = _REQUEST.unpack_from(frame)
    query, defaults, named = bytes(frame[_REQUEST.size :]).split(b"\0", 2)
    return Request(
        query.decode("utf-8", "surrogatepass"),
        names[results],
        names[graph],
        union=bool(flags & _UNION),
        default_graphs=_graph_list(defaults) if flags & _DEFAULT else None,
        named_graphs=_graph_list(named) if flags & _NAMED else None,
        max_rows=max_rows,
    )


def _graph_list(raw: bytes) -> tuple[str, ...]:
    return tuple(raw.decode().split("\n")) if raw else ()


def _read_frame(sock: socket.socket, buf: bytearray) -> memoryview:
    """One length-prefixed request frame (blocking); raises EOFError when the parent is gone."""
    view = memoryview(buf)
    got = 0
    need = 4
    while got < need:
        k = sock.recv_into(view[got:])
        if not k:
            raise EOFError
        got += k
        if need == 4 and got >= 4:
            need = 4 + int.from_bytes(buf[:4], "big")
            if need > len(buf):  # a long query: a buffer of its own
                bigger = bytearray(need)
                bigger[:got] = view[:got]
                view.release()
                buf, view = bigger, memoryview(bigger)
    return view[:need]


def executor_main(argv: list[str] | None = None) -> None:
    """Entry point of an executor process: load the store, then answer queries until EOF."""
    args = json.loads((argv or sys.argv)[-1])
    sock = socket.socket(fileno=args["fd"])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; the parent decides
    if args.get("memory_bytes"):
        _limit_memory(args["memory_bytes"])
    _exit_with_parent(args["parent"])
    from .store import open_dump

    store = open_dump(args["dump"])  # read-only on disk for large graphs, else loaded into memory
    prefixes = args.get("prefixes") or None
    names = _format_names()
    buf = bytearray(_CHUNK)
    sock.sendall(b"R")  # ready
    while True:
        try:
            request = decode_request(_read_frame(sock, buf), names)
        except (EOFError, OSError):
            return
        reply = execute(store, request, prefixes)
        head = _REPLY.pack(reply.status, reply.truncated, _KINDS.index(reply.kind), reply.format.encode(), len(reply.body))
        sent = sock.sendmsg([head, reply.body])
        if sent < len(head) + len(reply.body):  # a large body: the rest with sendall
            rest = (head + reply.body)[sent:]
            sock.sendall(rest)


def _limit_memory(limit: int) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # pragma: no cover - platform without it
        pass


def _exit_with_parent(parent: int) -> None:
    """Exit when the web worker that started us is gone, even in the middle of a query."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


# --- the pool, in a web worker ------------------------------------------------------------------


class QueryTimeout(Exception):
    """The query ran past its limit and its executor was killed."""


class Busy(Exception):
    """No executor became free within the query's time limit."""


class ExecutorLost(Exception):
    """The executor died while running the query (out of memory, or a crash)."""


class _Executor:
    """One executor process and our end of its socket."""

    def __init__(self, proc: subprocess.Popen, sock: socket.socket):
        self.proc = proc
        self.sock = sock
        self.demoted = False
        self.buf = bytearray(_CHUNK)
        # recv() gives up after one tick (EAGAIN), so a slow query is checked on without a poll()
        usec = int(_TICK * 1e6)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", usec // 1_000_000, usec % 1_000_000))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def call(self, request: Request, deadline: float, demote_after: float) -> Reply:
        """Send `request` and wait for the reply until `deadline`, demoting a CPU hog on the way.

        The socket has a kernel receive timeout of one tick, so a quick reply costs one send and
        one recv, and the clock is only read when a tick passes without an answer.
        """
        try:
            self.sock.sendall(encode_request(request))
        except OSError as exc:
            raise ExecutorLost(str(exc)) from None
        check_at = None
        cpu_mark = None
        buf = self.buf
        view = memoryview(buf)
        got, need = 0, _REPLY.size
        try:
            while got < need:
                try:
                    k = self.sock.recv_into(view[got:])
                except BlockingIOError:  # a tick went by without an answer
                    now = time.monotonic()
                    if now >= deadline:
                        raise QueryTimeout from None
                    if check_at is None:
                        check_at = now + demote_after - _TICK
                    elif not self.demoted and now >= check_at:
                        # Demote a query that burns CPU, not one merely waiting for a CPU.
                        cpu = self.cpu_seconds()
                        if cpu is None or (cpu_mark is not None and cpu - cpu_mark >= demote_after / 2):
                            self._demote()
                        cpu_mark, check_at = cpu, now + demote_after
                    continue
                except OSError as exc:
                    raise ExecutorLost(str(exc)) from None
                if not k:
                    raise ExecutorLost("the executor exited")
                got += k
                if need == _REPLY.size and got >= need:
                    need += _REPLY.unpack_from(buf)[4]
                    if need > len(buf):  # a large result: a buffer of its own, for this reply only
                        bigger = bytearray(need)
                        bigger[:got] = view[:got]
                        view.release()
                        buf, view = bigger, memoryview(bigger)
                if got < need and time.monotonic() >= deadline:  # a reply trickling in past the limit
                    raise QueryTimeout
            status, truncated, kind, fmt, _ = _REPLY.unpack_from(buf)
            body = bytes(view[_REPLY.size : need])
        finally:
            view.release()
        return Reply(status, fmt.rstrip(b"\0").decode(), body, bool(truncated), _KINDS[kind])

    def cpu_seconds(self) -> float | None:
        """CPU time the executor has used, from /proc (None where there is no /proc)."""
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
        except (OSError, IndexError, ValueError):
            return None

    def _demote(self) -> None:
        self.demoted = True
        try:
            os.setpriority(os.PRIO_PROCESS, self.pid, 19)
        except OSError:
            pass

    def restore(self) -> bool:
        """Undo a demotion after its query; False where raising priority is not permitted."""
        try:
            os.setpriority(os.PRIO_PROCESS, self.pid, 0)
        except OSError:
            return False
        self.demoted = False
        return True

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        self.sock.close()


class ExecutorPool:
    """Executor processes of one web worker; `run` lends one to a request, kills it on timeout."""

    def __init__(
        self,
        dump: str,
        size: int = 2,
        *,
        demote_after: float = 0.25,
        memory_bytes: int | None = None,
        prefixes: dict[str, str] | None = None,
        on_event=None,
    ):
        self.dump = str(dump)
        self.size = size
        self.demote_after = demote_after
        self.memory_bytes = memory_bytes
        self.prefixes = prefixes or {}
        self.on_event = on_event or (lambda name: None)  # "timeout", "restart", "lost": for metrics
        self._idle: queue.SimpleQueue[_Executor] = queue.SimpleQueue()
        self._live: set[_Executor] = set()
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._supervisor = threading.Thread(target=self._supervise, daemon=True, name="agkg-executors")
        self._supervisor.start()
        for _ in range(size):
            self._jobs.put(("spawn", None))

    # request path ----------------------------------------------------------------------------

    def run(self, request: Request, timeout: float) -> Reply:
        """Run `request` on an idle executor within `timeout` seconds (queueing included)."""
        deadline = time.monotonic() + timeout
        try:
            executor = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise Busy from None
        try:
            reply = executor.call(request, deadline, self.demote_after)
        except QueryTimeout:
            self._replace(executor, "timeout")
            raise
        except ExecutorLost:
            self._replace(executor, "lost")
            raise
        except BaseException:
            self._replace(executor, "lost")
            raise
        if executor.demoted and not executor.restore():  # stuck at nice 19: swap it for a fresh one
            self._replace(executor, "restart")
        else:
            self._idle.put(executor)
        return reply

    @property
    def ready(self) -> int:
        """Executors idle right now."""
        return self._idle.qsize()

    @property
    def alive(self) -> int:
        with self._lock:
            return len(self._live)

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Block until at least one executor is idle (start-up)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._idle.qsize():
                return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        self._closed = True
        with self._lock:
            live = list(self._live)
            self._live.clear()
        for executor in live:
            executor.kill()
        self._jobs.put(("stop", None))

    # background --------------------------------------------------------------------------------

    def _replace(self, executor: _Executor, why: str) -> None:
        executor.kill()
        with self._lock:
            self._live.discard(executor)
        self.on_event(why)
        self._jobs.put(("reap", executor))
        if not self._closed:
            self._jobs.put(("spawn", None))

    def _supervise(self) -> None:
        """Start and reap executors off the request path (and from one long-lived thread)."""
        while True:
            job, arg = self._jobs.get()
            if job == "stop":
                return
            if job == "reap":
                try:
                    arg.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignorable
                    log.warning("executor %s did not exit after SIGKILL", arg.pid)
                continue
            if self._closed:
                continue
            try:
                executor = self._spawn()
            except Exception as exc:  # keep serving with fewer; try again shortly
                log.error("could not start a query executor: %s", exc)
                time.sleep(1.0)
                self._jobs.put(("spawn", None))
                continue
            with self._lock:
                if self._closed:
                    executor.kill()
                    continue
                self._live.add(executor)
            self._idle.put(executor)

    def _spawn(self) -> _Executor:
        ours, theirs = socket.socketpair()
        args = {
            "fd": theirs.fileno(),
            "dump": self.dump,
            "parent": os.getpid(),
            "prefixes": self.prefixes,
            "memory_bytes": self.memory_bytes,
        }
        proc = subprocess.Popen(
            [sys.executable, "-c", "from agkg.limits import executor_main; executor_main()", json.dumps(args)],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            close_fds=True,
        )
        theirs.close()
        ours.settimeout(60)
        try:
            if ours.recv(1) != b"R":
                raise OSError(f"executor exited during start-up (status {proc.wait(timeout=5)})")
        except BaseException:
            proc.kill()
            ours.close()
            raise
        ours.settimeout(None)
        return _Executor(proc, ours)
