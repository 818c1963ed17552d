"""Entity IRIs and their pages: /id/<slug>, its documents, the index, search and the home page.

Behaviour of an entity IRI (https://w3id.org/agkg/id/<slug>, served at /id/<slug>):
- /id/<slug> names the thing itself (a group, a person, a membership). An RDF client (Turtle,
  N-Triples, JSON-LD, RDF/XML, or no preference) gets its description at once: `200` with
  `Content-Location: /id/<slug>.<suffix>` naming the document it came from, so
  `curl -H 'Accept: text/turtle' <IRI>` prints it without following a redirect (the 200 +
  Content-Location reading of httpRange-14). A browser gets `303 See Other` to
  /id/<slug>.html, so the address bar shows a page's address, not the thing's. Both carry
  `Vary: Accept`.
- /id/<slug>.<suffix> is that document: `200` in exactly that format, with `Link` headers to
  the other formats.
- An IRI the graph does not mention answers `404`, with a page that suggests entities whose
  labels are close to the slug.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from functools import lru_cache

import pyoxigraph as ox
from flask import Response, redirect, request

from .. import formats as F
from ..vocab import AGKG, PROV
from . import access, article, entity
from .graphdata import Reader, iri_ref
from .iris import SUFFIX_OF, split_suffix
from .phrasing import Context, phrase
from .web import (
    alternates,
    bp,
    href,
    local,
    negotiate,
    query_link,
    quote_link,
    rdf_response,
    render,
    text_response,
)

STORE_GRAPHS = ("asserted", "inferred", "ontology")


# --- the entity IRI ----------------------------------------------------------------------------


@bp.route("/id/<path:name>")
def resource(name: str) -> Response:
    iris = access.iri_map()
    slug, suffix_format = split_suffix(name)
    iri = iris.entity_iri(slug)
    reader = access.reader()
    fmt = negotiate(suffix_format)
    if suffix_format is None:
        if not _exists(reader, iri):
            response = not_found(iri, slug, fmt)
            response.headers["Vary"] = "Accept"
            return response
        location = request.script_root + iris.document(iri, fmt)
        if fmt == "html":
            response = redirect(location, code=303)
        else:
            response = rdf_response(describe_triples(iri), fmt)
            response.headers["Content-Location"] = location
        response.headers["Vary"] = "Accept"
        response.headers["Link"] = alternates(iris, iri)
        return response
    if fmt != "html":
        triples = describe_triples(iri)
        if not triples:
            return not_found(iri, slug, fmt)
        response = rdf_response(triples, fmt)
    else:
        response = entity_page(reader, iri)
        if response is None:
            return not_found(iri, slug, fmt)
    response.headers["Link"] = alternates(iris, iri)
    return response


def _exists(reader: Reader, iri: str) -> bool:
    rows = reader.select(f"SELECT ?p WHERE {{ {{ {iri_ref(iri)} ?p ?o }} UNION {{ ?s ?p {iri_ref(iri)} }} }} LIMIT 1")
    return bool(rows)


def describe_triples(iri: str) -> list[ox.Triple]:
    """The symmetric concise description: every triple with `iri` as subject or object,
    asserted or inferred (a client dereferences the fact nodes it names for more)."""
    ref = iri_ref(iri)
    return access.construct(
        f"CONSTRUCT {{ {ref} ?p ?o . ?s ?q {ref} }} WHERE {{ {{ {ref} ?p ?o }} UNION {{ ?s ?q {ref} }} }}"
    )


def entity_page(reader: Reader, iri: str) -> Response | None:
    desc = reader.describe(iri)
    if not desc.exists:
        return None
    documents = entity.documents_in(desc)
    ctx = Context(
        labels=reader.labels(entity.iris_in(desc) | documents),
        link=local,
        current=iri,
        quote_link=quote_link,
        documents=entity.document_names(reader, documents | {iri}),
    )
    page = entity.build(reader, desc, ctx)
    text = None
    if page.document_file:
        text = _article(reader, iri, page.document_file)
    ref = entity.prefixed(iri)
    queries = {
        "everything": query_link(
            f"# Every statement about {page.label}, asserted or inferred, and the graph it is in\n"
            f"SELECT ?property ?value ?graph WHERE {{\n  GRAPH ?graph {{ {ref} ?property ?value }}\n}}\n"
            "ORDER BY ?graph ?property"
        ),
        "sentences": query_link(
            f"# The sentences of the source that support each fact about {page.label}\n"
            "SELECT DISTINCT ?fact ?quote ?document WHERE {\n"
            f"  VALUES ?entity {{ {ref} }}\n"
            "  { ?fact ?p ?entity } UNION { ?fact rdf:subject ?entity } UNION { BIND(?entity AS ?fact) }\n"
            "  ?fact agkg:quote ?quote ; prov:wasDerivedFrom ?document .\n"
            "}\nORDER BY ?fact"
        ),
        "describe": query_link(f"DESCRIBE {ref}"),
    }
    return render("entity.html", page=page, iri=iri, queries=queries, article=text,
                  formats=[(SUFFIX_OF[f], F.BY_NAME[f].media_type) for f in ("turtle", "ntriples", "jsonld", "rdfxml")])


def _article(reader: Reader, document: str, file_name: str):
    """The document's text with every cited passage marked and the requested ones highlighted."""
    text = article.read_text(access.project().seeds_dir, file_name)
    if text is None:
        return None
    quotes = reader.quotes_of(document)
    marked = article.mark(text, quotes, [q for q in request.args.getlist("q") if q])
    nodes = reader.nodes(marked.citing)
    labels = reader.labels({i for n in nodes.values() for vs in n.props.values() for v in vs
                            if isinstance(v, ox.NamedNode) for i in [v.value]} | {p for n in nodes.values() for p in n.props})
    ctx = Context(labels=labels, link=local, current=document)
    lines = [phrase(nodes[i], ctx) if i in nodes else None for i in marked.citing]
    return {"marked": marked, "lines": lines}


