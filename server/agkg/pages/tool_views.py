"""The query page, the network and timeline pictures, the ontology page and the data dumps."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyoxigraph as ox
from flask import Response, redirect, request, send_file

from .. import formats as F
from ..store import GRAPH_DESCRIPTIONS, GRAPHS
from ..vocab import PREFIXES, sparql_prefixes
from . import access, ontology_view
from .iris import split_suffix
from .web import alternates, bp, negotiate, rdf_response, render, text_response

QUERIES = Path(__file__).parent / "queries"


def competency_examples() -> list[dict[str, str]]:
    """The project's competency questions (tests/competency/*.rq), title from the first comment."""
    folder = access.project().root / "tests" / "competency"
    examples = []
    for path in sorted(folder.glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        title = _question(text) or path.stem
        examples.append({"name": path.stem, "title": title, "query": text})
    return examples


def _question(text: str) -> str:
    """The question a competency query's leading comment asks ("# 2. Who leads ...?"), which
    may run over several comment lines."""
    words = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        words.append(line.lstrip("# ").strip())
        if "?" in words[-1]:
            break
    question = " ".join(words).split("?", 1)[0] + ("?" if "?" in " ".join(words) else "")
    return question.split(". ", 1)[1] if question[:1].isdigit() and ". " in question else question


DEFAULT_QUERY = """# Who leads which group, in which role? (agkg:leaderOf is inferred from membership nodes)
SELECT ?person ?personName ?role ?organization ?orgName WHERE {
  ?person agkg:leaderOf ?organization ;
          skos:prefLabel ?personName .
  ?organization skos:prefLabel ?orgName .
  ?membership org:member ?person ;
              agkg:leadershipOf ?organization ;
              org:role/skos:prefLabel ?role .
}
ORDER BY ?orgName
"""


@bp.route("/query")
def query() -> Response:
    """The SPARQL editor (YASGUI from npm, configured to call nothing but this server)."""
    from .web import assets_installed

    text = request.args.get("query") or ""
    results_formats = [(f.name, f.media_type) for f in F.FORMATS if f.kind == F.RESULTS]
    graph_formats = [(f.name, f.media_type) for f in F.FORMATS if f.kind == F.GRAPH]
    return render(
        "query.html",
        initial=text,
        default_query=sparql_prefixes() + "\n" + DEFAULT_QUERY,
        examples=competency_examples(),
        prefixes=PREFIXES,
        results_formats=results_formats,
        graph_formats=graph_formats,
        installed=assets_installed(),
        max_rows=access.endpoint().settings.max_rows,
        iri_base=access.iri_map().base,
    )


def picture_query(name: str) -> str:
    return (QUERIES / f"{name}.rq").read_text(encoding="utf-8")


@bp.route("/network")
def network() -> Response:
    """Groups, people, roles and designations as a graph drawn from live SPARQL queries."""
    from .web import assets_installed

    return render("network.html", queries={n: picture_query(n) for n in ("network-edges", "network-nodes")},
                  installed=assets_installed(), iri_base=access.iri_map().base)


@bp.route("/timeline")
def timeline() -> Response:
    """Dated events, designations and statements on a time axis, from a live SPARQL query."""
    return render("timeline.html", queries={"timeline": picture_query("timeline")}, iri_base=access.iri_map().base)


# --- the ontology ------------------------------------------------------------------------------


@bp.route("/ontology")
@bp.route("/ontology.<suffix>")
def ontology(suffix: str | None = None) -> Response:
    """The ontology document (https://w3id.org/agkg/ontology): its terms are hash IRIs
    (ontology#Membership), so this one document answers for all of them: 200, negotiated."""
    _, fmt = split_suffix(f"ontology.{suffix}") if suffix else ("ontology", None)
    if suffix and fmt is None:
        return text_response(f"no format for .{suffix}; use .html, .ttl, .nt, .jsonld or .rdf", 404)
    chosen = negotiate(fmt)
    iris = access.iri_map()
    if chosen == "html":
        from .entity import prefixed
        from .web import assets_installed

        model = ontology_view.read(access.select)
        response = render("ontology.html", onto=model, hierarchy=_hierarchy(model), children=model.children(),
                          ontology_iri=iris.ontology_iri, prefixed=prefixed, installed=assets_installed(),
                          wikidata_page=_wikidata_page)
    else:
        response = rdf_response(_ontology_file_triples("agkg.ttl"), chosen)
    if suffix is None:
        response.headers["Vary"] = "Accept"
        response.headers["Content-Location"] = request.script_root + iris.document(iris.ontology_iri, chosen)
    response.headers["Link"] = alternates(iris, iris.ontology_iri)
    return response


@bp.route("/ontology/<name>")
def ontology_part(name: str) -> Response:
    """ontology/imports (the reused W3C axioms) and the version IRI ontology/<version>."""
    stem, fmt = split_suffix(name)
    if stem == "imports":
        chosen = negotiate(fmt)
        if chosen == "html":
            return redirect(request.script_root + "/ontology#imports", code=303)
        response = rdf_response(_ontology_file_triples("imports.ttl"), chosen)
        if fmt is None:
            response.headers["Vary"] = "Accept"
        return response
    model_version = _ontology_version()
    if stem == model_version:
        return redirect(request.script_root + "/ontology" + (f".{name.rpartition('.')[2]}" if fmt else ""), code=303)
    return text_response(f"no ontology part {name!r}; see /ontology", 404)


def _wikidata_page(iri: str) -> str:
    """wdt:P463 -> its Wikidata property page (the direct-claim IRI itself does not resolve)."""
    prefix = PREFIXES["wdt"]
    return f"https://www.wikidata.org/wiki/Property:{iri[len(prefix):]}" if iri.startswith(prefix) else iri


def _ontology_file_triples(file_name: str) -> list[ox.Triple]:
    path = access.project().root / "ontology" / file_name
    return [q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)]


