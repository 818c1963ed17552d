"""Checking data against the shapes, the ontology and the source texts, and reporting it readably.

Four kinds of check, one report:
- SHACL (pyshacl) over data + ontology + `reasoning.infer()` output, so a node typed with a
  subclass meets its superclass's shapes exactly as the served, inferred graph would;
- declared terms: every agkg: property, class or term the data uses is declared by the ontology,
  and every agd: entity it links to is described by some file (so a typo such as agkg:qoute or
  agd:nujabaa fails instead of silently adding a new property or entity);
- literals: every typed literal is well-formed for its datatype (rdflib flags most; xsd:gYear
  and xsd:gYearMonth it cannot, so a month 13 would otherwise pass any sh:datatype);
- quotes: every agkg:quote is an exact substring of the text of each document the node cites
  (prov:wasDerivedFrom a document whose agkg:textFile is found beside the contributed file or
  under seeds/); a misquote names the nearest passage of the text.

A contribution to a large data/ is checked against the built store (agkg.store) instead of
re-reading, re-inferring and re-validating all of data/: its own nodes, with what the store says
about them and about the nodes the shapes reach from them (`_neighbourhood`), give the same
findings on the contribution's nodes as the whole graph would, in a fraction of the time.

Validation never raises for bad data; it raises SourceError only when a file cannot be read.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, XSD, NamespaceManager
from rdflib.term import Node

from .reasoning import infer
from .sources import Parsed, Project, file_subject_lines, nearest_origins, parse_files
from .vocab import AGD, AGKG, ASSERTED_GRAPH, DERIVED_FROM, INFERRED_GRAPH, PREFIXES, QUOTE, SH_AGKG, TEXT_FILE

QUOTE_CONSTRAINT = SH_AGKG["QuoteConstraintComponent"]
DECLARED_TERM_CONSTRAINT = SH_AGKG["DeclaredTermConstraintComponent"]
DESCRIBED_ENTITY_CONSTRAINT = SH_AGKG["DescribedEntityConstraintComponent"]
WELL_FORMED_CONSTRAINT = SH_AGKG["WellFormedLiteralConstraintComponent"]
SEVERITIES = ("Violation", "Warning", "Info")
# From about 5,000 triples of data/ (where infer() leaves owlrl), checking a contribution against
# the built store beats re-inferring all of data/: 0.5 MB (10k triples) took 6.4 s in full.
FOCUSED_MIN_DATA_BYTES = 250_000
STORED = "(built store)"  # the file name given to nodes the store describes: which data/ file did is not kept


@dataclass(frozen=True)
class Result:
    """One finding about one node."""

    focus: Node
    path: Node | None
    message: str
    severity: str  # "Violation", "Warning" or "Info"
    source_file: Path | None
    line: int | None
    constraint: URIRef
    value: Node | None = None
    shape: Node | None = None


@dataclass
class Report:
    """All findings of one `validate()` run, with the means to print them."""

    results: list[Result]
    files: list[Path]
    root: Path
    names: dict[Node, str] = field(default_factory=dict, repr=False)  # display names of nodes
    structure: Graph = field(default_factory=Graph, repr=False)  # triples of blank-node paths

    @property
    def conforms(self) -> bool:
        return not any(r.severity == "Violation" for r in self.results)

    def count(self, severity: str) -> int:
        return sum(r.severity == severity for r in self.results)

    # -- rendering ---------------------------------------------------------------------------

    def name(self, node: Node | None) -> str:
        if node is None:
            return ""
        if node in self.names:
            return self.names[node]
        if isinstance(node, BNode) and (node, None, None) in self.structure:
            return _path_name(node, self.structure)
        return _NAMESPACES.normalizeUri(node) if isinstance(node, URIRef) else node.n3()

    def where(self, result: Result) -> str:
        if result.source_file is None:
            return "(no file)"
        shown = _display_path(result.source_file)
        return f"{shown}:{result.line}" if result.line else shown

    def to_text(self) -> str:
        """Findings grouped by focus node, each group headed by the file:line that wrote it."""
        out: list[str] = []
        groups: dict[Node, list[Result]] = {}
        for result in self.results:
            groups.setdefault(result.focus, []).append(result)
        for focus, results in groups.items():
            out.append(f"{self.where(results[0])}  {self.name(focus)}")
            for r in results:
                path = f"{self.name(r.path)}: " if r.path is not None else ""
                value = f" (value: {_short(r.value)})" if r.value is not None and r.value not in (r.focus,) else ""
                out.append(f"  {r.severity:<9} {path}{r.message}{value}")
            out.append("")
        files = f"{len(self.files)} file{'s' if len(self.files) != 1 else ''} checked"
        if not self.results:
            out.append(f"Conforms: no violations or warnings ({files}).")
        else:
            counts = ", ".join(
                f"{self.count(s)} {s.lower()}{'s' if self.count(s) != 1 else ''}"
                for s in SEVERITIES
                if self.count(s)
            )
            verdict = "Conforms" if self.conforms else "Does not conform"
            out.append(f"{verdict}: {counts} on {len(groups)} node{'s' if len(groups) != 1 else ''} ({files}).")
        return "\n".join(out) + "\n"

    def to_json(self) -> str:
        return json.dumps(
            {
                "conforms": self.conforms,
                "files": [str(_display_path(f)) for f in self.files],
                "counts": {s.lower(): self.count(s) for s in SEVERITIES},
                "results": [
                    {
                        "focus": _term_json(r.focus),
                        "focus_name": self.name(r.focus),
                        "path": self.name(r.path) if r.path is not None else None,
                        "message": r.message,
                        "severity": r.severity,
                        "file": str(_display_path(r.source_file)) if r.source_file else None,
                        "line": r.line,
                        "constraint": str(r.constraint),
                        "value": _term_json(r.value) if r.value is not None else None,
                        "shape": _term_json(r.shape) if r.shape is not None else None,
                    }
                    for r in self.results
                ],
            },
            indent=2,
            ensure_ascii=False,
        )

    def to_graph(self) -> Graph:
        """The report as a SHACL sh:ValidationReport; each result's file and line is an
        rdfs:seeAlso to the file with an RFC 5147 #line= fragment."""
        graph = Graph(bind_namespaces="none")
        for prefix, iri in {**PREFIXES, "sh": str(SH), "shapes": str(SH_AGKG)}.items():
            graph.bind(prefix, iri)
        report = BNode()
        graph.add((report, RDF.type, SH.ValidationReport))
        graph.add((report, SH.conforms, Literal(self.conforms)))
        for r in self.results:
            node = BNode()
            graph.add((report, SH.result, node))
            graph.add((node, RDF.type, SH.ValidationResult))
            graph.add((node, SH.focusNode, r.focus))
            graph.add((node, SH.resultMessage, Literal(r.message)))
            graph.add((node, SH.resultSeverity, SH[r.severity]))
            graph.add((node, SH.sourceConstraintComponent, r.constraint))
            for prop, term in ((SH.resultPath, r.path), (SH.value, r.value), (SH.sourceShape, r.shape)):
                if term is not None:
                    graph.add((node, prop, term))
            if r.source_file is not None:
                line = f"#line={r.line - 1},{r.line}" if r.line else ""  # RFC 5147: the whole line
                graph.add((node, RDFS.seeAlso, URIRef(r.source_file.resolve().as_uri() + line)))
        graph += self.structure
        return graph

    def to_turtle(self) -> str:
        return self.to_graph().serialize(format="turtle")


