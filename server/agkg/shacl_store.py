"""SHACL shapes evaluated on the built store, for validating all of a large data/ without pyshacl.

pyshacl over rdflib spends about 2.3 ms per focus node (53 s at 100k triples, ~400 s at 1M), and
rdflib alone needs a minute to parse a million triples. Here one pass over the store's quads
(`Validator.add`) collects the values of every path the shapes constrain, the SHACL Core
constraints are checked in Python per value, and each SHACL-SPARQL constraint runs once for all
its focus nodes (`Validator._sparql`): 22 s for the whole of a 1M-triple project.

The data graph is the one validation.py gives pyshacl: data + ontology + their OWL 2 RL closure
*without* rdfs:domain and rdfs:range. The store's closure has those two, but while no class
expression (restriction, hasKey, disjointness...) is in the graph they only add rdf:type triples,
so every other triple is read as stored and types are recomputed: the asserted ones closed under
rdfs:subClassOf and owl:sameAs (`_Types`). A SPARQL constraint reads the store as it is, so it is
only used when the stored types of every class it mentions equal the recomputed ones.

Anything outside what this covers (complex paths, sh:closed, qualified shapes, a class expression
in the graph, ...) raises Unsupported, from Validator() or results(), before any finding is made;
the caller then uses pyshacl.
tests/test_validation.py compares both on every fixture and on a generated 10k-triple graph.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node

from .vocab import ASSERTED_GRAPH, ONTOLOGY_GRAPH

# OWL terms whose OWL 2 RL rules read rdf:type triples and write others: with any of them in the
# graph, the domain/range types this module leaves out could change more than types.
CLASS_EXPRESSIONS = [OWL[t] for t in (
    "hasValue", "someValuesFrom", "allValuesFrom", "onProperty", "maxCardinality", "maxQualifiedCardinality",
    "cardinality", "minCardinality", "hasKey", "intersectionOf", "unionOf", "complementOf", "oneOf",
    "disjointWith", "disjointUnionOf", "members", "propertyDisjointWith",
)]
_SUPPORTED = {  # predicates a shape may use
    RDF.type, RDFS.label, RDFS.comment, SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode,
    SH.property, SH.path, SH.message, SH.severity, SH.deactivated, SH.name, SH.description, SH.order, SH.group,
    SH["class"], SH.datatype, SH.nodeKind, SH.minCount, SH.maxCount, SH.pattern, SH.flags, SH.minLength, SH.maxLength,
    SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive, SH.hasValue, SH["in"], SH.uniqueLang,
    SH.node, SH["or"], SH["and"], SH["not"], SH.xone, SH.sparql,
}
_NODE_KINDS = {
    SH.IRI: (ox.NamedNode,), SH.BlankNode: (ox.BlankNode,), SH.Literal: (ox.Literal,),
    SH.BlankNodeOrIRI: (ox.BlankNode, ox.NamedNode), SH.BlankNodeOrLiteral: (ox.BlankNode, ox.Literal),
    SH.IRIOrLiteral: (ox.NamedNode, ox.Literal),
}
_RANGES = {SH.minInclusive: "__ge__", SH.maxInclusive: "__le__", SH.minExclusive: "__gt__", SH.maxExclusive: "__lt__"}
_LANG_STRING = ox.NamedNode(str(RDF.langString))
_STRING = ox.NamedNode(str(XSD.string))
_TYPE = ox.NamedNode(str(RDF.type))
_SUBCLASS = ox.NamedNode(str(RDFS.subClassOf))
_SAME_AS = ox.NamedNode(str(OWL.sameAs))


class Unsupported(Exception):
    """The shapes or the graph need more than this module does; validate with pyshacl instead."""


@dataclass(frozen=True)
class Finding:
    """One validation result, with store terms for the data and shapes-graph terms for the rest."""

    focus: ox.NamedNode | ox.BlankNode | ox.Literal
    path: URIRef | None
    value: ox.NamedNode | ox.BlankNode | ox.Literal | None
    message: str
    severity: str
    constraint: URIRef
    shape: Node


@dataclass(eq=False)
class _Shape:
    node: Node
    path: URIRef | None
    severity: str
    message: str | None
    targets: list[tuple[URIRef, Node]] = field(default_factory=list)
    checks: list[tuple[URIRef, object]] = field(default_factory=list)  # (parameter, compiled value)
    properties: list[_Shape] = field(default_factory=list)
    sparql: list[_Sparql] = field(default_factory=list)


@dataclass(eq=False)
class _Sparql:
    text: str  # the SELECT with the shapes' prefixes, $this written ?this
    message: str | None
    node: Node
    this_bound: bool = False  # whether every solution binds ?this (see Validator._sparql)


def results(store: ox.Store, shapes: Graph, quads: Iterable[ox.Quad] | None = None) -> list[Finding]:
    """Every validation result of the store's graph against `shapes` (raises Unsupported).

    quads: the store's quads from a faster source, such as its N-Quads dump: pyoxigraph parses
    the 2.4M of a 1M-triple project in 3.7 s, where iterating the on-disk store takes ~25 s.
    """
    validator = Validator(store, shapes)
    for quad in store.quads_for_pattern(None, None, None) if quads is None else quads:
        validator.add(quad)
    return validator.results()


# --- reading the shapes -------------------------------------------------------------------------


def _message(graph: Graph, node: Node) -> str | None:
    messages = list(graph.objects(node, SH.message))
    for wanted in ("en", None):
        for m in messages:
            if isinstance(m, Literal) and (m.language or None) == wanted:
                return str(m)
    return str(messages[0]) if messages else None


def _ox(term: Node):
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        raise Unsupported("a blank node as a constraint value")
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or XSD.string)))


class _Shapes:
    """The shapes graph compiled into _Shape objects, refusing what this module does not evaluate."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.compiled: dict[Node, _Shape] = {}
        self.prefixes = self._prefixes()

    def _prefixes(self) -> str:
        declared = {
            (str(self.graph.value(d, SH.prefix)), str(self.graph.value(d, SH.namespace)))
            for d in self.graph.objects(None, SH.declare)
        }
        return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(declared))

    def top_level(self) -> list[_Shape]:
        targeted = {s for t in (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode)
                    for s in self.graph.subjects(t, None)}
        for shape in set(self.graph.subjects(RDF.type, SH.NodeShape)) | set(self.graph.subjects(RDF.type, SH.PropertyShape)):
            if (shape, RDF.type, RDFS.Class) in self.graph or (shape, RDF.type, OWL.Class) in self.graph:
                raise Unsupported("implicit class targets")
        return [self.shape(s) for s in sorted(targeted, key=str) if self.graph.value(s, SH.deactivated) != Literal(True)]

    def shape(self, node: Node) -> _Shape:
        if node in self.compiled:
            return self.compiled[node]
        g = self.graph
        path = g.value(node, SH.path)
        if path is not None and not isinstance(path, URIRef):
            raise Unsupported("a path that is not a single property")
        severity = g.value(node, SH.severity)
        shape = _Shape(node, path, str(severity).rsplit("#", 1)[-1] if severity else "Violation", _message(g, node))
        self.compiled[node] = shape  # before the parts, so recursive shapes terminate
        for p, o in g.predicate_objects(node):
            if p not in _SUPPORTED:
                raise Unsupported(f"{p}")
            if p in (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode):
                shape.targets.append((p, o))
            elif p == SH.property:
                shape.properties.append(self.shape(o))
            elif p == SH.sparql:
                shape.sparql.append(self._sparql(o))
            elif p in (SH.node, SH["not"]):
                shape.checks.append((p, self.shape(o)))
            elif p in (SH["or"], SH["and"], SH.xone):
                shape.checks.append((p, [self.shape(m) for m in g.items(o)]))
            elif p == SH["in"]:
                shape.checks.append((p, {_ox(m) for m in g.items(o)}))
            elif p == SH.pattern:
                flags = str(g.value(node, SH.flags) or "")
                shape.checks.append((p, re.compile(str(o), sum(getattr(re, f.upper(), 0) for f in flags if f in "imsx"))))
            elif p in (SH.datatype, SH["class"], SH.nodeKind):
                shape.checks.append((p, ox.NamedNode(str(o)) if p != SH.nodeKind else _NODE_KINDS[o]))
            elif p in (SH.minCount, SH.maxCount, SH.minLength, SH.maxLength):
                shape.checks.append((p, int(o)))
            elif p in _RANGES:
                shape.checks.append((p, o))
            elif p == SH.hasValue:
                shape.checks.append((p, _ox(o)))
            elif p == SH.uniqueLang and o == Literal(True):
                shape.checks.append((p, True))
        return shape

    def _sparql(self, constraint: Node) -> _Sparql:
        g = self.graph
        select = g.value(constraint, SH.select)
        if select is None or g.value(constraint, SH.deactivated) == Literal(True):
            raise Unsupported("a SPARQL constraint without sh:select")
        return _Sparql(self.prefixes + re.sub(r"\$(\w+)", r"?\1", str(select)), _message(g, constraint), constraint)