def _ontology_version() -> str:
    rows = access.select(
        "SELECT ?v WHERE { GRAPH <https://w3id.org/agkg/graph/ontology> { ?o a owl:Ontology ; owl:versionInfo ?v } }"
    )
    return rows[0]["v"].value if rows else ""


def _hierarchy(model: ontology_view.Ontology) -> dict:
    """Nodes and subclass edges of the class tree, for the diagram (own classes and the
    vocabulary classes they specialise)."""
    own = [c for c in model.classes if c.own]
    wanted = {c.iri for c in own} | {p for c in own for p in c.parents}
    nodes = [{"id": i, "label": model.label(i), "own": i in {c.iri for c in own},
              "anchor": model.terms[i].anchor if i in model.terms else ""} for i in sorted(wanted)]
    edges = [{"source": c.iri, "target": p} for c in own for p in c.parents]
    return {"nodes": nodes, "edges": edges}


# --- dumps ------------------------------------------------------------------------------------

DUMP_FORMATS = {"ttl": "turtle", "nt": "ntriples", "nq": "nquads"}


def dump_list() -> list[dict]:
    meta = access.endpoint().meta
    triples = meta["triples"]
    out = [{
        "name": "agkg",
        "title": "Everything: the three named graphs",
        "description": "All quads, each in its named graph (asserted, inferred, ontology).",
        "triples": sum(triples.values()),
        "files": ["agkg.nq"],
        "graph": "",
    }]
    for name, iri in GRAPHS.items():
        out.append({
            "name": name,
            "title": f"The {name} graph",
            "description": GRAPH_DESCRIPTIONS[name],
            "triples": triples[name],
            "files": [f"{name}.ttl", f"{name}.nt"],
            "graph": iri,
        })
    return out


@bp.route("/dumps/")
def dumps() -> Response:
    """The downloadable dumps with their triple counts: a page for people, VoID for machines
    (each dump a void:Dataset with its void:dataDump and void:triples)."""
    meta = access.endpoint().meta
    fmt = negotiate(None)
    if fmt == "html":
        response = render("dumps.html", dumps=dump_list(), meta=meta)
    else:
        response = rdf_response(dumps_void(request.url_root.rstrip("/") + request.script_root), fmt)
    response.headers["Vary"] = "Accept"
    return response


def dumps_void(root: str) -> list[ox.Triple]:
    """VoID triples of the dumps: the dataset, one subset per named graph, their files and counts."""
    void = "http://rdfs.org/ns/void#"
    rdf_type = ox.NamedNode(PREFIXES["rdf"] + "type")
    dataset = ox.NamedNode(f"{root}/.well-known/void#dataset")
    triples = []
    for d in dump_list():
        node = dataset if not d["graph"] else ox.NamedNode(f"{root}/dumps/#{d['name']}")
        triples.append(ox.Triple(node, rdf_type, ox.NamedNode(void + "Dataset")))
        triples.append(ox.Triple(node, ox.NamedNode(void + "triples"), ox.Literal(str(d["triples"]), datatype=ox.NamedNode(PREFIXES["xsd"] + "integer"))))
        triples += [ox.Triple(node, ox.NamedNode(void + "dataDump"), ox.NamedNode(f"{root}/dumps/{f}")) for f in d["files"]]
        if d["graph"]:
            triples.append(ox.Triple(dataset, ox.NamedNode(void + "subset"), node))
            triples.append(ox.Triple(node, ox.NamedNode("http://www.w3.org/ns/sparql-service-description#name"), ox.NamedNode(d["graph"])))
            triples.append(ox.Triple(node, ox.NamedNode(PREFIXES["dcterms"] + "description"), ox.Literal(d["description"], language="en")))
    return triples


@bp.route("/dumps/<name>")
def dump(name: str) -> Response:
    stem, _, extension = name.rpartition(".")
    if name == "agkg.nq":
        path = access.endpoint().entry.dump
    elif stem in GRAPHS and extension in ("ttl", "nt"):
        path = _graph_dump(stem, extension)
    else:
        known = ", ".join(f for d in dump_list() for f in d["files"])
        return text_response(f"no dump {name!r}; the dumps are {known}", 404)
    fmt = F.BY_NAME[DUMP_FORMATS[extension]]
    response = send_file(path, mimetype=fmt.media_type, download_name=name, max_age=3600, conditional=True)
    response.headers["Content-Type"] = fmt.content_type
    return response


def _graph_dump(graph: str, extension: str) -> Path:
    """One named graph as a file beside the store's cache entry, written once per built store."""
    entry = access.endpoint().entry
    folder = Path(entry.path) / "dumps"
    target = folder / f"{graph}.{extension}"
    if target.is_file():
        return target
    folder.mkdir(exist_ok=True)
    iri = GRAPHS[graph]
    triples = sorted(
        {q.triple for q in ox.parse(path=str(entry.dump), format=ox.RdfFormat.N_QUADS) if q.graph_name.value == iri},
        key=str,
    )
    fmt = F.BY_NAME[DUMP_FORMATS[extension]]
    from .web import used_prefixes

    body = ox.serialize(triples, format=fmt.ox_format, prefixes=used_prefixes(triples) if extension == "ttl" else None)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.")
    with os.fdopen(fd, "wb") as out:
        out.write(body)
    os.replace(tmp, target)
    return target
