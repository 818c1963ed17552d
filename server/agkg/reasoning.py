"""The OWL 2 RL closure of the data under the ontology, reduced to the triples worth querying.

`infer()` is the door to reasoning over rdflib graphs (validation, small stores, the tests), and
a faster engine can sit behind its `engine` keyword without any caller changing.

Engines: "owlrl" (the reference, pure Python) and "reasonable" (the Rust OWL 2 RL engine of the
`reasonable` package, completed here where it falls short of owlrl; tests/test_scale.py checks
both give the same triples). Measured by bench/scale.py on 2 shared cores: owlrl 1.4 s for the
article, 16 s at 10k triples, 135 s at 100k, out of reach at 1M. "auto", the default, keeps the
reference for graphs up to AUTO_OWLRL_MAX_TRIPLES asserted triples and uses "reasonable" above.

`infer_ntriples` is the same "reasonable" engine for data already in an N-Triples file, giving
N-Triples lines: the store's build path, where no rdflib term is made per triple (2.5 s at 100k
triples, 38 s at 1M, against 9 s and 156-180 s through rdflib terms).
"""

from __future__ import annotations

import logging
import sys
import tempfile
import types
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.util import from_n3

log = logging.getLogger(__name__)
Triple = tuple  # (subject, predicate, object) of rdflib terms

# Vocabularies whose own terms the reasoner describes axiomatically (xsd:string a rdfs:Datatype,
# rdfs:label a owl:AnnotationProperty, ...): statements about them are never news.
_BUILTIN = tuple(f"<{ns}" for ns in (RDF, RDFS, OWL, XSD))
_THING, _NOTHING = f"<{OWL.Thing}>", f"<{OWL.Nothing}>"


def infer(data: Graph, ontology: Graph, *, engine: str = "auto") -> Graph:
    """The OWL 2 RL entailments of `data` + `ontology` that neither graph states.

    Dropped as noise, because no query is helped by them and they would outnumber the
    useful inferences several times over:
    - generalized triples (a literal subject, a literal or blank-node predicate), which are
      not RDF and which no store accepts;
    - reflexive triples (x owl:sameAs x, C rdfs:subClassOf C, x skos:exactMatch x, ...): owlrl
      states one for every term, and a symmetric transitive property gives one to every node
      it links; a real cycle still shows in the triples that make it;
    - the top and bottom of the class lattice: x rdf:type owl:Thing, C rdfs:subClassOf owl:Thing,
      p rdfs:range owl:Thing, owl:Nothing rdfs:subClassOf C;
    - statements about the terms of RDF, RDFS, OWL and XSD themselves (datatype declarations,
      annotation-property typings, rdf:_n membership properties);
    - statements about the ontology's own blank nodes (restrictions, property chains, lists).
    Everything else stays, including TBox entailments such as a transitive rdfs:subClassOf.
    """
    try:
        closure = _ENGINES[engine]
    except KeyError:
        raise ValueError(f"unknown reasoning engine {engine!r}; known: {', '.join(_ENGINES)}") from None
    ontology_bnodes = _bnodes(ontology)
    inferred = Graph(bind_namespaces="none")
    for prefix, ns in (*ontology.namespaces(), *data.namespaces()):
        inferred.bind(prefix, ns, override=False)
    for triple in closure(data, ontology):
        if triple in data or triple in ontology or not _useful(*map(_nt_term, triple), ontology_bnodes):
            continue
        inferred.add(triple)
    return inferred


def _owlrl_closure(data: Graph, ontology: Graph) -> Iterable[Triple]:
    """Every triple of the owlrl OWL 2 RL closure (asserted ones included)."""
    import owlrl

    graph = Graph()
    graph += data
    graph += ontology
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False).expand(graph)
    return graph


def _reasonable_closure(data: Graph, ontology: Graph) -> Iterable[Triple]:
    """The closure by `reasonable` (see _reasonable_run) as rdflib terms (infer drops the
    asserted ones, as for every engine)."""
    with tempfile.TemporaryDirectory(prefix="agkg-infer-") as tmp:
        path = Path(tmp) / "data.ttl"
        data.serialize(destination=str(path), format="nt", encoding="utf-8")
        closure = _reasonable_run(path, ontology)
    terms: dict[str, object] = {}  # the graphs' own term objects, so plain literals stay plain
    for graph in (data, ontology):
        for triple in graph:
            for term in triple:
                terms.setdefault(_nt_term(term), term)
    for triple in closure:
        yield tuple(terms[t] if t in terms else _rdflib_term(t) for t in triple)