_NAMESPACES = NamespaceManager(Graph(bind_namespaces="none"), bind_namespaces="none")
for _prefix, _iri in {**PREFIXES, "sh": str(SH), "shapes": str(SH_AGKG)}.items():
    _NAMESPACES.bind(_prefix, _iri)


def _display_path(path: Path) -> Path:
    """A path relative to the working folder when it is below it, else absolute."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path.resolve()


def _term_json(node: Node) -> str:
    return node.n3() if isinstance(node, BNode) else str(node)


def _short(node: Node, width: int = 60) -> str:
    text = _NAMESPACES.normalizeUri(node) if isinstance(node, URIRef) else node.n3(_NAMESPACES)
    return text if len(text) <= width else text[: width - 1] + "…"


# --- the entry point -----------------------------------------------------------------------


def validate(
    project: Project, files: list[Path] | None = None, *, focused: bool | None = None, store: ox.Store | None = None
) -> Report:
    """Validate all of data/ (files=None) or the given contribution files.

    Contributions are checked together with the ontology and data/, so links to existing
    entities resolve, but only nodes written in the given files are reported. Given files that
    are the project's own ontology or shapes files are parsed (a syntax error is still an error)
    but checked in that role, not as data.

    focused: check against the built store (`store`, default agkg.store.open_store(project),
    built on first use) rather than all of data/ parsed again; None chooses it when data/ holds
    at least FOCUSED_MIN_DATA_BYTES. A contribution is then checked with its neighbourhood in
    the store, and all of data/ with shacl_store instead of pyshacl (unless the shapes need
    more than shacl_store covers). Never when a given file is one of data/'s own: the store
    holds the version of it that the contribution replaces.
    """
    _forget_owlrl_datatypes()
    ontology = parse_files(project.ontology_files)
    shapes = parse_files(project.shape_files)
    role_files = {p.resolve() for p in (*project.ontology_files, *project.shape_files)}
    context = Graph()  # stored entailments the focused check takes over (none in a full check)
    if files is None:
        if _use_store(project, set(), focused):
            report = _validate_on_store(project, ontology, shapes, store)
            if report is not None:
                return report
        given, reported_files, store = [], None, None
        data = parse_files(project.data_files)
    else:
        given = [Path(f) for f in files]
        as_data = [f for f in given if f.resolve() not in role_files]
        for other in (f for f in given if f.resolve() in role_files):
            parse_files([other])  # only to surface syntax errors
        taken = {f.resolve() for f in as_data}
        reported_files = taken
        if _use_store(project, taken, focused):
            contribution = parse_files(as_data)  # syntax errors first, before any store is opened
            store = store if store is not None else _built_store(project)
            data, context = _neighbourhood(store, contribution, project.root / "data" / STORED)
        else:
            store = None
            data = parse_files([f for f in project.data_files if f.resolve() not in taken] + as_data)

    scope = _Scope(data, ontology, reported_files, store)
    inferred = infer(_union(data.graph, context), _without_domain_and_range(ontology.graph))
    inferred += context  # SHACL sees data + ontology + these
    structure = Graph()
    shacl = _shacl_results(scope, inferred, shapes.graph, structure)
    results = [
        *shacl,
        *_undeclared_terms(scope, data.graph),
        *_ill_formed_literals(scope, data.graph, already={(r.focus, r.path, r.value) for r in shacl}),
        *_quote_results(scope, project, _quoted(data.graph)),
    ]
    checked = given if files is not None else project.data_files
    return _report(results, checked, project, scope, structure)


def _quoted(graph: Graph) -> Iterable[tuple[Node, Node, Node]]:
    """(node, quote, document) for each agkg:quote of a node and each document the node cites."""
    return ((n, q, d) for n, q in graph.subject_objects(QUOTE) for d in graph.objects(n, DERIVED_FROM))


def _report(results: list[Result], checked: list[Path], project: Project, scope, structure: Graph | None = None) -> Report:
    names = _blank_node_names(results, scope)
    results = _sorted_unique(results, names)
    report = Report(results, checked, project.root, structure=structure if structure is not None else Graph())
    report.names.update(names)
    return report


def _forget_owlrl_datatypes() -> None:
    """Undo the typed-literal parsers owlrl leaves registered in rdflib after it runs.

    owlrl installs stricter parsers while it reasons and leaves those rdflib lacks (xsd:gYear,
    xsd:gYearMonth, ...) behind; a literal's ill_typed, which pyshacl's sh:datatype reads, is
    fixed when the literal is made. Without this a second validation in one process would judge
    "2019-13"^^xsd:gYearMonth differently from the first; _ill_formed_literals checks those types.
    """
    from owlrl.DatatypeHandling import AltXSDToPYTHON
    from rdflib.term import XSDToPython, _toPythonMapping

    for datatype in AltXSDToPYTHON.keys() - XSDToPython.keys():
        _toPythonMapping.pop(datatype, None)


def _built_store(project: Project) -> ox.Store:
    from .store import open_store

    store = open_store(project)
    _forget_owlrl_datatypes()  # building it may have run owlrl
    return store


def _use_store(project: Project, contributed: set[Path], wanted: bool | None) -> bool:
    """Whether a contribution is checked against the built store (see `validate`)."""
    if any(p.resolve() in contributed for p in project.data_files):
        return False
    if wanted is not None:
        return wanted
    return sum(p.stat().st_size for p in project.data_files) >= FOCUSED_MIN_DATA_BYTES


def _union(graph: Graph, more: Graph) -> Graph:
    if not len(more):
        return graph
    union = Graph(bind_namespaces="none")
    union += graph
    union += more
    return union


def _without_domain_and_range(ontology: Graph) -> Graph:
    """The ontology minus rdfs:domain and rdfs:range, for the closure that SHACL checks.

    Under inference a range types whatever it reaches (a killing's agkg:victim becomes an
    agkg:Person), so sh:class on that path could never fail; subclass, subproperty, inverse and
    chain axioms stay, so a subclass still meets its superclass's shapes.
    """
    stripped = Graph()
    stripped += ontology
    stripped.remove((None, RDFS.domain, None))
    stripped.remove((None, RDFS.range, None))
    return stripped


@dataclass
class _Scope:
    """What was parsed, and which nodes a run reports (all, or those the given files write)."""

    data: Parsed
    ontology: Parsed
    files: set[Path] | None  # resolved paths of the contributed files; None: report everything
    store: ox.Store | None = None  # the built store a focused check reads the rest of data/ from

    def reported(self, node: Node) -> bool:
        return self.files is None or any(path.resolve() in self.files for path, _ in self.data.origins(node))

    def describes(self, node: Node) -> bool:
        return self.data.describes(node) or self.ontology.describes(node)

    def locate(self, node: Node) -> tuple[Path | None, int | None]:
        """Where `node` is written, preferring a contributed file over data/ it extends."""
        origins = self.data.origins(node) or self.ontology.origins(node)
        if self.files is not None:
            origins = [o for o in origins if o[0].resolve() in self.files] or origins
        return origins[0] if origins else (None, None)

    def writers(self, node: Node) -> list[Path]:
        return [path for path, _ in self.data.origins(node)]

    def folders(self, *nodes: Node) -> list[Path]:
        """Where the texts of documents that `nodes` cite may be: beside the files that write them."""
        return list(dict.fromkeys(path.parent for node in nodes for path in self.writers(node)))

    def value(self, node: Node, predicate: URIRef) -> Node | None:
        return self.data.graph.value(node, predicate)

    def types(self, node: Node) -> list[Node]:
        return list(self.data.graph.objects(node, RDF.type))

    @functools.cached_property
    def entities(self) -> set[str]:
        """Every agd: IRI some file describes, for "did you mean" (in a focused check the store is
        asked: 0.9 s at a million triples, so only once a name turns out unknown)."""
        subjects = {str(s) for graph in (self.data.graph, self.ontology.graph) for s in graph.subjects()}
        if self.store is not None:
            subjects.update(_stored_subjects(self.store))
        return {s for s in subjects if s.startswith(str(AGD))}


def _stored_subjects(store: ox.Store) -> set[str]:
    query = f"SELECT DISTINCT ?s WHERE {{ GRAPH <{ASSERTED_GRAPH}> {{ ?s ?p ?o }} FILTER(isIRI(?s)) }}"
    return {row[0].value for row in store.query(query)}


# --- all of data/, read from the built store ----------------------------------------------


def _validate_on_store(project: Project, ontology: Parsed, shapes: Parsed, store: ox.Store | None) -> Report | None:
    """The whole-graph report, from the built store: shacl_store in place of pyshacl, the term,
    literal and quote checks fed from one pass over the store's quads (its N-Quads dump when it
    is the project's own and data/ has no blank node); None when shacl_store cannot evaluate
    these shapes on this graph (validate() then uses pyshacl)."""
    from . import shacl_store

    readers = []  # where the quads come from, fastest first
    if store is None:
        from .store import ensure_cache

        entry = ensure_cache(project)
        _forget_owlrl_datatypes()  # building it may have run owlrl
        store = entry.load()
        readers.append(lambda: ox.parse(path=str(entry.dump), format=ox.RdfFormat.N_QUADS))
    readers.append(lambda: store.quads_for_pattern(None, None, None))
    with _Lines(project) as lines:
        for read in readers:
            try:
                validator = shacl_store.Validator(store, shapes.graph)
            except shacl_store.Unsupported:
                return None
            report = _store_report(project, ontology, store, read(), validator, lines, read is not readers[-1])
            if report is not _RELABELLED:
                return report
    return None


_RELABELLED = object()  # the dump holds blank nodes of data/, which the store names otherwise


def _store_report(
    project: Project, ontology: Parsed, store: ox.Store, quads: Iterable[ox.Quad], validator, lines: _Lines,
    from_dump: bool,
) -> Report | None:
    """One pass over `quads` for shacl_store and the other checks, then the report.

    from_dump: the quads are the dump's, whose blank node labels the store does not keep (it
    renames them as it loads), so a blank node in data/ ends the pass with _RELABELLED: the
    SPARQL constraints and the lookups of a blank node in the store would not find it.
    """
    from . import shacl_store

    asserted = _Asserted()
    graph = ox.NamedNode(str(ASSERTED_GRAPH))
    for quad in quads:
        validator.add(quad)
        if quad.graph_name == graph:
            if from_dump and (isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode)):
                return _RELABELLED
            asserted.add(quad.subject, quad.predicate, quad.object)
    try:
        findings = validator.results()
    except shacl_store.Unsupported:
        return None
    scope = _StoreScope(project, ontology, store, asserted, lines)
    shacl = []
    for f in findings:
        focus = _rdflib_term(f.focus)
        source_file, line = scope.locate(focus)
        value = _rdflib_term(f.value) if f.value is not None else None
        shacl.append(Result(focus, f.path, f.message, f.severity, source_file, line, f.constraint, value, f.shape))
    shacl = _without_echoes(shacl, scope)
    results = [
        *shacl,
        *_undeclared_terms(scope, scope.undeclared_candidates()),
        *_ill_formed_literals(scope, scope.ill_formed_candidates(), already={(r.focus, r.path, r.value) for r in shacl}),
        *_quote_results(scope, project, scope.quotes()),
    ]
    return _report(results, project.data_files, project, scope)


_RDF_TYPE, _XSD_STRING, _LANG_STRING = (ox.NamedNode(str(t)) for t in (RDF.type, XSD.string, RDF.langString))
_QUOTE, _DERIVED_FROM, _TEXT_FILE = (ox.NamedNode(str(t)) for t in (QUOTE, DERIVED_FROM, TEXT_FILE))


class _Asserted:
    """What the term, literal and quote checks need from data/'s triples, gathered in one pass."""

    def __init__(self):
        self.subjects: set = set()
        self.predicates: set = set()
        self.objects: set = set()  # agkg: and agd: IRIs in object position
        self.literals: dict = defaultdict(list)  # typed literal (not a string) -> [(subject, predicate)]
        self.quotes: dict = defaultdict(list)
        self.cites: dict = defaultdict(list)
        self.text_files: dict = {}

    def add(self, s, p, o) -> None:
        self.subjects.add(s)
        self.predicates.add(p)
        if isinstance(o, ox.NamedNode):
            if o.value.startswith(_OURS):
                self.objects.add(o)
            if p == _DERIVED_FROM:
                self.cites[s].append(o)
        elif isinstance(o, ox.Literal):
            if p == _QUOTE:
                self.quotes[s].append(o)
            elif p == _TEXT_FILE:
                self.text_files.setdefault(s, o)
            if o.datatype != _XSD_STRING and o.datatype != _LANG_STRING:
                self.literals[o].append((s, p))
        elif p == _DERIVED_FROM:
            self.cites[s].append(o)