# --- unknown IRIs --------------------------------------------------------------------------------


def not_found(iri: str, slug: str, fmt: str) -> Response:
    """404 with the entities whose labels or slugs are closest to what was asked for."""
    suggestions = close_matches(slug)
    if fmt == "html":
        return render("not_found.html", status=404, iri=iri, slug=slug, suggestions=suggestions)
    lines = [f"{iri} is not described here."]
    if suggestions:
        lines.append("Did you mean:")
        lines += [f"  {request.host_url.rstrip('/')}{local(i)}  ({label})" for i, label in suggestions]
    return text_response("\n".join(lines), 404, {"Vary": "Accept"})


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


@lru_cache(maxsize=4)
def _label_index(key: str) -> tuple[tuple[str, str, str], ...]:
    """(normalized text, IRI, display label) for every label and slug of the data (per store)."""
    reader = access.reader()
    iris = access.iri_map()
    best = reader.labels({i for i, _ in reader.all_labels() if iris.slug(i)})
    out = []
    for iri, label in reader.all_labels():
        slug = iris.slug(iri)
        if slug is None:
            continue
        out.append((_normal(label), iri, best.get(iri, label)))
        out.append((_normal(slug), iri, best.get(iri, label)))
    return tuple(sorted(set(out)))


def label_index() -> tuple[tuple[str, str, str], ...]:
    return _label_index(access.endpoint().meta.get("key", ""))