# --- the data graph as validation sees it ----------------------------------------------------------


class _Types:
    """rdf:type as the closure without rdfs:domain/range has it: asserted types, their superclasses,
    and the types of owl:sameAs partners."""

    def __init__(self, asserted: dict, subclass: list, same: list):
        supers: dict = defaultdict(set)
        for sub, sup in subclass:
            supers[sub].add(sup)
        closed: dict = {}

        def up(c) -> frozenset:
            if c not in closed:
                seen, todo = {c}, [c]
                while todo:
                    for s in supers.get(todo.pop(), ()):
                        if s not in seen:
                            seen.add(s)
                            todo.append(s)
                closed[c] = frozenset(seen)
            return closed[c]

        for node, other in same:
            if other in asserted:
                asserted.setdefault(node, set()).update(asserted[other])
        shared: dict = {}
        self.of: dict = {}
        self._by_class: dict | None = None
        for node, classes in asserted.items():
            key = frozenset(classes)
            if key not in shared:
                shared[key] = frozenset().union(*(up(c) for c in key))
            self.of[node] = shared[key]

    def instances(self, cls) -> list:
        """Every node of class `cls`, in the order the quads gave them."""
        if self._by_class is None:  # one pass over all nodes, not one per targeted class
            self._by_class = defaultdict(list)
            for node, classes in self.of.items():
                for c in classes:
                    self._by_class[c].append(node)
        return self._by_class.get(cls, [])


