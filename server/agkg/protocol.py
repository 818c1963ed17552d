"""The SPARQL 1.1 Protocol (query operation): `SparqlRoute`, the WSGI layer that answers queries,
and a Flask blueprint for the rest, with the service description.

Routes: /sparql (GET, POST, HEAD, OPTIONS), /.well-known/void (the VoID description of the
dataset), /healthz and /metrics. Both reach the store only through the Endpoint (see app.py):
SparqlRoute is given it, the blueprint finds it in `current_app.extensions["agkg"]`.

Statuses are the protocol's and always real ones (never a 200 carrying an error): 400 malformed
query, repeated `query`, bad parameter; 403 update or forbidden SERVICE; 405 wrong method; 406
no acceptable format; 413 body too large; 414 URL too long; 415 wrong Content-Type; 503 timeout
or no executor free. Error bodies are plain text: one message a person can act on.
"""

from __future__ import annotations

import codecs
import io
import json
import time
from functools import lru_cache
from urllib.parse import unquote_plus

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, redirect, request, url_for
from werkzeug.http import HTTP_STATUS_CODES, parse_options_header

from . import formats as F
from .limits import Refused
from .store import GRAPH_DESCRIPTIONS, GRAPHS

bp = Blueprint("sparql", __name__)

QUERY_TYPES = ("application/sparql-query",)
FORM_TYPES = ("application/x-www-form-urlencoded",)
UPDATE_TYPES = ("application/sparql-update",)
READ_ONLY = "SPARQL Update is not allowed: this endpoint is read-only"
MAX_GET_QUERY = 64_000  # characters of a query sent in a URL (longer: POST it)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """A plain-text error as a Flask Response (for views; SparqlRoute uses `_error`)."""
    status, head, body = _error(status, message, list((headers or {}).items()))
    return Response(body, status, head)


class SparqlRoute:
    """WSGI middleware that answers SPARQL queries at /sparql before Flask sees them.

    Why not a Flask view: measured in a web worker on label lookups, a query answered through
    Flask (request context, routing, werkzeug Response) and the logging module cost 205 us of CPU,
    answered here from the raw environ 50 us (both including the executor round trip); under
    load that took agkg from 4,600 to 6,900 req/s. Everything else at /sparql (no query: the
    service description; OPTIONS; a wrong method: 405) falls through to the Flask app behind.
    """

    def __init__(self, app, endpoint, max_body: int):
        self.app = app
        self.endpoint = endpoint
        self.max_body = max_body

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        if environ.get("PATH_INFO") != "/sparql" or method not in ("GET", "HEAD", "POST"):
            return self.app(environ, start_response)
        if method == "POST":
            status, headers, body = self._post(environ)
        else:
            params = parse_query_string(environ.get("QUERY_STRING", ""))
            status, headers, body = answer(self.endpoint, environ, params, params.get("query", []))
        if status is None:  # no query: the Flask view describes the service
            return self.app(environ, start_response)
        headers.append(("Content-Length", str(len(body))))
        start_response(STATUS_LINES.get(status) or f"{status} {HTTP_STATUS_CODES.get(status, '')}", headers)
        return [b""] if method == "HEAD" else [body]

    def _post(self, environ) -> tuple[int | None, list, bytes]:
        mimetype, options = parse_options_header(environ.get("CONTENT_TYPE", ""))
        if mimetype in UPDATE_TYPES:
            return _error(403, READ_ONLY)
        if mimetype not in FORM_TYPES and mimetype not in QUERY_TYPES:
            return _error(
                415,
                f"POST a query as application/x-www-form-urlencoded (query=...) or as "
                f"application/sparql-query, not {mimetype or 'a body without Content-Type'}",
            )
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            return _error(400, "Content-Length is not a number")
        if length > self.max_body:
            return _error(413, f"the request body is larger than the {self.max_body} bytes allowed")
        raw = environ["wsgi.input"].read(length if length >= 0 else self.max_body + 1)
        if len(raw) > self.max_body:
            return _error(413, f"the request body is larger than the {self.max_body} bytes allowed")
        environ["wsgi.input"] = io.BytesIO(raw)  # readable again if the request falls through to Flask
        params = parse_query_string(environ.get("QUERY_STRING", ""))
        if mimetype in FORM_TYPES:  # body parameters, and URL parameters count too (dataset, format)
            form = parse_query_string(raw.decode("latin-1"))
            for key, values in params.items():
                form.setdefault(key, []).extend(values)
            return answer(self.endpoint, environ, form, form.get("query", []))
        charset = options.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            return _error(415, f"a SPARQL query body must be UTF-8, not {charset}")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _error(400, f"the query body is not valid UTF-8 (byte {exc.start})")
        return answer(self.endpoint, environ, params, [body, *params.get("query", [])])