def infer_ntriples(data: Path, ontology: Graph) -> Iterator[str]:
    """What infer(engine="reasonable") gives, for data already in an N-Triples file, as N-Triples
    lines: the store's build path at scale, where rdflib would spend minutes parsing the data and
    serializing the result (at 1M triples: 74 s to parse against 1.5 s for pyoxigraph). Blank
    node labels are those of the file, so the lines can share one document with it."""
    ontology_bnodes = _bnodes(ontology)
    closure = _reasonable_run(data, ontology)
    with open(data, encoding="utf-8") as lines:
        asserted = set(lines)
    asserted.update(f"{line}\n" for line in _nt_lines(ontology))
    for s, p, o in closure:
        line = f"{s} {p} {o} .\n"
        if line not in asserted and _useful(s, p, o, ontology_bnodes):
            yield line


def _bnodes(graph: Graph) -> set[str]:
    """The graph's blank nodes, written as in N-Triples."""
    return {f"_:{n}" for t in graph for n in t if isinstance(n, BNode)}


NTriple = tuple[str, str, str]  # a triple, each term written as in N-Triples (see _nt_term)


def _reasonable_run(data: Path, ontology: Graph) -> list[NTriple]:
    """The OWL 2 RL closure by `reasonable` (Rust) of the N-Triples file `data` and `ontology`,
    asserted triples included, each term as N-Triples text, made equal to owlrl's.

    reasonable (0.4) leaves out or mishandles four things, so they are done here:
    - property chains (rule prp-spo2, owl:propertyChainAxiom: agkg:memberOf, agkg:leaderOf,
      agkg:designatedBy, agkg:killedBy, agkg:founderOf): it has no such rule;
    - functional and inverse-functional properties (prp-fp, prp-ifp): it joins their triples on
      the property alone, which is quadratic (at 1M triples, 40k agkg:date values asked for a
      12 GB buffer), so their typing is held back from it and the rules run here, keyed on the
      subject (object). Two literal values of one functional property are not made owl:sameAs
      (that is a generalized triple, dropped anyway); owlrl would also copy each triple with
      one literal onto the other, which shapes reject as a second value in the first place;
    - the TBox rules scm-dom/scm-rng (a domain or range inherited along sub-properties and
      super-classes): taken from owlrl's closure of the ontology alone, which is small (~0.5 s);
    - plain literals, which it types xsd:string: written untyped, as RDF 1.1 does.
    Chain entailments of the asserted triples go in with the data (_chain_seeds); whatever the
    closure still entails by the first two is fed back (its next pass is incremental) until
    nothing new comes. The data goes in through reasonable's own file parser, the result comes
    out as N-Triples text (_reason), and the rules run on that text: no rdflib term is made per
    triple, which is what cost most of the time at 1M triples.
    """
    import reasonable

    tbox = [t for t in _owlrl_closure(Graph(), ontology) if not isinstance(t[0], Literal) and isinstance(t[1], URIRef)]
    held = {t for t in tbox if t[1] == RDF.type and t[2] in _FUNCTIONAL}
    tbox_nt = [_nt_triple(t) for t in tbox]
    reasoner = reasonable.PyReasoner()
    with tempfile.TemporaryDirectory(prefix="agkg-infer-") as tmp:
        held_nt, data = _hold_functional_typings(data, Path(tmp) / "data.ttl")
        if data.suffix != ".ttl":  # reasonable picks its parser by the name; N-Triples is Turtle
            (Path(tmp) / "link.ttl").symlink_to(data.resolve())
            data = Path(tmp) / "link.ttl"
        reasoner.load_file(str(data))
        seeds = _chain_seeds(data, tbox_nt, _property_chains(tbox_nt))
    reasoner.from_graph([t for t in tbox if t not in held] + [_rdflib_triple(t) for t in seeds])  # holds the ontology too
    held_nt |= {_nt_triple(t) for t in held}
    functional = {s for s, _, o in held_nt if o == _FP}
    inverse_functional = {s for s, _, o in held_nt if o == _IFP}
    closure = _reason(reasoner)
    chains = _property_chains(closure)  # the data's own chain axioms too, if it has any
    while True:
        log.debug("reasonable: %d triples, %d chain seeds", len(closure), len(seeds))
        new = _chain_and_functional_entailments(closure, chains, functional, inverse_functional)
        if not new:
            break
        log.debug("reasonable: %d more from chains and functional properties", len(new))
        reasoner.from_graph([_rdflib_triple(t) for t in new])
        closure = None  # let the previous closure go before the next one is built
        closure = _reason(reasoner)
    closure.extend(held_nt)  # each is stated in data or ontology, so callers drop it as asserted
    return closure


def _reason(reasoner) -> list[NTriple]:
    """reasoner.reason(), each term as N-Triples text.

    reasonable builds every term of its answer by calling rdflib.URIRef, rdflib.Literal or
    rdflib.BNode (rdflib taken from sys.modules), which at 1M triples took 19 of its 30 s.
    For the call, sys.modules["rdflib"] is a stand-in whose three names write N-Triples text
    instead (so not for use while another thread imports rdflib: agkg reasons before it serves).
    Should a release build terms some other way, they are converted after the fact.
    """
    real = sys.modules["rdflib"]
    sys.modules["rdflib"] = _TEXT_TERMS
    try:
        closure = reasoner.reason()
    finally:
        sys.modules["rdflib"] = real
    if closure and type(closure[0][0]) is not str:
        closure = [_nt_triple(t) for t in closure]
    return closure