class Validator:
    """Reads the store's quads once (`add`), then evaluates every shape (`results`)."""

    def __init__(self, store: ox.Store, shapes: Graph):
        self.store = store
        try:  # a shapes graph this cannot read (a bad pattern, count or query) is pyshacl's to report
            self.shapes = _Shapes(shapes)
            self.top = self.shapes.top_level()
        except (ValueError, KeyError, TypeError, re.error) as exc:
            raise Unsupported(f"unreadable shapes: {exc}") from exc
        self._paths: dict = {}  # path IRI -> {subject: [values]}, filled by add()
        self._conforms: dict = {}
        self._well_typed: dict = {}
        self._compiled: dict = {}
        self._asserted_types: dict = {}
        self._subclass: list = []
        self._same: list = []
        self._stored_instances: dict = {}  # class a SPARQL constraint reads -> every node the store types so
        self._class_expression: str | None = None
        for shape in self.shapes.compiled.values():
            if shape.path is not None and shape.path != RDF.type:
                self._paths.setdefault(ox.NamedNode(str(shape.path)), {})
            for kind, term in shape.targets:
                if kind in (_TARGET_SUBJECTS, SH.targetObjectsOf):
                    self._paths.setdefault(ox.NamedNode(str(term)), {})
            for constraint in shape.sparql:
                self._read_query(constraint)
        self._own = {ox.NamedNode(str(g)) for g in (ASSERTED_GRAPH, ONTOLOGY_GRAPH)}
        self._class_expressions = {ox.NamedNode(str(t)) for t in CLASS_EXPRESSIONS}
        # pyoxigraph lets go of the GIL while it evaluates, so these queries use the second core
        # while add() reads the quads on the first.
        queries = ThreadPoolExecutor(1, thread_name_prefix="agkg-shacl")
        self._early = {c: queries.submit(self._rows, c.text) for shape in self.shapes.compiled.values()
                       for c in shape.sparql if c.this_bound}
        queries.shutdown(wait=False)

    def add(self, quad: ox.Quad) -> None:
        s, p, o = quad.subject, quad.predicate, quad.object
        values = self._paths.get(p)
        if values is not None:
            found = values.get(s)
            if found is None:
                values[s] = [o]
            elif o not in found:
                found.append(o)
        if p == _TYPE:
            if quad.graph_name in self._own:
                self._asserted_types.setdefault(s, set()).add(o)
            if o in self._stored_instances:
                self._stored_instances[o].add(s)
        elif p == _SUBCLASS:
            self._subclass.append((s, o))
        elif p == _SAME_AS:
            self._same.append((s, o))
        elif p in self._class_expressions:
            self._class_expression = p.value

    def results(self) -> list[Finding]:
        if self._class_expression is not None:
            raise Unsupported(f"the graph uses {self._class_expression}")
        self.types = _Types(self._asserted_types, self._subclass, self._same)
        for cls, stored in self._stored_instances.items():
            if stored != set(self.types.instances(cls)):
                raise Unsupported(f"domain/range types of {cls.value} in a SPARQL constraint")
        for shape in self.shapes.compiled.values():
            self._compile(shape)
        found: list[Finding] = []
        for shape in self.top:
            focus = self.focus_nodes(shape)
            for node in focus:
                found.extend(self.evaluate(shape, node))
            for constraint in shape.sparql:
                found.extend(self._sparql(shape, focus, constraint))
        return found

    def _read_query(self, constraint: _Sparql) -> None:
        """Note whether every solution binds $this, and which classes' stored types it reads."""
        from rdflib.plugins.sparql import prepareQuery

        try:
            algebra = prepareQuery(constraint.text).algebra
        except Exception as exc:  # rdflib's parser raises several types
            raise Unsupported(f"unreadable SPARQL constraint: {exc}") from exc
        constraint.this_bound = Variable("this") in _certainly_bound(algebra.p)
        for cls in _type_classes(algebra):
            if not isinstance(cls, URIRef):
                raise Unsupported("a SPARQL constraint reading rdf:type of a variable class")
            self._stored_instances[ox.NamedNode(str(cls))] = set()

    # -- values --

    def _index(self, path: URIRef) -> dict:
        """subject -> its values of `path`, each once (several graphs may hold one triple)."""
        if path == RDF.type:
            return {node: sorted(classes, key=str) for node, classes in self.types.of.items()}
        return self._paths[ox.NamedNode(str(path))]

    def focus_nodes(self, shape: _Shape) -> list:
        nodes: dict = {}
        for kind, term in shape.targets:
            if kind == _TARGET_CLASS:
                nodes.update(dict.fromkeys(self.types.instances(ox.NamedNode(str(term)))))
            elif kind == _TARGET_NODE:
                nodes[_ox(term)] = None
            elif kind == _TARGET_SUBJECTS:
                nodes.update(dict.fromkeys(self._index(term)))
            else:
                nodes.update(dict.fromkeys(v for vs in self._index(term).values() for v in vs))
        return list(nodes)

    # -- evaluation --

    def evaluate(self, shape: _Shape, focus) -> Iterator[Finding]:
        """Findings of `shape` on `focus`, its property shapes' too (results() runs the SPARQL constraints)."""
        index, checks = self._compiled[shape]
        values = [focus] if index is None else index.get(focus, ())
        for component, mode, test in checks:
            if mode == "value":
                for v in values:
                    if not test(v):
                        yield Finding(focus, shape.path, v, shape.message, shape.severity, component, shape.node)
            else:
                for _ in range(test(values)):  # how many findings without a value
                    yield Finding(focus, shape.path, None, shape.message, shape.severity, component, shape.node)
        for prop in shape.properties:
            yield from self.evaluate(prop, focus)

    def conforms(self, node, shape: _Shape) -> bool:
        key = (id(shape), node)
        if key not in self._conforms:
            self._conforms[key] = True  # a recursive reference conforms while it is being checked
            ok = next(self.evaluate(shape, node), None) is None
            for constraint in shape.sparql:
                ok = ok and not self._rows(constraint.text, {ox.Variable("this"): node})
            self._conforms[key] = ok
        return self._conforms[key]

    def _compile(self, shape: _Shape) -> None:
        """(values index, [(component, "value" or "count", test)]) for `shape`'s core constraints."""
        checks = []
        for parameter, rule in shape.checks:
            component = SH[_COMPONENTS[parameter] + "ConstraintComponent"]
            counting = _COUNTING.get(parameter)
            if counting is not None:
                checks.append((component, "count", functools.partial(counting, rule)))
            else:
                checks.append((component, "value", self._value_test(parameter, rule)))
        if shape.message is None:
            shape.message = f"constraint not met ({', '.join(_COMPONENTS[p] for p, _ in shape.checks)})"
        self._compiled[shape] = (self._index(shape.path) if shape.path is not None else None, checks)

    def _value_test(self, parameter: URIRef, rule):
        """A function telling whether one value node meets the constraint."""
        types = self.types.of
        tests = {
            _CLASS: lambda v: not isinstance(v, ox.Literal) and rule in types.get(v, ()),
            _DATATYPE: lambda v: isinstance(v, ox.Literal) and self._has_datatype(v, rule),
            _NODE_KIND: lambda v: isinstance(v, rule),
            _PATTERN: lambda v: not isinstance(v, ox.BlankNode) and rule.search(v.value) is not None,
            _MIN_LENGTH: lambda v: not isinstance(v, ox.BlankNode) and len(v.value) >= rule,
            _MAX_LENGTH: lambda v: not isinstance(v, ox.BlankNode) and len(v.value) <= rule,
            _IN: lambda v: v in rule,
            _NODE: lambda v: self.conforms(v, rule),
            _NOT: lambda v: not self.conforms(v, rule),
            _OR: lambda v: any(self.conforms(v, s) for s in rule),
            _AND: lambda v: all(self.conforms(v, s) for s in rule),
            _XONE: lambda v: sum(self.conforms(v, s) for s in rule) == 1,
        }
        if parameter in _RANGES:
            return lambda v: _in_range(v, _RANGES[parameter], rule)
        return tests[parameter]

    def _has_datatype(self, v: ox.Literal, datatype: ox.NamedNode) -> bool:
        """pyshacl's sh:datatype: the same datatype and, as rdflib judges it, a well-formed value."""
        if datatype == _LANG_STRING or v.datatype == _LANG_STRING:
            return datatype == v.datatype
        if v.datatype != datatype:
            return False
        if datatype == _STRING:
            return True
        if v not in self._well_typed:
            self._well_typed[v] = _rdflib_literal(v).ill_typed is not True
        return self._well_typed[v]

    def _sparql(self, shape: _Shape, focus: list, constraint: _Sparql) -> Iterator[Finding]:
        """The constraint's rows for all focus nodes at once.

        When every solution binds $this, one run without it, kept to the focus nodes, equals one run
        per focus node with $this pre-bound (Oxigraph plans that far better than a VALUES join:
        0.5 s against 94 s for one constraint at a million triples); it started in a thread while
        add() was reading. Otherwise a VALUES block at the start of WHERE binds $this.
        """
        if constraint in self._early:
            rows = self._early[constraint].result()
        else:
            opening = constraint.text.index("{", len(self.shapes.prefixes))
            named = [n for n in focus if not isinstance(n, ox.BlankNode)]
            rows = [row for i in range(0, len(named), 5000) for row in self._rows(
                f"{constraint.text[: opening + 1]} VALUES ?this {{ {' '.join(map(str, named[i : i + 5000]))} }} "
                f"{constraint.text[opening + 1 :]}")]
            for node in focus:  # VALUES cannot hold a blank node: bind those one at a time
                if isinstance(node, ox.BlankNode):
                    rows += [{**row, "this": node} for row in self._rows(constraint.text, {ox.Variable("this"): node})]
        wanted, seen = set(focus), set()
        for bound in rows:
            this, path, value = bound.pop("this", None), bound.pop("path", None), bound.pop("value", None)
            key = (this, path, value, tuple(sorted(bound.items(), key=str)))
            if this not in wanted or key in seen:  # pyshacl reports a repeated row once
                continue
            seen.add(key)
            if value is None and shape.path is None:
                value = this
            message = constraint.message or "SPARQL constraint not met"
            for name, term in {**bound, "this": this, "path": path, "value": value}.items():
                if term is not None:
                    message = re.sub("{[?$]%s}" % re.escape(name), _plain(term).replace("\\", r"\\"), message)
            yield Finding(this, URIRef(path.value) if path is not None else shape.path, value, message,
                          shape.severity, SH.SPARQLConstraintComponent, shape.node)

    def _rows(self, text: str, substitutions: dict | None = None) -> list[dict]:
        """The solutions of a SELECT on the store, each as {variable name: term} of its bound variables."""
        solutions = self.store.query(text, use_default_graph_as_union=True, substitutions=substitutions)
        names = [v.value for v in solutions.variables]
        return [{name: row[name] for name in names if row[name] is not None} for row in solutions]