_OURS = (str(AGKG), str(AGD))


class _Lines:
    """Where each IRI is written as a subject in data/ (sources.subject_lines), worked out by a
    child process while this one validates: 6.6 s of tokenizing at a million triples that the
    other core does meanwhile. Stopped unasked for if nothing is reported."""

    def __init__(self, project: Project):
        import subprocess
        import sys

        self.files = project.data_files
        command = "import sys, json; from agkg.sources import file_subject_lines as f; json.dump([f(p) for p in sys.argv[1:]], sys.stdout)"
        self._child = subprocess.Popen([sys.executable, "-c", command, *map(str, self.files)],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._lines: dict[str, list[tuple[Path, int]]] | None = None

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc) -> None:
        if self._child.poll() is None:
            self._child.kill()
        self._child.wait()
        self._child.stdout.close()

    def of(self, iri: str) -> list[tuple[Path, int]]:
        if self._lines is None:
            output, _ = self._child.communicate()
            try:
                per_file = json.loads(output)
            except ValueError:  # the child failed: do it here
                per_file = [file_subject_lines(path) for path in self.files]
            self._lines = {}
            for path, lines in zip(self.files, per_file):
                for subject, line in lines.items():
                    self._lines.setdefault(subject, []).append((path, line))
        return self._lines.get(iri, [])