def close_matches(text: str, limit: int = 8) -> list[tuple[str, str]]:
    """(IRI, label) of entities whose label contains `text` or is spelled like it."""
    wanted = _normal(text)
    if not wanted:
        return []
    index = label_index()
    scored: dict[str, tuple[float, str]] = {}
    for normal, iri, label in index:
        if wanted == normal:
            score = 3.0
        elif wanted in normal.split() or normal.startswith(wanted):
            score = 2.0
        elif wanted in normal:
            score = 1.5
        else:
            score = difflib.SequenceMatcher(None, wanted, normal).ratio()
            if score < 0.6:
                continue
        if iri not in scored or score > scored[iri][0]:
            scored[iri] = (score, label)
    ranked = sorted(scored.items(), key=lambda kv: (-kv[1][0], kv[1][1].lower()))
    return [(iri, label) for iri, (_, label) in ranked[:limit]]


# --- search, index, home ----------------------------------------------------------------------


@bp.route("/search")
def search() -> Response:
    """Entities by label; a query that names exactly one entity goes straight to its page."""
    text = request.args.get("q", "").strip()
    matches = close_matches(text, limit=30) if text else []
    exact = [iri for iri, label in matches if _normal(label) == _normal(text)]
    if len(set(exact)) == 1 and request.args.get("list") != "1":
        return redirect(href(exact[0]), code=303)
    return render("search.html", text=text, matches=matches)


@bp.route("/id/")
def index() -> Response:
    """Every labelled entity of the data, grouped by its asserted class."""
    reader = access.reader()
    rows = reader.entities()
    labels = reader.labels({c for _, _, c in rows})
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for iri, label, cls in rows:
        groups[labels.get(cls, cls.rsplit("#", 1)[-1])].append((iri, label))
    ordered = sorted(((k, sorted(v, key=lambda e: e[1].lower())) for k, v in groups.items()), key=lambda g: g[0])
    return render("index.html", groups=ordered, total=len({r[0] for r in rows}))


LEADERS_QUERY = f"""SELECT ?membership ?person ?org ?role WHERE {{
  ?person <{AGKG.leaderOf}> ?org .
  ?membership <http://www.w3.org/ns/org#member> ?person ; <{AGKG.leadershipOf}> ?org ;
              <http://www.w3.org/ns/org#role> ?role .
}}"""


@bp.route("/")
def home() -> Response:
    """Where a newcomer starts: search, who leads whom (with the sentence), and the tools."""
    reader = access.reader()
    rows = reader.select(LEADERS_QUERY)
    nodes = reader.nodes({r["membership"].value for r in rows})
    iris = {v.value for n in nodes.values() for vs in n.props.values() for v in vs if isinstance(v, ox.NamedNode)}
    documents = {v.value for n in nodes.values() for v in n.all(str(PROV.wasDerivedFrom))}
    ctx = Context(labels=reader.labels(iris | set(nodes)), link=local, quote_link=quote_link,
                  documents=entity.document_names(reader, documents))
    leaders = sorted((phrase(n, ctx) for n in nodes.values()), key=lambda l: [s.text for s in l.segments][-1])
    docs = reader.documents()
    doc_labels = reader.labels({d.iri for d in docs})
    entities = reader.entities()
    counts = access.endpoint().meta.get("triples", {})
    return render(
        "home.html",
        leaders=leaders,
        documents=[(d.iri, doc_labels.get(d.iri, d.iri)) for d in docs],
        names=sorted({label for _, label, _ in entities}, key=str.lower),
        entity_count=len({e[0] for e in entities}),
        counts=counts,
    )


# --- named graph IRIs ----------------------------------------------------------------------------


@bp.route("/graph/<name>")
def graph(name: str) -> Response:
    """A named graph's IRI (https://w3id.org/agkg/graph/asserted ...) leads to its dump."""
    stem, suffix = split_suffix(name)
    if stem not in STORE_GRAPHS:
        return text_response(f"no graph {stem!r}; the graphs are {', '.join(STORE_GRAPHS)}", 404)
    fmt = negotiate(suffix)
    if fmt == "html":
        return redirect(request.script_root + "/dumps/", code=303)
    extension = {"ntriples": "nt"}.get(fmt, "ttl")
    response = redirect(f"{request.script_root}/dumps/{stem}.{extension}", code=303)
    response.headers["Vary"] = "Accept"
    return response