_TARGET_CLASS, _TARGET_NODE, _TARGET_SUBJECTS = SH.targetClass, SH.targetNode, SH.targetSubjectsOf
_CLASS, _DATATYPE, _NODE_KIND, _PATTERN = SH["class"], SH.datatype, SH.nodeKind, SH.pattern
_MIN_LENGTH, _MAX_LENGTH, _IN, _NODE = SH.minLength, SH.maxLength, SH["in"], SH.node
_NOT, _OR, _AND, _XONE = SH["not"], SH["or"], SH["and"], SH.xone
_COMPONENTS = {
    _CLASS: "Class", _DATATYPE: "Datatype", _NODE_KIND: "NodeKind", SH.minCount: "MinCount",
    SH.maxCount: "MaxCount", _PATTERN: "Pattern", _MIN_LENGTH: "MinLength", _MAX_LENGTH: "MaxLength",
    SH.minInclusive: "MinInclusive", SH.maxInclusive: "MaxInclusive", SH.minExclusive: "MinExclusive",
    SH.maxExclusive: "MaxExclusive", SH.hasValue: "HasValue", _IN: "In", SH.uniqueLang: "UniqueLang",
    _NODE: "Node", _OR: "Or", _AND: "And", _NOT: "Not", _XONE: "Xone",
}