def _text_literal(value: str, language: str | None = None, datatype: str | None = None) -> str:
    text = f'"{value.translate(_NT_ESCAPES)}"'
    if language:
        return f"{text}@{language.lower()}"
    if datatype is None or str.__eq__(datatype, _XSD_STRING):  # str's own ==: rdflib's URIRef == str is False
        return text
    return f"{text}^^<{datatype}>"


_TEXT_TERMS = types.ModuleType("rdflib")
_TEXT_TERMS.URIRef = lambda iri: f"<{iri}>"
_TEXT_TERMS.BNode = lambda label: f"_:{label}"
_TEXT_TERMS.Literal = _text_literal


def _hold_functional_typings(data: Path, copy: Path) -> tuple[set[NTriple], Path]:
    """The data's (inverse) functional property typings, and a file without them (or `data`
    itself when it has none): reasonable must not see them (see _reasonable_run)."""
    marks = (f"{_TYPE} {_FP} .", f"{_TYPE} {_IFP} .")
    with open(data, encoding="utf-8") as lines:
        held = [line.rstrip() for line in lines if line.rstrip().endswith(marks)]
    if not held:
        return set(), data
    with open(data, encoding="utf-8") as lines, open(copy, "w", encoding="utf-8") as out:
        out.writelines(line for line in lines if not line.rstrip().endswith(marks))
    return {tuple(line[:-2].split(" ", 2)) for line in held}, copy


def _chain_seeds(data: Path, tbox: list[NTriple], chains: list[tuple[str, tuple]]) -> list[NTriple]:
    """The chain entailments of the asserted triples, each step matched through the
    sub-properties and inverses the TBox states, so that reasonable's first pass already has
    them: a second pass converts the whole closure again (~20 s at 1M triples). Whatever this
    misses, the loop in _reasonable_run still finds."""
    if not chains:
        return []
    subs: dict = {}
    inverses: dict = {}
    for s, p, o in tbox:
        if p == _SUB_PROPERTY:
            subs.setdefault(o, {o}).add(s)
        elif p == _INVERSE:
            inverses.setdefault(s, set()).add(o)
            inverses.setdefault(o, set()).add(s)
    ways: dict[str, list[tuple[str, bool]]] = {}  # predicate as written -> (step, reversed?)
    for step in {step for _, steps in chains for step in steps}:
        forward = subs.get(step, {step}) | {step}
        backward = {q for p in forward for inverse in inverses.get(p, ()) for q in subs.get(inverse, {inverse})}
        for q in forward:
            ways.setdefault(q, []).append((step, False))
        for q in backward:
            ways.setdefault(q, []).append((step, True))
    edges: dict = {step: {} for _, steps in chains for step in steps}
    with open(data, encoding="utf-8") as lines:
        for line in lines:
            s, p, o = (line.split(" ", 2) + ["", ""])[:3]
            if p in ways and not o.startswith('"'):
                o = o.rstrip()[:-2]  # the " ." that ends the line
                for step, backward in ways[p]:
                    x, y = (o, s) if backward else (s, o)
                    edges[step].setdefault(x, set()).add(y)
    return list(_chain_entailments(edges, chains))


def _chain_and_functional_entailments(closure: list[NTriple], chains: list, functional: set, inverse_functional: set) -> set:
    """What the property chains and the (inverse) functional properties entail that `closure`
    does not hold yet, from one pass over it that indexes only the properties involved."""
    wanted = {step for _, steps in chains for step in steps} | {prop for prop, _ in chains}
    wanted |= functional | inverse_functional
    if functional or inverse_functional:
        wanted.add(_SAME_AS)
    if not wanted:
        return set()
    edges: dict = {p: {} for p in wanted}
    for s, p, o in closure:
        if p in wanted:
            edges[p].setdefault(s, set()).add(o)
    found = _chain_entailments(edges, chains) | _functional_entailments(edges, functional, inverse_functional)
    return {(s, p, o) for s, p, o in found if o not in edges[p].get(s, ())}


def _functional_entailments(edges: dict, functional: set, inverse_functional: set) -> set:
    """prp-fp (x p y1, x p y2 gives y1 owl:sameAs y2) and prp-ifp (x1 p y, x2 p y gives
    x1 owl:sameAs x2), grouped by subject or object so the work is linear."""
    groups: list[set] = []
    for p in functional:
        groups.extend({o for o in objects if o[0] != '"'} for objects in edges[p].values() if len(objects) > 1)
    for p in inverse_functional:
        subjects: dict = {}
        for s, objects in edges[p].items():
            for o in objects:
                subjects.setdefault(o, set()).add(s)
        groups.extend(same for same in subjects.values() if len(same) > 1)
    return {(a, _SAME_AS, b) for same in groups if len(same) > 1 for a in same for b in same if a != b}