def answer(endpoint, environ, params: dict[str, list[str]], queries: list[str]) -> tuple[int | None, list, bytes]:
    """Status, headers and body for one protocol request; status None when it has no query."""
    if params.get("update"):
        return _error(403, READ_ONLY)
    if not queries:
        return None, [], b""
    if len(queries) > 1:
        return _error(400, f"give exactly one query parameter, not {len(queries)}")
    query = queries[0]
    environ["agkg.query"] = query
    if environ["REQUEST_METHOD"] != "POST" and len(query) > MAX_GET_QUERY:
        return _error(414, f"the query is {len(query)} characters long; send queries over {MAX_GET_QUERY} with POST")
    try:
        choice = _choice(params.get("format", []) + params.get("output", []), environ.get("HTTP_ACCEPT"))
    except F.BadFormat as exc:
        return _error(400, str(exc))
    started = time.perf_counter()
    try:
        reply = endpoint.query(
            query,
            choice=choice,
            default_graphs=params.get("default-graph-uri") or None,
            named_graphs=params.get("named-graph-uri") or None,
        )
    except Refused as exc:
        endpoint.metrics.observe_query(exc.status, time.perf_counter() - started, 0, False)
        return _error(exc.status, exc.message, [("Retry-After", "1")] if exc.status == 503 else [])
    headers = [("Content-Type", F.BY_NAME[reply.format].content_type), ("Vary", "Accept")]
    if reply.truncated:
        headers.append(("X-SPARQL-MaxRows", str(endpoint.settings.max_rows)))
    endpoint.metrics.observe_query(200, time.perf_counter() - started, len(reply.body), reply.truncated)
    return 200, headers, reply.body


def _error(status: int, message: str, extra: list | None = None) -> tuple[int, list, bytes]:
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Vary", "Accept"), *(extra or [])]
    return status, headers, (message.rstrip("\n") + "\n").encode()


STATUS_LINES = {code: f"{code} {HTTP_STATUS_CODES[code]}" for code in (200, 400, 403, 406, 413, 414, 415, 503)}


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    """/sparql without a query (queries are answered by SparqlRoute before Flask)."""
    return _no_query(current_app.extensions["agkg"])


def parse_query_string(raw: str) -> dict[str, list[str]]:
    """URL parameters as {name: [values]}, like werkzeug's request.args but about 4x faster on a
    percent-encoded query (the C escape decoder does the work; odd input falls back to urllib)."""
    params: dict[str, list[str]] = {}
    for pair in raw.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            params.setdefault(_unquote(name), []).append(_unquote(value))
    return params


def _unquote(text: str) -> str:
    if "%" not in text and "+" not in text:  # WSGI strings are bytes read as latin-1: undo that
        return text if text.isascii() else text.encode("latin-1", "replace").decode("utf-8", "replace")
    escaped = text.replace("\\", "\\\\").replace("+", " ").replace("%", "\\x").encode("latin-1", "replace")
    try:
        return codecs.escape_decode(escaped)[0].decode("utf-8", "replace")
    except ValueError:  # a stray % not followed by two hex digits
        return unquote_plus(text, errors="replace")


def _choice(format_params: list[str], accept: str | None) -> F.Choice:
    """From `format=`/`output=` when given (clients such as SPARQLWrapper repeat one format under
    several spellings, which is fine; two different formats are not), else from Accept."""
    if not format_params:
        return F.choose(accept)
    choices = {F.choose(None, value) for value in format_params}
    if len(choices) > 1:
        raise F.BadFormat(f"the format parameters name different formats: {', '.join(format_params)}")
    return choices.pop()


def _no_query(endpoint) -> Response:
    """GET /sparql without a query: the service description (or the query page for a browser)."""
    accept = request.headers.get("Accept")
    if F.prefers_html(accept) and "pages.query" in current_app.view_functions:
        return redirect(url_for("pages.query"), code=303)
    fmt = F.choose(accept).graph
    if fmt is None:
        return error(
            400,
            "no query given: pass query=... (GET or form POST) or POST an application/sparql-query "
            "body; without a query, this URL describes the service in an RDF format (text/turtle, ...)",
        )
    return _description_response(endpoint, request.base_url, fmt, void=False)


@bp.route("/.well-known/void")
def void() -> Response:
    """The VoID description of the dataset (RFC 5785 well-known location, VoID section 6.2)."""
    endpoint = current_app.extensions["agkg"]
    try:
        fmt = F.choose(request.headers.get("Accept"), request.args.get("format")).pick(F.GRAPH)
    except (F.BadFormat, F.NotAcceptable) as exc:
        return error(400 if isinstance(exc, F.BadFormat) else 406, str(exc))
    return _description_response(endpoint, request.url_root.rstrip("/") + "/sparql", fmt, void=True)


def _description_response(endpoint, sparql_url: str, fmt: F.Format, *, void: bool) -> Response:
    """The service description or VoID in the negotiated RDF format, varying on Accept."""
    body = _description(endpoint, sparql_url, request.url_root, fmt.name, void=void)
    response = Response(body, content_type=fmt.content_type)
    response.headers["Vary"] = "Accept"
    return response


@bp.route("/healthz")
def healthz() -> Response:
    """200 while this worker has a live query executor, else 503 (for orchestrators)."""
    endpoint = current_app.extensions["agkg"]
    alive = endpoint.pool.alive
    body = {"status": "ok" if alive else "starting", "executors": alive, "triples": endpoint.meta["triples"]}
    return Response(json.dumps(body) + "\n", status=200 if alive else 503, content_type="application/json")