def _repeated_languages(_, values) -> int:
    langs = [v.language for v in values if isinstance(v, ox.Literal) and v.language]
    return sum(1 for lang in set(langs) if langs.count(lang) > 1)


_COUNTING = {  # constraints on all values together: parameter -> (rule, values) -> number of findings
    SH.minCount: lambda rule, values: int(len(values) < rule),
    SH.maxCount: lambda rule, values: int(len(values) > rule),
    SH.hasValue: lambda rule, values: int(rule not in values),
    SH.uniqueLang: _repeated_languages,
}


def _in_range(v, comparison: str, bound: Literal) -> bool:
    if not isinstance(v, ox.Literal):
        return False
    try:
        return bool(getattr(_rdflib_literal(v), comparison)(bound))
    except TypeError:
        return False


def _plain(term) -> str:
    """A term as rdflib's str() writes it, which is how pyshacl fills {?var} in a message."""
    return term.value


def _rdflib_literal(v: ox.Literal) -> Literal:
    if v.language:
        return Literal(v.value, lang=v.language)
    return Literal(v.value, datatype=URIRef(v.datatype.value))


def _certainly_bound(part) -> set:
    """Variables every solution of an rdflib algebra pattern binds (a safe under-estimate)."""
    name = getattr(part, "name", None)
    if name == "BGP":
        return {t for triple in part["triples"] for t in triple if isinstance(t, Variable)}
    if name == "Join":
        return _certainly_bound(part["p1"]) | _certainly_bound(part["p2"])
    if name in ("LeftJoin", "Minus"):
        return _certainly_bound(part["p1"])
    if name == "Union":
        return _certainly_bound(part["p1"]) & _certainly_bound(part["p2"])
    if name in ("Filter", "Extend", "Project", "Distinct", "Reduced", "ToMultiSet", "Graph", "Slice", "OrderBy"):
        return _certainly_bound(part["p"])
    return set()


def _type_classes(part) -> set:
    """The objects of rdf:type triple patterns anywhere in the algebra (None for a path through rdf:type)."""
    found: set = set()
    if isinstance(part, dict) or hasattr(part, "items"):
        for key, value in part.items():
            if key == "triples":
                for _, p, o in value:
                    if p == RDF.type:
                        found.add(o)
                    elif not isinstance(p, (URIRef, Variable)) and RDF.type in set(_path_terms(p)):
                        found.add(None)
            else:
                found |= _type_classes(value)
    elif isinstance(part, (list, tuple)):
        for item in part:
            found |= _type_classes(item)
    return found


def _path_terms(path) -> Iterator[Node]:
    """Every IRI a SPARQL property path (rdflib's algebra) mentions."""
    if isinstance(path, URIRef):
        yield path
        return
    for attribute in ("args", "path", "arg"):
        inner = getattr(path, attribute, None)
        if isinstance(inner, list):
            for part in inner:
                yield from _path_terms(part)
        elif inner is not None:
            yield from _path_terms(inner)
