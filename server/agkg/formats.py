"""Media types of SPARQL results and RDF graphs, and choosing one from `Accept` or `format=`.

Two families: a SELECT or ASK answers in a results format, a CONSTRUCT or DESCRIBE (and the
service description) in an RDF format. The server does not know which family a query belongs
to until it is parsed, so both are chosen up front and the executor picks the one it needs.

Accept is read as RFC 9110 says: q-values, `type/*` and `*/*`, a more specific range
overriding a less specific one. Among formats the client rates equally, the more specifically
named one wins, then the server's order (JSON results, Turtle graphs). Answers are cached per
distinct header, so negotiation costs a dictionary lookup on the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pyoxigraph as ox

RESULTS = "results"  # SELECT, ASK
GRAPH = "graph"  # CONSTRUCT, DESCRIBE, service description


@dataclass(frozen=True)
class Format:
    """One serialization: what `format=` calls it, its media type(s), and pyoxigraph's name for it."""

    name: str
    kind: str
    media_type: str
    ox_format: ox.QueryResultsFormat | ox.RdfFormat
    aliases: tuple[str, ...] = ()  # other media types that select it
    names: tuple[str, ...] = ()  # other `format=` spellings
    min_row_bytes: int = 1  # fewest bytes one row/triple can take (see limits: cheap row-count bound)

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"


# In server preference order within each family.
FORMATS: tuple[Format, ...] = (
    Format("json", RESULTS, "application/sparql-results+json", ox.QueryResultsFormat.JSON,
           ("application/json",), ("srj",), min_row_bytes=2),
    Format("xml", RESULTS, "application/sparql-results+xml", ox.QueryResultsFormat.XML,
           ("application/xml", "text/xml"), ("srx",), min_row_bytes=17),
    Format("csv", RESULTS, "text/csv", ox.QueryResultsFormat.CSV, (), (), min_row_bytes=2),
    Format("tsv", RESULTS, "text/tab-separated-values", ox.QueryResultsFormat.TSV, (), (), min_row_bytes=1),
    Format("turtle", GRAPH, "text/turtle", ox.RdfFormat.TURTLE, ("application/x-turtle", "text/n3"),
           ("ttl", "n3"), 3),
    Format("ntriples", GRAPH, "application/n-triples", ox.RdfFormat.N_TRIPLES, ("text/plain",),
           ("nt", "n-triples"), 3),
    Format("jsonld", GRAPH, "application/ld+json", ox.RdfFormat.JSON_LD, ("application/json",),
           ("json-ld", "json", "ld+json"), 3),
    Format("rdfxml", GRAPH, "application/rdf+xml", ox.RdfFormat.RDF_XML, ("application/xml", "text/xml"),
           ("rdf", "xml", "owl", "rdf+xml"), 3),
    Format("trig", GRAPH, "application/trig", ox.RdfFormat.TRIG, ("application/x-trig",), (), 3),
    Format("nquads", GRAPH, "application/n-quads", ox.RdfFormat.N_QUADS, ("text/x-nquads",), ("nq", "n-quads"), 3),
)
BY_NAME: dict[str, Format] = {f.name: f for f in FORMATS}
DEFAULT = {RESULTS: BY_NAME["json"], GRAPH: BY_NAME["turtle"]}


class NotAcceptable(Exception):
    """No format of the needed family satisfies the request (HTTP 406)."""


class BadFormat(ValueError):
    """A `format=` value that names no format at all (HTTP 400)."""


@dataclass(frozen=True)
class Choice:
    """The format to use for each family; None where the request rules that family out."""

    results: Format | None
    graph: Format | None

    def pick(self, kind: str) -> Format:
        chosen = self.results if kind == RESULTS else self.graph
        if chosen is None:
            raise NotAcceptable(
                f"cannot produce any requested media type for this query; "
                f"available: {', '.join(f.media_type for f in FORMATS if f.kind == kind)}"
            )
        return chosen


@lru_cache(maxsize=512)
def choose(accept: str | None, format_param: str | None = None) -> Choice:
    """Both families' formats for this request. `format=` overrides `Accept`.

    Raises BadFormat when `format=` names nothing known.
    """
    if format_param:
        return _by_param(format_param)
    ranges = parse_accept(accept or "*/*")
    return Choice(_best(ranges, RESULTS), _best(ranges, GRAPH))


def _by_param(value: str) -> Choice:
    key = value.strip().lower()
    found: dict[str, Format] = {}
    for f in FORMATS:
        if key == f.name or key in f.names or key == f.media_type or key in f.aliases:
            found.setdefault(f.kind, f)
    if not found and "/" in key:  # a media-type list, as SPARQLWrapper sends: read it like Accept
        ranges = parse_accept(key)
        choice = Choice(_best(ranges, RESULTS), _best(ranges, GRAPH))
        if choice.results or choice.graph:
            return choice
    if not found:
        names = sorted({n for f in FORMATS for n in (f.name, *f.names)})
        raise BadFormat(f"unknown format {value!r}; use one of {', '.join(names)} or a media type")
    return Choice(found.get(RESULTS), found.get(GRAPH))


def parse_accept(header: str) -> list[tuple[str, str, float]]:
    """(type, subtype, q) for each media range; a malformed range or q-value is skipped."""
    ranges = []
    for part in header.split(","):
        media, _, params = part.strip().partition(";")
        kind, slash, sub = media.strip().lower().partition("/")
        if not slash or not kind or not sub:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, val = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(val), 0.0), 1.0)
                except ValueError:
                    q = -1.0
        if q >= 0:
            ranges.append((kind, sub, q))
    return ranges


def _quality(ranges: list[tuple[str, str, float]], media_type: str) -> tuple[float, int]:
    """The q of the most specific range matching `media_type`, and that specificity (0-2)."""
    kind, _, sub = media_type.partition("/")
    best = (0.0, -1)
    for rkind, rsub, q in ranges:
        if rkind == kind and rsub == sub:
            spec = 2
        elif rkind == kind and rsub == "*":
            spec = 1
        elif rkind == "*" and rsub == "*":
            spec = 0
        else:
            continue
        if spec > best[1]:
            best = (q, spec)
    return best


def _best(ranges: list[tuple[str, str, float]], kind: str) -> Format | None:
    best: tuple[float, int, int] | None = None
    chosen = None
    for order, fmt in enumerate(f for f in FORMATS if f.kind == kind):
        # An alias counts only when named exactly: text/* must not pick XML results via text/xml.
        q, spec = max(
            [_quality(ranges, fmt.media_type)]
            + [found for found in (_quality(ranges, mt) for mt in fmt.aliases) if found[1] == 2]
        )
        if q <= 0:
            continue
        rank = (q, spec, -order)
        if best is None or rank > best:
            best, chosen = rank, fmt
    return chosen


def prefers_html(accept: str | None) -> bool:
    """True when a browser-like Accept rates text/html above every RDF and results format."""
    if not accept or "html" not in accept:
        return False
    ranges = parse_accept(accept)
    html, spec = _quality(ranges, "text/html")
    if spec < 2 or html <= 0:
        return False
    others = max(_quality(ranges, mt)[0] for f in FORMATS for mt in (f.media_type, *f.aliases))
    return html > others or all(_quality(ranges, f.media_type)[1] < 2 for f in FORMATS)