@bp.route("/metrics")
def metrics() -> Response:
    """Prometheus text exposition of the query counters of all workers."""
    endpoint = current_app.extensions["agkg"]
    return Response(endpoint.metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")


# --- service description and VoID ------------------------------------------------------------


def _description(endpoint, sparql_url: str, root: str, fmt_name: str, void: bool) -> bytes:
    return _described(sparql_url, root.rstrip("/") + "/.well-known/void", fmt_name, void, endpoint.describe_key())


@lru_cache(maxsize=64)
def _described(sparql_url: str, void_url: str, fmt_name: str, void: bool, key: tuple) -> bytes:
    meta = json.loads(key[0])
    allowlist = key[1]
    text = service_description(sparql_url, void_url, meta, allowlist, void)
    fmt = F.BY_NAME[fmt_name]
    if fmt.name == "turtle":
        return text.encode()
    quads = ox.parse(text.encode(), format=ox.RdfFormat.TURTLE)
    return ox.serialize(quads, format=fmt.ox_format)


def _lit(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def service_description(sparql_url: str, void_url: str, meta: dict, allowlist: tuple[str, ...], void: bool) -> str:
    """Turtle: the SPARQL 1.1 Service Description (void=False) or the VoID document (True)."""
    dataset = f"<{void_url}#dataset>"
    triples = meta["triples"]
    named = []
    for name, iri in GRAPHS.items():
        named.append(
            f"""[ a sd:NamedGraph ; sd:name <{iri}> ;
          sd:graph [ a sd:Graph, void:Dataset ; void:triples {triples[name]} ;
                     dcterms:description {_lit(GRAPH_DESCRIPTIONS[name])} ] ]"""
        )
    features = "sd:UnionDefaultGraph" + (", sd:BasicFederatedQuery" if allowlist else "")
    head = """@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix void: <http://rdfs.org/ns/void#> .
@prefix formats: <http://www.w3.org/ns/formats/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
    dataset_description = f"""{dataset} a sd:Dataset, void:Dataset ;
    dcterms:title "Armed Groups Knowledge Graph"@en ;
    dcterms:description {_lit("Armed groups, their members, designations, events and statements, each fact sourced to an exact quote, with its OWL 2 RL entailments.")}@en ;
    dcterms:modified "{meta.get("built_at", "")}"^^xsd:dateTime ;
    void:sparqlEndpoint <{sparql_url}> ;
    void:uriSpace "https://w3id.org/agkg/id/" ;
    void:vocabulary <https://w3id.org/agkg/ontology#>, <http://www.w3.org/ns/org#>, <http://www.w3.org/ns/prov#>,
        <http://www.w3.org/2004/02/skos/core#> ;
    void:triples {meta["union_triples"]} ;
    void:distinctSubjects {meta["distinct_subjects"]} ;
    void:distinctObjects {meta["distinct_objects"]} ;
    void:properties {meta["properties"]} ;
    void:classes {len(meta["classes"])} ;
    sd:defaultGraph [ a sd:Graph ; void:triples {meta["union_triples"]} ;
        dcterms:description {_lit("The union of the named graphs: the asserted data, its inferences and the ontology.")} ] ;
    sd:namedGraph {", ".join(named)} .
"""
    if void:
        partitions = ",\n        ".join(
            f"[ void:class <{iri}> ; void:entities {n} ]" for iri, n in meta["classes"]
        )
        subsets = ",\n        ".join(f"[ a void:Dataset ; sd:name <{iri}> ; void:triples {triples[n]} ]" for n, iri in GRAPHS.items())
        return (
            head
            + f"<{void_url}> a void:DatasetDescription ; dcterms:title \"VoID description of agkg\"@en ; "
            f"void:primaryTopic {dataset} .\n"
            + dataset_description
            + f"{dataset} void:subset {subsets} ;\n    void:classPartition {partitions or '[]'} .\n"
        )
    return (
        head
        + f"""<{sparql_url}> a sd:Service ;
    sd:endpoint <{sparql_url}> ;
    sd:supportedLanguage sd:SPARQL11Query ;
    sd:resultFormat formats:SPARQL_Results_JSON, formats:SPARQL_Results_XML, formats:SPARQL_Results_CSV,
        formats:SPARQL_Results_TSV, formats:Turtle, formats:N-Triples, formats:JSON-LD, formats:RDF_XML,
        formats:TriG, formats:N-Quads ;
    sd:feature {features} ;
    # The default graph holds the OWL 2 RL closure, materialized when the store is built.
    sd:defaultEntailmentRegime <http://www.w3.org/ns/entailment/OWL-RDF-Based> ;
    sd:defaultSupportedEntailmentProfile <http://www.w3.org/ns/owl-profile/RL> ;
    sd:defaultDataset {dataset} ;
    rdfs:seeAlso <{void_url}> .
"""
        + dataset_description
    )