class _StoreScope:
    """_Scope's questions answered from the built store and one pass over its quads; every node
    is reported, and _Lines says where a node is written."""

    def __init__(self, project: Project, ontology: Parsed, store: ox.Store, asserted: _Asserted, lines: _Lines):
        self.project, self.ontology, self.store, self.asserted = project, ontology, store, asserted
        self._lines = lines
        self.graph = ox.NamedNode(str(ASSERTED_GRAPH))

    # -- what the checks read --

    def _triples(self, s=None, p=None, o=None) -> list[tuple[Node, Node, Node]]:
        return [(_rdflib_term(q.subject), _rdflib_term(q.predicate), _rdflib_term(q.object))
                for q in self.store.quads_for_pattern(s, p, o, self.graph)]

    def undeclared_candidates(self) -> list[tuple[Node, Node, Node]]:
        """The triples _undeclared_terms could flag: those with an agkg: property or term the
        ontology does not describe, or an agd: entity nothing describes."""
        described = {ox.NamedNode(str(s)) for s in self.ontology.graph.subjects() if isinstance(s, URIRef)}
        agkg = str(AGKG)
        found = []
        for p in self.asserted.predicates:
            if p.value.startswith(agkg) and p not in described:
                found += self._triples(p=p)
        for o in self.asserted.objects:
            if o not in described and (o.value.startswith(agkg) or o not in self.asserted.subjects):
                found += self._triples(o=o)
        return found

    def ill_formed_candidates(self) -> list[tuple[Node, Node, Node]]:
        found = []
        for literal, uses in self.asserted.literals.items():
            term = _rdflib_term(literal)
            if _ill_formed(term):
                found += [(_rdflib_term(s), _rdflib_term(p), term) for s, p in uses]
        return found

    def quotes(self) -> list[tuple[Node, Node, Node]]:
        return [(_rdflib_term(node), _rdflib_term(quote), _rdflib_term(document))
                for node, quotes in self.asserted.quotes.items() for quote in quotes
                for document in self.asserted.cites.get(node, ())]

    # -- the _Scope interface --

    def reported(self, node: Node) -> bool:
        return True

    def describes(self, node: Node) -> bool:
        return isinstance(node, URIRef) and (self.ontology.describes(node) or _ox_term(node) in self.asserted.subjects)

    def value(self, node: Node, predicate: URIRef) -> Node | None:
        if predicate == TEXT_FILE:
            found = self.asserted.text_files.get(_ox_term(node))
            return _rdflib_term(found) if found is not None else None
        found = next(self.store.quads_for_pattern(_ox_term(node), ox.NamedNode(str(predicate)), None, self.graph), None)
        return _rdflib_term(found.object) if found is not None else None

    def types(self, node: Node) -> list[Node]:
        return [o for _, _, o in self._triples(_ox_term(node), _RDF_TYPE)]

    @functools.cached_property
    def entities(self) -> set[str]:
        subjects = {s.value for s in self.asserted.subjects if isinstance(s, ox.NamedNode)}
        subjects |= {str(s) for s in self.ontology.graph.subjects()}
        return {s for s in subjects if s.startswith(str(AGD))}

    def origins(self, node: Node) -> list[tuple[Path, int]]:
        """As Parsed.origins: where the node is written, else where the nearest nodes linking to it are."""
        return nearest_origins(
            node,
            lambda n: self._lines.of(str(n)) if isinstance(n, URIRef) else [],
            lambda n: [s for s, _, _ in self._triples(o=_ox_term(n))],
            lambda o: (self.project.data_files.index(o[0]), o[1]),
        )

    def locate(self, node: Node) -> tuple[Path | None, int | None]:
        found = self.origins(node) or self.ontology.origins(node)
        return found[0] if found else (None, None)

    def writers(self, node: Node) -> list[Path]:
        return [path for path, _ in self.origins(node)]

    def folders(self, *nodes: Node) -> list[Path]:
        return [self.project.root / "data"]  # every file the store was built from is there


