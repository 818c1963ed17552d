"""The `agkg` command: validate contributions, query, count and export the graph, run the server.

Exit codes: 0 success (validation conforms), 1 validation found violations, 2 unreadable input
(a file that does not parse, a SPARQL query that does not parse, no project found).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import click

from . import __version__
from .sources import Project, SourceError
from .vocab import ASSERTED_GRAPH, INFERRED_GRAPH, PREFIXES, sparql_prefixes

GRAPH_NAMES = ("asserted", "inferred", "ontology")  # the named graphs of store.GRAPHS


class _Context:
    """What the group passes to its commands: the --root given, and the project found lazily
    (so `agkg --help` works outside a project)."""

    def __init__(self, root: Path | None):
        self.root = root
        self._project: Project | None = None

    @property
    def project(self) -> Project:
        if self._project is None:
            self._project = Project(self.root.resolve()) if self.root else Project.discover()
        return self._project


def _fail_on_source_errors(func):
    """Print a SourceError as `path:line: message` and exit 2, instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except SourceError as exc:
            click.echo(str(exc), err=True)  # path:line: message, as compilers print it
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The agkg project folder (the one holding ontology/, data/, shapes/ and seeds/). "
    "Default: $AGKG_ROOT if set, else the nearest such folder at or above the current one.",
)
@click.version_option(__version__, prog_name="agkg")
@click.pass_context
def main(ctx: click.Context, root: Path | None) -> None:
    """agkg: the Armed Groups Knowledge Graph.

    Validate Turtle contributions against the shapes and source texts, query the graph with
    SPARQL (inferences included), count and export it, or serve it over HTTP.
    """
    logging.getLogger("rdflib").setLevel(logging.ERROR)  # ill-typed literals are reported by validate
    ctx.obj = _Context(root)


def _open_store(project: Project):
    """The cached store (agkg.store) that query, stats and export read: built from ontology/ and
    data/ on first use, then reused until a file changes."""
    from .store import open_store

    return open_store(project)


# --- validate ------------------------------------------------------------------------------


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "turtle"]),
    default="text",
    show_default=True,
    help="text: findings grouped by node with file:line; json: the same as data for tools; "
    "turtle: a SHACL sh:ValidationReport.",
)
@click.pass_obj
@_fail_on_source_errors
def validate(obj: _Context, files: tuple[Path, ...], fmt: str) -> None:
    """Check Turtle FILES (default: data/) against shapes, ontology and texts.

    Contributed FILES are checked together with data/, so they may link to entities that already
    exist, but only their own nodes are reported. A quote must be copied exactly from the text of
    the document it cites (seeds/<agkg:textFile>, or a .txt next to the contributed file). When
    data/ is large (250 kB, about 5,000 triples), the check reads the built store (.agkg-cache,
    built on first use): FILES by their nodes and what those link to, not all of data/ again;
    all of data/ with agkg's own SHACL evaluator on the store instead of pyshacl (seconds, not
    minutes, at a million triples; the same report).

    Exit status: 0 conforms (warnings allowed), 1 violations, 2 a file cannot be read or parsed.
    """
    from .validation import validate as run_validation

    report = run_validation(obj.project, list(files) if files else None)
    output = {"text": report.to_text, "json": report.to_json, "turtle": report.to_turtle}[fmt]()
    click.echo(output.rstrip("\n"))
    sys.exit(0 if report.conforms else 1)


# --- query ---------------------------------------------------------------------------------


@main.command()
@click.argument("sparql", required=False)
@click.option(
    "--file",
    "-f",
    "query_file",
    type=click.File("r", encoding="utf-8"),
    help="Read the query from this .rq file instead of the argument ('-' reads standard input).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="SELECT/ASK: an aligned table with prefixed names, SPARQL JSON results, or CSV. "
    "CONSTRUCT/DESCRIBE: Turtle, JSON-LD or N-Triples respectively.",
)
@click.pass_obj
@_fail_on_source_errors
def query(obj: _Context, sparql: str | None, query_file, fmt: str) -> None:
    """Run a SPARQL query over asserted, inferred and ontology triples.

    The prefixes agkg, agd, org, prov, time, skos, schema, dcterms, foaf, owl, rdf, rdfs, xsd, wd
    and wdt are predeclared. Example:

        agkg query 'SELECT ?g WHERE { ?g agkg:partOf agd:pmu }'
    """
    if (sparql is None) == (query_file is None):
        raise click.UsageError("give either a SPARQL query as the argument or --file q.rq")
    text = sparql if sparql is not None else query_file.read()
    results = run_query(_open_store(obj.project), text)
    click.echo(render_results(results, fmt), nl=False)


def run_query(store, text: str):
    """Run `text` with the shared prefixes prepended; a parse error exits 2 with the parser's
    message, its line numbers counted in the user's query."""
    prefixes = sparql_prefixes()
    try:
        return store.query(prefixes + text, use_default_graph_as_union=True)
    except SyntaxError as exc:
        shift = prefixes.count("\n")
        message = re.sub(
            r"(\d+):(\d+)", lambda m: f"line {int(m.group(1)) - shift}, column {m.group(2)}", str(exc), count=1
        )
        click.echo(f"error: the query does not parse: {message}", err=True)
        sys.exit(2)


