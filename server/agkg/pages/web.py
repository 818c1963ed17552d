"""The pages blueprint and what its views share: negotiation, RDF responses, links, assets, errors.

Content negotiation follows formats.py (the endpoint's own table), restricted to the RDF graph
formats plus HTML: `.html`, `.ttl`, `.nt`, `.jsonld`, `.rdf` suffixes name a document exactly; a
bare resource path is negotiated from `Accept` and answers with `Vary: Accept`.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, abort, current_app, render_template, request, send_file

from .. import __version__
from .. import formats as F
from ..limits import Refused
from ..vocab import PREFIXES
from . import access
from .iris import SUFFIX_OF, IriMap

HERE = Path(__file__).parent
STATIC = HERE / "static"
NODE_MODULES = STATIC / "node_modules"
# The npm files the pages load, by the name they are served under (/assets/<name>).
VENDOR: dict[str, str] = {
    "yasgui.min.js": "@zazuko/yasgui/build/yasgui.min.js",
    "yasgui.min.css": "@zazuko/yasgui/build/yasgui.min.css",
    "cytoscape.min.js": "cytoscape/dist/cytoscape.min.js",
}
OWN_ASSETS = ("app.css", "query.js", "network.js", "timeline.js", "graphs.js", "article.js", "hierarchy.js")
DOCUMENT_FORMATS = ("turtle", "ntriples", "jsonld", "rdfxml")  # the suffixed documents of a resource

bp = Blueprint("pages", __name__, template_folder="templates")


class NotAcceptable(Exception):
    """No representation this resource has satisfies the request's Accept (HTTP 406)."""


def negotiate(suffix_format: str | None) -> str:
    """"html" or a formats.py graph format name for this request. A suffix or `format=` wins
    over Accept; raises NotAcceptable, or BadFormat for an unknown `format=`."""
    if suffix_format:
        return suffix_format
    param = request.args.get("format")
    if param and param.lower() in ("html", "text/html"):
        return "html"
    accept = request.headers.get("Accept")
    if not param and F.prefers_html(accept):
        return "html"
    graph = F.choose(accept, param).graph
    if graph is None:
        raise NotAcceptable(
            "this resource is available as text/html, "
            + ", ".join(F.BY_NAME[n].media_type for n in DOCUMENT_FORMATS)
        )
    return graph.name


# Namespaces of the service's own descriptions, declared when used (besides the project's PREFIXES).
DESCRIPTION_PREFIXES = {
    "void": "http://rdfs.org/ns/void#",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
}


def used_prefixes(triples: list[ox.Triple]) -> dict[str, str]:
    """The known prefixes some IRI of `triples` starts with (Turtle then declares only those)."""
    iris = {t.value for triple in triples for t in triple if isinstance(t, ox.NamedNode)}
    iris |= {t.datatype.value for triple in triples for t in triple if isinstance(t, ox.Literal)}
    known = {**PREFIXES, **DESCRIPTION_PREFIXES}
    return {p: ns for p, ns in known.items() if any(i.startswith(ns) for i in iris)}


def rdf_response(triples: list[ox.Triple], fmt_name: str, status: int = 200) -> Response:
    """Triples serialized by pyoxigraph in one of formats.py's graph formats."""
    fmt = F.BY_NAME[fmt_name]
    triples = sorted(set(triples), key=str)
    prefixes = used_prefixes(triples) if fmt.name in ("turtle", "trig", "rdfxml") else None
    body = ox.serialize(triples, format=fmt.ox_format, prefixes=prefixes) if triples else b""
    return Response(body, status=status, content_type=fmt.content_type)


def text_response(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(message.rstrip("\n") + "\n", status=status, content_type="text/plain; charset=utf-8")
    response.headers.update(headers or {})
    return response


def alternates(iris: IriMap, iri: str) -> str:
    """A Link header naming each document of `iri` (how a crawler finds the other formats)."""
    links = [f'<{iris.document(iri, "html")}>; rel="alternate"; type="text/html"']
    for name in DOCUMENT_FORMATS:
        links.append(f'<{iris.document(iri, name)}>; rel="alternate"; type="{F.BY_NAME[name].media_type}"')
    return ", ".join(links)


# --- links the templates use ------------------------------------------------------------------


def local(iri: str) -> str | None:
    """The href serving `iri` on this server (with the app's script root), or None if none does."""
    iris = access.iri_map()
    if not iris.is_local(iri):
        return None
    return request.script_root + iris.path(iri)


def href(iri: str) -> str:
    """A link for any IRI: the local page when we serve it, the IRI itself otherwise."""
    return local(iri) or iri


def query_link(sparql: str) -> str:
    return request.script_root + "/query?" + urlencode({"query": sparql})


def quote_link(document: str, passage: str) -> str | None:
    """The article page with `passage` highlighted and scrolled to."""
    page = local(document)
    if page is None:
        return None
    return f"{page}.html?{urlencode({'q': passage}, quote_via=quote)}#passage"


@lru_cache(maxsize=64)
def _fingerprint(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


def asset(name: str) -> str:
    """The URL of an asset with a content hash, so browsers may cache it for a long time."""
    path = _asset_path(name)
    version = _fingerprint(str(path), path.stat().st_mtime) if path and path.is_file() else __version__
    return f"{request.script_root}/assets/{name}?v={version}"


def assets_installed() -> bool:
    return all((NODE_MODULES / rel).is_file() for rel in VENDOR.values())


def _asset_path(name: str) -> Path | None:
    if name in VENDOR:
        return NODE_MODULES / VENDOR[name]
    if name in OWN_ASSETS:
        return STATIC / name
    return None


@bp.route("/assets/<name>")
def assets(name: str) -> Response:
    """The pages' own scripts and styles, and the few npm files they use (never a CDN)."""
    path = _asset_path(name)
    if path is None:
        abort(404)
    if not path.is_file():
        return text_response(
            f"{name} is not installed: run `npm ci --prefix {STATIC}` (it fetches the page "
            "libraries from the npm registry once; the pages then work offline)",
            404,
        )
    response = send_file(path, max_age=365 * 24 * 3600 if request.args.get("v") else 60)
    return response


@bp.app_context_processor
def template_globals() -> dict:
    return {
        "href": href,
        "local": local,
        "asset": asset,
        "query_link": query_link,
        "version": __version__,
        "suffix_of": SUFFIX_OF,
    }


def render(template: str, status: int = 200, **context) -> Response:
    response = Response(render_template(template, **context), status=status, content_type="text/html; charset=utf-8")
    return response


@bp.errorhandler(Refused)
def refused(exc: Refused) -> Response:
    """A page whose query the endpoint refused (timeout, no executor free): say so plainly."""
    if F.prefers_html(request.headers.get("Accept")):
        response = render("error.html", status=exc.status, title="The graph could not answer", message=exc.message)
    else:
        response = text_response(exc.message, exc.status)
    if exc.status == 503:
        response.headers["Retry-After"] = "1"
    return response


@bp.errorhandler(NotAcceptable)
def not_acceptable(exc: NotAcceptable) -> Response:
    return text_response(str(exc), 406, {"Vary": "Accept"})


@bp.errorhandler(F.BadFormat)
def bad_format(exc: F.BadFormat) -> Response:
    return text_response(str(exc), 400)


def project_file(*parts: str) -> Path:
    return access.project().root.joinpath(*parts)


def app_root() -> str:
    return request.host_url.rstrip("/") + request.script_root


__all__ = ["bp", "current_app"]