# --- the neighbourhood of a contribution in the built store --------------------------------


def _neighbourhood(store: ox.Store, contribution: Parsed, stored: Path) -> tuple[Parsed, Graph]:
    """The contribution plus what the store says about the nodes the shapes reach from it.

    The shapes (shapes/agkg-shapes.ttl) read a focus node's own triples, asserted and inferred
    (counts, datatypes, patterns, inverse and chained properties), and one step further only a
    linked node's types (sh:class), a cited document's dcterms:issued, and the triple an
    attestation restates. So this takes, from the store:
    - every triple about the contribution's own nodes and the blank nodes under them, and the
      inferred ones too (not rdf:type: the store's closure types by rdfs:domain and rdfs:range,
      which the closure SHACL checks leaves out; infer() redoes the types here);
    - the asserted triples of every node those link to, and the inferred triples of any that no
      file describes (they are reported too, as in a full check);
    - a triple an attestation or claim restates, wherever it is stored.
    Returns (asserted, entailments): the first a Parsed in which nodes the store describes are
    written in `stored` (data/ holds them; which file, the store does not keep).
    """
    graph = Graph(bind_namespaces="none")
    for prefix, ns in contribution.graph.namespaces():
        graph.bind(prefix, ns)
    graph += contribution.graph
    entailed = Graph(bind_namespaces="none")
    parts = {  # stored graph -> (where its triples go, the nodes already taken from it)
        ox.NamedNode(str(ASSERTED_GRAPH)): (graph, set()),
        ox.NamedNode(str(INFERRED_GRAPH)): (entailed, set()),
    }
    asserted, inferred = parts
    described: set[Node] = set()

    def take(node: Node, *names) -> list[Node]:
        """Add the stored triples about `node` and the blank nodes under it; return the IRIs they link to."""
        linked, todo = [], [node]
        while todo:
            current = todo.pop()
            for name in names:
                target, done = parts[name]
                if current in done:
                    continue
                done.add(current)
                for quad in store.quads_for_pattern(_ox_term(current), None, None, name):
                    s, p, o = (_rdflib_term(t) for t in (quad.subject, quad.predicate, quad.object))
                    if target is entailed and p == RDF.type:
                        continue
                    target.add((s, p, o))
                    if target is graph and isinstance(s, URIRef):
                        described.add(s)
                    (todo if isinstance(o, BNode) else linked).append(o)
        return [n for n in linked if isinstance(n, URIRef)]

    own = {s for s in contribution.graph.subjects() if isinstance(s, URIRef)}
    reached = [n for node in sorted(own, key=str) for n in take(node, asserted, inferred)]
    reached += [o for _, p, o in contribution.graph if isinstance(o, URIRef) and p != RDF.type]  # not classes
    for node in dict.fromkeys(reached):
        if node not in own:
            take(node, asserted)
            if node not in described:  # no file describes it: reported, so it is taken whole
                take(node, inferred)
    for triple in _restated(_union(graph, entailed)):
        for name, (target, _) in parts.items():
            if target is entailed and triple[1] == RDF.type:
                continue
            if next(store.quads_for_pattern(*(_ox_term(t) for t in triple), name), None) is not None:
                target.add(triple)

    origins = {node: list(places) for node, places in contribution._origins.items()}
    for node in described:
        origins[node] = [(stored, 0), *origins.get(node, [])]
    return Parsed(graph, [stored, *contribution.files], origins), entailed