def render_results(results, fmt: str) -> str:
    import pyoxigraph as ox

    if isinstance(results, ox.QueryBoolean):
        if fmt == "json":
            return json.dumps({"head": {}, "boolean": bool(results)}) + "\n"
        return ("true" if results else "false") + "\n"
    if isinstance(results, ox.QuerySolutions):
        if fmt == "json":
            return results.serialize(format=ox.QueryResultsFormat.JSON).decode("utf-8") + "\n"
        if fmt == "csv":
            return results.serialize(format=ox.QueryResultsFormat.CSV).decode("utf-8")
        return _table(results)
    rdf_format = {"table": ox.RdfFormat.TURTLE, "json": ox.RdfFormat.JSON_LD, "csv": ox.RdfFormat.N_TRIPLES}[fmt]
    triples = sorted(results, key=str)
    text = ox.serialize(triples, format=rdf_format, prefixes=_used_prefixes(triples)).decode("utf-8")
    return text if text.endswith("\n") or not text else text + "\n"


def _used_prefixes(triples) -> dict[str, str]:
    """The shared prefixes that some IRI of `triples` starts with (Turtle then declares only those)."""
    import pyoxigraph as ox

    iris = {t.value for triple in triples for t in triple if isinstance(t, ox.NamedNode)}
    iris |= {t.datatype.value for triple in triples for t in triple if isinstance(t, ox.Literal)}
    return {p: ns for p, ns in PREFIXES.items() if any(i.startswith(ns) for i in iris)}


def _table(solutions) -> str:
    names = [v.value for v in solutions.variables]
    rows = [[_compact(s[v]) if s[v] is not None else "" for v in names] for s in solutions]
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [line(names), line(["-" * w for w in widths]), *map(line, rows)]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out) + "\n"


def _compact(term) -> str:
    """A term as a reader writes it: prefixed name, plain text with its @lang, or value^^type."""
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return _prefixed(term.value)
    if isinstance(term, ox.Literal):
        text = term.value.replace("\n", " ")
        if term.language:
            return f"{text}@{term.language}"
        if term.datatype.value in _PLAIN_DATATYPES:
            return text
        return f"{text}^^{_prefixed(term.datatype.value)}"
    return str(term)


_PLAIN_DATATYPES = {PREFIXES["xsd"] + t for t in ("string", "integer", "decimal", "double", "boolean")}


def _prefixed(iri: str) -> str:
    for prefix, ns in sorted(PREFIXES.items(), key=lambda p: -len(p[1])):
        if iri.startswith(ns) and re.fullmatch(r"[\w\-.]*", iri[len(ns) :]):
            return f"{prefix}:{iri[len(ns):]}"
    return f"<{iri}>"


# --- stats ---------------------------------------------------------------------------------


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for reading, json for scripts.",
)
@click.pass_obj
@_fail_on_source_errors
def stats(obj: _Context, fmt: str) -> None:
    """Count triples per graph and instances per class.

    Graphs: asserted (data/), inferred (OWL 2 RL entailments), ontology. Instances count a node
    under every class it has, asserted or inferred."""
    from .store import statistics

    store = _open_store(obj.project)
    counts = statistics(store)["triples"]
    classes = instances_per_class(store)
    if fmt == "json":
        click.echo(json.dumps({"triples": counts, "instances": classes}, indent=2))
        return
    width = max(len(str(n)) for n in [*counts.values(), *classes.values(), 0])
    click.echo("triples")
    for name, n in counts.items():
        click.echo(f"  {n:>{width}}  {name}")
    click.echo("instances per class (asserted and inferred types)")
    for name, n in classes.items():
        click.echo(f"  {n:>{width}}  {name}")


def instances_per_class(store) -> dict[str, int]:
    """Instances of each class among the data's nodes (the ontology's own individuals excluded)."""
    rows = store.query(
        f"""SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE {{
              GRAPH ?g {{ ?s a ?class }}
              FILTER(?g IN (<{ASSERTED_GRAPH}>, <{INFERRED_GRAPH}>))
              FILTER EXISTS {{ GRAPH <{ASSERTED_GRAPH}> {{ ?s ?p ?o }} }}
            }} GROUP BY ?class ORDER BY DESC(?n) ?class"""
    )
    return {_prefixed(r["class"].value): int(r["n"].value) for r in rows}


# --- export --------------------------------------------------------------------------------