def _property_chains(triples: Iterable[NTriple]) -> list[tuple[str, tuple]]:
    """(super-property, (p1, ..., pn)) for each well-formed owl:propertyChainAxiom list."""
    heads, first, rest = {}, {}, {}
    kinds = {_CHAIN_AXIOM: heads, _FIRST: first, _REST: rest}
    for s, p, o in triples:
        if p in kinds:
            kinds[p][s] = o
    chains: list[tuple[str, tuple]] = []
    for prop, node in heads.items():
        steps = []
        while node in first and len(steps) <= len(first):
            steps.append(first[node])
            node = rest.get(node, _NIL)
        if node == _NIL and len(steps) >= 2:
            chains.append((prop, tuple(steps)))
    return chains


def _chain_entailments(edges: dict, chains: list[tuple[str, tuple]]) -> set:
    """prp-spo2: x p1 y1 ... yn-1 pn z gives x p z, for each chain."""
    found = set()
    for prop, steps in chains:
        pairs = {(s, o) for s, objects in edges[steps[0]].items() for o in objects}
        for step in steps[1:]:
            following = edges[step]
            pairs = {(s, z) for s, y in pairs for z in following.get(y, ())}
        found.update((s, prop, o) for s, o in pairs)
    return found


_NT_ESCAPES = {c: f"\\u{c:04X}" for c in (*range(0x20), 0x7F)}
_NT_ESCAPES.update({ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t",
                    ord("\b"): "\\b", ord("\f"): "\\f"})


def _nt_term(term) -> str:
    """A term as pyoxigraph writes it in N-Triples (so equal terms give equal text)."""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    return _text_literal(str(term), term.language, term.datatype)


def _nt_triple(triple: Triple) -> NTriple:
    s, p, o = triple
    return _nt_term(s), _nt_term(p), _nt_term(o)


def _nt_lines(graph: Graph) -> Iterator[str]:
    return (" ".join(_nt_triple(t)) + " ." for t in graph)


def _rdflib_term(text: str):
    """The rdflib term of N-Triples text (the few triples fed back to reasonable)."""
    if text.startswith("<"):
        return URIRef(text[1:-1])
    if text.startswith("_:"):
        return BNode(text[2:])
    return from_n3(text)


def _rdflib_triple(triple: NTriple) -> Triple:
    return tuple(_rdflib_term(t) for t in triple)


_FUNCTIONAL = (OWL.FunctionalProperty, OWL.InverseFunctionalProperty)
_FP, _IFP = f"<{OWL.FunctionalProperty}>", f"<{OWL.InverseFunctionalProperty}>"
_TYPE, _SAME_AS, _XSD_STRING = f"<{RDF.type}>", f"<{OWL.sameAs}>", str(XSD.string)
_SUB_PROPERTY, _INVERSE = f"<{RDFS.subPropertyOf}>", f"<{OWL.inverseOf}>"
_CHAIN_AXIOM, _FIRST, _REST, _NIL = (f"<{t}>" for t in (OWL.propertyChainAxiom, RDF.first, RDF.rest, RDF.nil))


# Up to this many asserted triples "auto" runs owlrl, the reference (measured on this machine:
# 1.4 s for the article, 16 s at 10k triples, against 0.6 s and 1.6 s for "reasonable").
AUTO_OWLRL_MAX_TRIPLES = 5_000


def _auto_closure(data: Graph, ontology: Graph) -> Iterable[Triple]:
    """owlrl for small graphs, reasonable for larger ones (or owlrl if reasonable is not installed)."""
    if len(data) > AUTO_OWLRL_MAX_TRIPLES:
        try:
            import reasonable  # noqa: F401
        except ImportError:
            pass
        else:
            return _reasonable_closure(data, ontology)
    return _owlrl_closure(data, ontology)


_ENGINES: dict[str, Callable[[Graph, Graph], Iterable[Triple]]] = {
    "auto": _auto_closure,
    "owlrl": _owlrl_closure,
    "reasonable": _reasonable_closure,
}


def _useful(s: str, p: str, o: str, ontology_bnodes: set[str]) -> bool:
    """Whether a triple, its terms written as in N-Triples, is worth keeping (see infer)."""
    return not (
        s[0] == '"'  # a literal subject
        or p[0] != "<"  # a literal or blank-node predicate
        or s == o
        or o == _THING
        or s == _NOTHING
        or s.startswith(_BUILTIN)
        or s in ontology_bnodes
    )