def _restated(graph: Graph) -> set[tuple[Node, Node, Node]]:
    """The triples that reified statements (rdf:subject/predicate/object) in `graph` restate."""
    found = set()
    for node, s in graph.subject_objects(RDF.subject):
        for p in graph.objects(node, RDF.predicate):
            for o in graph.objects(node, RDF.object):
                if not isinstance(s, Literal) and isinstance(p, URIRef) and not isinstance(o, BNode):
                    found.add((s, p, o))
    return found


def _ox_term(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or XSD.string)))


def _rdflib_term(term) -> Node:
    """An rdflib term for a pyoxigraph one; xsd:string literals come back untyped, as Turtle parses them."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == str(XSD.string):
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


# --- SHACL ---------------------------------------------------------------------------------


def _shacl_results(scope: _Scope, inferred: Graph, shapes: Graph, structure: Graph) -> list[Result]:
    """pyshacl's results for the reported nodes; the triples of complex (blank-node) result
    paths are copied into `structure`."""
    from pyshacl import validate as shacl_validate

    if len(shapes) == 0:
        return []
    graph = _PreparedQueryGraph()  # core prefixes (rdf, rdfs, owl, xsd) bound, as SPARQL shapes expect
    graph += scope.data.graph
    graph += scope.ontology.graph
    graph += inferred
    _, report_graph, _ = shacl_validate(
        graph,
        shacl_graph=shapes,
        inference="none",  # done above by infer(), the same closure the store serves
        advanced=True,
        inplace=True,
        allow_warnings=True,
        allow_infos=True,
    )
    results = []
    top_level = (r for report in report_graph.subjects(RDF.type, SH.ValidationReport) for r in report_graph.objects(report, SH.result))
    for node in top_level:  # not the nested sh:detail results (sh:node, sh:or) they summarize
        focus = report_graph.value(node, SH.focusNode)
        if focus is None or not scope.reported(focus):
            continue
        severity = report_graph.value(node, SH.resultSeverity)
        source_file, line = scope.locate(focus)
        path = report_graph.value(node, SH.resultPath)
        if isinstance(path, BNode):
            _copy_tree(report_graph, path, structure)
        results.append(
            Result(
                focus=focus,
                path=path,
                message=_message(report_graph, node),
                severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
                source_file=source_file,
                line=line,
                constraint=report_graph.value(node, SH.sourceConstraintComponent),
                value=report_graph.value(node, SH.value),
                shape=report_graph.value(node, SH.sourceShape),
            )
        )
    return _without_echoes(results, scope)


def _without_echoes(results: list[Result], scope: _Scope) -> list[Result]:
    """Drop findings on nodes no file describes (e.g. a Wikidata IRI) that repeat a finding on a
    node a file does describe: inference (a symmetric skos:exactMatch) carried the mistake there."""
    described = {(r.path, r.message, r.value) for r in results if scope.describes(r.focus)}
    return [r for r in results if scope.describes(r.focus) or (r.path, r.message, r.value) not in described]


class _PreparedQueryGraph(Graph):
    """A graph that parses each distinct SPARQL text once.

    pyshacl sends a SPARQL-based constraint's query text once per focus node, with $this as a
    binding; rdflib would parse it every time, which dominated the run time (~36 ms a parse).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepared: dict[tuple[str, str | None], object] = {}

    def query(self, query_object, *args, **kwargs):
        if isinstance(query_object, str):
            from rdflib.plugins.sparql import prepareQuery

            key = (query_object, kwargs.get("base"))
            if key not in self._prepared:
                namespaces = dict(self.namespaces())  # what Graph.query would give an unprepared query
                self._prepared[key] = prepareQuery(query_object, initNs=namespaces, base=kwargs.get("base"))
            query_object = self._prepared[key]
        return super().query(query_object, *args, **kwargs)


def _message(graph: Graph, result: Node) -> str:
    """The English (or untagged) sh:resultMessage; pyshacl writes a default one when a shape has none."""
    messages = list(graph.objects(result, SH.resultMessage))
    for wanted in ("en", None):
        for m in messages:
            if isinstance(m, Literal) and (m.language or None) == wanted:
                return str(m)
    return str(messages[0]) if messages else "constraint not met"


# --- declared terms ------------------------------------------------------------------------


def _undeclared_terms(scope, triples: Iterable[tuple[Node, Node, Node]]) -> list[Result]:
    """agkg: terms the ontology never declares, and agd: entities that no file describes.

    Both are almost always typos (agkg:qoute, agd:nujabaa), and inference can hide them from
    SHACL: a range axiom makes a misspelt entity an instance of exactly the class expected.
    """
    declared = {s for s in scope.ontology.graph.subjects() if isinstance(s, URIRef) and s.startswith(str(AGKG))}
    results = []
    for s, p, o in triples:
        if not scope.reported(s):
            continue
        for term, role in ((p, "property"), (o, "class" if p == RDF.type else "term")):
            if not isinstance(term, URIRef):
                continue
            if term.startswith(str(AGKG)) and term not in declared:
                message = f"unknown {role} {_suggest(term, AGKG, 'agkg', declared, 'the ontology does not declare it')}"
                constraint = DECLARED_TERM_CONSTRAINT
            elif role != "property" and term.startswith(str(AGD)) and not scope.describes(term):
                message = f"unknown entity {_suggest(term, AGD, 'agd', scope.entities, 'no data file describes it')}"
                constraint = DESCRIBED_ENTITY_CONSTRAINT
            else:
                continue
            source_file, line = scope.locate(s)
            results.append(
                Result(s, p, message, "Violation", source_file, line, constraint, term if role != "property" else None)
            )
    return results