EXPORT_FORMATS = {"ttl": "TURTLE", "nt": "N_TRIPLES", "jsonld": "JSON_LD", "nq": "N_QUADS"}


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(EXPORT_FORMATS)),
    default="ttl",
    show_default=True,
    help="ttl Turtle, nt N-Triples, jsonld JSON-LD (expanded), or nq N-Quads (keeps each triple's "
    "named graph: .../graph/asserted, inferred or ontology).",
)
@click.option(
    "--graph",
    "which",
    type=click.Choice([*GRAPH_NAMES, "all"]),
    default="all",
    show_default=True,
    help="asserted: data/ as written; inferred: only the OWL 2 RL entailments; ontology: "
    "ontology/ as written; all: the three together.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file (replaced only once the dump is complete). Default: standard output.",
)
@click.pass_obj
@_fail_on_source_errors
def export(obj: _Context, fmt: str, which: str, output: Path | None) -> None:
    """Dump the asserted, inferred or ontology graph, or all, as RDF."""
    payload = dump(_open_store(obj.project), fmt, [which] if which != "all" else list(GRAPH_NAMES))
    if output is None:
        sys.stdout.buffer.write(payload)
        sys.stdout.flush()
        return
    _write_atomically(output, payload)
    click.echo(f"wrote {output} ({len(payload)} bytes)", err=True)


def dump(store, fmt: str, graphs: Iterable[str]) -> bytes:
    """Serialize the named graphs called `graphs` (asserted, inferred, ontology); triple formats
    merge them, N-Quads keeps them apart."""
    import pyoxigraph as ox

    from .store import GRAPHS

    rdf_format = getattr(ox.RdfFormat, EXPORT_FORMATS[fmt])
    quads = [q for g in graphs for q in store.quads_for_pattern(None, None, None, ox.NamedNode(GRAPHS[g]))]
    if fmt == "nq":
        return ox.serialize(quads, format=rdf_format)
    triples = sorted(set(q.triple for q in quads), key=str)  # sorted, so Turtle groups by subject
    prefixes = _used_prefixes(triples) if fmt == "ttl" else None
    return ox.serialize(triples, format=rdf_format, prefixes=prefixes)


def _write_atomically(path: Path, payload: bytes) -> None:
    path = path.resolve()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- serve ---------------------------------------------------------------------------------


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on. Keep 127.0.0.1 unless a reverse proxy on another interface needs it.",
)
@click.option("--port", default=8000, show_default=True, type=int, help="TCP port to listen on.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A settings file overriding the documented defaults (limits, timeouts, caching).",
)
@click.option(
    "--store",
    "store_url",
    metavar="URL",
    help="Answer queries from this external SPARQL 1.1 server (filled with `agkg load --into URL`) "
    "instead of the embedded store: its query endpoint, or its root for Oxigraph's server. "
    "Overrides store_url in --config. Basic-auth credentials: $AGKG_STORE_AUTH=user:password.",
)
@click.pass_obj
@_fail_on_source_errors
def serve(obj: _Context, host: str, port: int, config_file: Path | None, store_url: str | None) -> None:
    """Serve the SPARQL endpoint and linked-data pages over HTTP."""
    from .app import serve as run_server

    run_server(host=host, port=port, config_file=config_file, root=obj.root, store_url=store_url)


# --- load ----------------------------------------------------------------------------------


@main.command()
@click.option(
    "--into",
    "url",
    required=True,
    metavar="URL",
    help="The SPARQL server to fill: its root (Oxigraph's server: http://host:7878), its query "
    "endpoint or its Graph Store endpoint (Fuseki: http://host:3030/ds/sparql or .../ds/data). "
    "The other endpoint is derived from it (README, External store).",
)
@click.option("--graph-store", metavar="URL", help="The Graph Store Protocol endpoint, where deriving it from --into is wrong.")
@click.option("--query-url", metavar="URL", help="The query endpoint that counts the graphs after loading, where deriving it is wrong.")
@click.option("--timeout", default=600.0, show_default=True, type=float, help="Seconds to wait for the server to take one graph.")
@click.pass_obj
@_fail_on_source_errors
def load(obj: _Context, url: str, graph_store: str | None, query_url: str | None, timeout: float) -> None:
    """Put the asserted, inferred and ontology graphs into an external SPARQL server.

    Each graph is sent with a Graph Store Protocol PUT that replaces the graph of that name
    (https://w3id.org/agkg/graph/asserted, .../inferred, .../ontology) and leaves the server's
    other graphs alone, so loading again is safe. The server is then asked to count each graph.
    HTTP basic-auth credentials come from the environment: AGKG_STORE_AUTH=user:password.

    Exit status: 0 loaded and counted, 1 the server counts other numbers of triples than were
    built, 2 the project cannot be read, or the server cannot be reached or refused a graph.
    """
    from .remote import StoreError, compare_counts, graph_counts, store_urls
    from .remote import load as put_graphs
    from .store import ensure_cache

    try:
        urls = store_urls(url, query=query_url, graph_store=graph_store)
        entry = ensure_cache(obj.project)
        click.echo(f"loading {sum(entry.meta['triples'].values()):,} triples into {urls.graph_store}", err=True)
        put_graphs(entry.load(), urls, timeout=timeout, echo=lambda line: click.echo(line, err=True))
        counts = graph_counts(urls.query, timeout=timeout)
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    differences = compare_counts(counts, entry.meta["triples"])
    for line in differences:
        click.echo(f"error: {line}", err=True)
    if differences:
        sys.exit(1)
    click.echo(f"{urls.query} holds " + ", ".join(f"{name} {n:,}" for name, n in counts.items()) + " triples")


if __name__ == "__main__":  # pragma: no cover
    main()