def _suggest(term: URIRef, namespace: str, prefix: str, known: set, problem: str) -> str:
    """`prefix:local: problem; did you mean prefix:closest?`"""
    local = term[len(namespace) :]
    close = difflib.get_close_matches(local, [k[len(namespace) :] for k in known], n=1)
    return f"{prefix}:{local}: {problem}" + (f"; did you mean {prefix}:{close[0]}?" if close else "")


# --- well-formed literals -----------------------------------------------------------------

_TZ = r"(?:Z|[+-](?:0\d|1[0-4]):[0-5]\d)?"
_LEXICAL = {  # the XSD date types rdflib does not check, with the form a contributor should write
    XSD.gYear: (re.compile(rf"-?\d{{4,}}{_TZ}"), 'a year, e.g. "2018"'),
    XSD.gYearMonth: (re.compile(rf"-?\d{{4,}}-(?:0[1-9]|1[0-2]){_TZ}"), 'year-month, e.g. "2019-03"'),
}
_FORMS = {XSD.date: 'year-month-day, e.g. "2020-01-03"', **{dt: form for dt, (_, form) in _LEXICAL.items()}}


def _ill_formed_literals(scope, triples: Iterable[tuple[Node, Node, Node]], already: set) -> list[Result]:
    """Typed literals whose text is not a value of their datatype, unless SHACL said so already."""
    results = []
    for s, p, o in triples:
        if not isinstance(o, Literal) or o.datatype is None or (s, p, o) in already or not scope.reported(s):
            continue
        if _ill_formed(o):
            datatype = _NAMESPACES.normalizeUri(o.datatype)
            form = _FORMS.get(o.datatype)
            source_file, line = scope.locate(s)
            results.append(
                Result(
                    focus=s,
                    path=p,
                    message=f'"{o}" is not a well-formed {datatype}' + (f": write {form}" if form else ""),
                    severity="Violation",
                    source_file=source_file,
                    line=line,
                    constraint=WELL_FORMED_CONSTRAINT,
                    value=o,
                )
            )
    return results


def _ill_formed(o: Literal) -> bool:
    rule = _LEXICAL.get(o.datatype)
    return o.ill_typed is True or (rule is not None and not rule[0].fullmatch(str(o)))


# --- quotes --------------------------------------------------------------------------------


def _quote_results(scope, project: Project, quotes: Iterable[tuple[Node, Node, Node]]) -> list[Result]:
    """Misquotes among (node, quote, document) triples: node agkg:quote quote; prov:wasDerivedFrom document."""
    texts: dict = {}  # (document, folders) -> its text, or what is wrong with finding it
    results = []
    for node, quote, document in sorted(quotes, key=lambda t: tuple(map(str, t))):
        if not scope.reported(node):
            continue
        key = (document, tuple(scope.folders(document, node)))
        if key not in texts:
            texts[key] = _document_text(document, node, scope, project)
        found, text = texts[key]
        problem = _misquote(str(quote), found, text) if text is not None else _missing_text(document, node, scope, project)
        if problem:
            source_file, line = scope.locate(node)
            results.append(Result(node, QUOTE, problem, "Violation", source_file, line, QUOTE_CONSTRAINT, quote))
    return results


def _document_text(document: Node, node: Node, scope, project: Project) -> tuple[Path | None, str]:
    """(the text file of `document`, its text); (None, why) if it names none; (None, None) if it is missing."""
    name = _NAMESPACES.normalizeUri(document) if isinstance(document, URIRef) else document.n3()
    text_file = scope.value(document, TEXT_FILE)
    if text_file is None:
        return None, f"cites {name}, which has no agkg:textFile naming its text, so the quote cannot be checked"
    if Path(str(text_file)).name != str(text_file) or str(text_file) in ("", ".", ".."):
        return None, f'agkg:textFile "{text_file}" of {name} must be a bare file name (found beside the data or in seeds/)'
    candidates = [*(folder / str(text_file) for folder in scope.folders(document, node)), project.seeds_dir / str(text_file)]
    found = next((c for c in candidates if c.is_file()), None)
    return (found, found.read_text(encoding="utf-8", errors="replace")) if found is not None else (None, None)


def _missing_text(document: Node, node: Node, scope, project: Project) -> str:
    name = _NAMESPACES.normalizeUri(document) if isinstance(document, URIRef) else document.n3()
    writers = list(dict.fromkeys([*scope.writers(document), *scope.writers(node)]))
    named = [w for w in writers if w.parent != project.seeds_dir and w.name != STORED]
    beside = " or ".join(f"next to {_display_path(w)}" for w in named)
    seeds = f"{_display_path(project.seeds_dir)}/"
    return f'the text "{scope.value(document, TEXT_FILE)}" of {name} is missing: add it {beside + " or " if beside else ""}to {seeds}'


def _misquote(quote: str, found: Path | None, text: str) -> str | None:
    """None if `quote` is in the text, else what is wrong."""
    if found is None:  # the text says why there is none
        return text
    if quote in text:
        return None
    passage, difference = nearest_passage(quote, text)
    return (
        f'quote not found in {found.name}; nearest passage: "{_one_line(passage)}"'
        + (f" ({difference})" if difference else "")
    )


def nearest_passage(quote: str, text: str) -> tuple[str, str]:
    """The stretch of `text` most like `quote`, and its first difference from the quote."""
    if not quote or not text:
        return "", ""
    matcher = difflib.SequenceMatcher(None, text, quote, autojunk=False)
    block = matcher.find_longest_match(0, len(text), 0, len(quote))
    anchor = block.a - block.b  # where the quote would start if the longest match is in place
    slack = max(2, len(quote) // 5)
    step = max(1, slack // 4)

    def best(windows) -> tuple[int, int]:
        return max(windows, key=lambda w: difflib.SequenceMatcher(None, text[w[0] : w[1]], quote, autojunk=False).ratio())

    coarse = best(
        (start, start + max(1, length))
        for start in range(max(0, anchor - slack), min(len(text), anchor + slack) + 1, step)
        for length in (len(quote) - slack, len(quote), len(quote) + slack)
    )
    start, end = best(  # then the exact edges near the coarse pick
        (s, e)
        for s in range(max(0, coarse[0] - step), coarse[0] + step + 1)
        for e in range(max(s + 1, coarse[1] - step), coarse[1] + step + 1)
    )
    ops = difflib.SequenceMatcher(None, text[start:end], quote, autojunk=False).get_opcodes()
    if ops and ops[0][0] == "delete":  # text before the quote's start is not part of the passage
        start += ops[0][2]
        ops = ops[1:]
    if ops and ops[-1][0] == "delete":
        end = start + ops[-1][1] - (ops[0][1] if ops else 0)
        ops = ops[:-1]
    passage = text[start:end]
    return passage, _first_difference(passage, quote)


def _first_difference(passage: str, quote: str) -> str:
    """The first differing stretch, widened to whole words so a reader can find it."""
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, passage, quote, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        edge = (passage[i1:i2] or quote[j1:j2])
        if i1 > 0 and passage[i1 - 1].isalnum() and not edge[0].isspace():  # inside a word: widen left
            while i1 > 0 and passage[i1 - 1].isalnum():
                i1 -= 1
            while j1 > 0 and quote[j1 - 1].isalnum():
                j1 -= 1
        if i2 < len(passage) and passage[i2].isalnum() and not edge[-1].isspace():  # and right
            while i2 < len(passage) and passage[i2].isalnum():
                i2 += 1
            while j2 < len(quote) and quote[j2].isalnum():
                j2 += 1
        has, wrote = passage[i1:i2], quote[j1:j2]
        if has and wrote:
            return f"the text has {_show(has)} where the quote has {_show(wrote)}"
        if has:
            return f"the quote leaves out {_show(has)}"
        return f"the quote adds {_show(wrote)}"
    return ""


def _show(fragment: str) -> str:
    fragment = fragment if len(fragment) <= 40 else fragment[:39] + "…"
    return json.dumps(fragment, ensure_ascii=False)


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ⏎ ", text.strip())


# --- shaping the results -------------------------------------------------------------------


def _sorted_unique(results: list[Result], names: dict[Node, str]) -> list[Result]:
    unique = {(r.focus, r.path, r.message, r.severity, r.constraint, r.value): r for r in results}
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings: dict[Node, list] = defaultdict(list)  # a blank node's label differs from run to run:
    for r in unique.values():  # it is ordered by its name and what is found on it instead
        if isinstance(r.focus, BNode):
            findings[r.focus].append((r.severity, str(r.path or ""), r.message, str(r.value or "")))

    def node(r: Result) -> tuple:
        if isinstance(r.focus, BNode):
            return ("~" + names.get(r.focus, ""), tuple(sorted(findings[r.focus])))
        return (str(r.focus), ())

    return sorted(
        unique.values(),
        key=lambda r: (str(r.source_file or "~"), r.line or 0, node(r), order.get(r.severity, 9), str(r.path or ""), r.message),
    )


def _blank_node_names(results: list[Result], scope) -> dict[Node, str]:
    """Blank nodes have no name; show them as `[ a Class ]` using their asserted type."""
    names = {}
    for r in results:
        if isinstance(r.focus, BNode) and r.focus not in names:
            types = sorted(_NAMESPACES.normalizeUri(t) for t in scope.types(r.focus))
            names[r.focus] = f"[ a {', '.join(types)} ]" if types else "[ blank node ]"
    return names


def _copy_tree(source: Graph, node: Node, target: Graph) -> None:
    """Copy the triples reachable from blank node `node` (a SHACL path expression)."""
    todo, seen = [node], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for p, o in source.predicate_objects(current):
            target.add((current, p, o))
            if isinstance(o, BNode):
                todo.append(o)


def _path_name(path: Node, graph: Graph) -> str:
    """A SHACL path in SPARQL property-path syntax: ^p, p/q, (p|q), p*, p+, p?."""
    if not isinstance(path, BNode):
        return _NAMESPACES.normalizeUri(path) if isinstance(path, URIRef) else path.n3()
    if (path, RDF.first, None) in graph:
        return "/".join(_path_name(step, graph) for step in graph.items(path))
    for predicate, template in (
        (SH.inversePath, "^{}"),
        (SH.zeroOrMorePath, "{}*"),
        (SH.oneOrMorePath, "{}+"),
        (SH.zeroOrOnePath, "{}?"),
    ):
        inner = graph.value(path, predicate)
        if inner is not None:
            return template.format(_path_name(inner, graph))
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(_path_name(step, graph) for step in graph.items(alternatives)) + ")"
    return path.n3()
