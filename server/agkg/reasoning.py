"""The OWL 2 RL closure of the data under the ontology, reduced to the triples worth querying.

`infer()` is the one door to reasoning: validation, the store and the tests call it, and a
faster engine can sit behind its `engine` keyword without any caller changing.

Engines: "owlrl" (the reference, pure Python) and "reasonable" (the Rust OWL 2 RL engine of the
`reasonable` package, completed here where it falls short of owlrl; tests/test_scale.py checks
both give the same triples). Measured by bench/scale.py on 2 shared cores: owlrl 1.4 s for the
article, 16 s at 10k triples, 135 s at 100k, out of reach at 1M; reasonable 0.6 s, 1.6 s, 13-17 s
and 156 s at 1M (most of it converting terms between rdflib and Rust). Both returned the same
inferred triples on every graph both finished. "auto", the default, keeps the reference for
graphs up to AUTO_OWLRL_MAX_TRIPLES asserted triples and uses "reasonable" above that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

Triple = tuple  # (subject, predicate, object) of rdflib terms

# Vocabularies whose own terms the reasoner describes axiomatically (xsd:string a rdfs:Datatype,
# rdfs:label a owl:AnnotationProperty, ...): statements about them are never news.
_BUILTIN = tuple(str(ns) for ns in (RDF, RDFS, OWL, XSD))


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
    ontology_bnodes = {n for t in ontology for n in t if isinstance(n, BNode)}
    inferred = Graph(bind_namespaces="none")
    for prefix, ns in (*ontology.namespaces(), *data.namespaces()):
        inferred.bind(prefix, ns, override=False)
    for triple in closure(data, ontology):
        if triple in data or triple in ontology or not _useful(triple, ontology_bnodes):
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
    """The OWL 2 RL closure by `reasonable` (Rust), less the asserted triples, made equal to owlrl's.

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
    - plain literals, which it returns typed xsd:string: given back untyped, as written.
    Entailments of the first two are fed back to it (its next pass is incremental) until
    nothing new comes.
    """
    import reasonable

    tbox = [t for t in _owlrl_closure(Graph(), ontology) if not isinstance(t[0], Literal) and isinstance(t[1], URIRef)]
    held_data = {t for kind in _FUNCTIONAL for t in data.triples((None, RDF.type, kind))}
    held = held_data | {t for t in tbox if t[1] == RDF.type and t[2] in _FUNCTIONAL}
    functional = {s for s, _, o in held if o == OWL.FunctionalProperty}
    inverse_functional = {s for s, _, o in held if o == OWL.InverseFunctionalProperty}

    reasoner = reasonable.PyReasoner()
    reasoner.from_graph([t for t in data if t not in held_data] if held_data else data)
    reasoner.from_graph([t for t in tbox if t not in held])  # holds the ontology as well
    terms: dict = {}  # one object per distinct term: reasonable returns a new one per occurrence
    closure = _interned(reasoner.reason(), terms)
    closure.update(held)
    chains = _property_chains(closure)
    while True:
        new = _chain_entailments(closure, chains) | _functional_entailments(closure, functional, inverse_functional)
        new -= closure
        if not new:
            break
        reasoner.from_graph(list(new))
        closure = None  # let the previous closure go before the next one is built
        closure = _interned(reasoner.reason(), terms)
        closure.update(held)
    asserted = set(data)
    asserted.update(ontology)
    for s, p, o in closure:
        if isinstance(o, Literal) and o.datatype == XSD.string and (s, p, o) not in asserted:
            o = Literal(str(o))
        if (s, p, o) not in asserted:
            yield s, p, o


_FUNCTIONAL = (OWL.FunctionalProperty, OWL.InverseFunctionalProperty)


def _interned(triples: list, terms: dict) -> set:
    """The triples as a set, each distinct term one shared object: reasonable makes a new Python
    object per occurrence, and sharing them made infer() ~15 % faster at 100k and 1M triples."""
    get = terms.setdefault
    return {(get(s, s), get(p, p), get(o, o)) for s, p, o in triples}


def _functional_entailments(closure: Iterable[Triple], functional: set, inverse_functional: set) -> set:
    """prp-fp (x p y1, x p y2 gives y1 owl:sameAs y2) and prp-ifp (x1 p y, x2 p y gives
    x1 owl:sameAs x2), grouped by subject or object so the work is linear."""
    if not functional and not inverse_functional:
        return set()
    groups: dict = {}
    for s, p, o in closure:
        if p in functional and not isinstance(o, Literal):
            groups.setdefault((p, s, 0), set()).add(o)
        if p in inverse_functional:
            groups.setdefault((p, o, 1), set()).add(s)
    return {(a, OWL.sameAs, b) for same in groups.values() if len(same) > 1 for a in same for b in same if a != b}


def _property_chains(triples: Iterable[Triple]) -> list[tuple[URIRef, tuple]]:
    """(super-property, (p1, ..., pn)) for each well-formed owl:propertyChainAxiom list."""
    heads, first, rest = {}, {}, {}
    for s, p, o in triples:
        if p == OWL.propertyChainAxiom:
            heads[s] = o
        elif p == RDF.first:
            first[s] = o
        elif p == RDF.rest:
            rest[s] = o
    chains: list[tuple[URIRef, tuple]] = []
    for prop, node in heads.items():
        steps = []
        while node in first and len(steps) <= len(first):
            steps.append(first[node])
            node = rest.get(node, RDF.nil)
        if node == RDF.nil and len(steps) >= 2:
            chains.append((prop, tuple(steps)))
    return chains


def _chain_entailments(closure: Iterable[Triple], chains: list[tuple[URIRef, tuple]]) -> set:
    """prp-spo2: x p1 y1 ... yn-1 pn z gives x p z, for each chain."""
    if not chains:
        return set()
    wanted = {step for _, steps in chains for step in steps}
    edges: dict = {p: {} for p in wanted}
    for s, p, o in closure:
        if p in wanted:
            edges[p].setdefault(s, []).append(o)
    found = set()
    for prop, steps in chains:
        pairs = {(s, o) for s, objects in edges[steps[0]].items() for o in objects}
        for step in steps[1:]:
            following = edges[step]
            pairs = {(s, z) for s, y in pairs for z in following.get(y, ())}
        found.update((s, prop, o) for s, o in pairs)
    return found


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


def _useful(triple: Triple, ontology_bnodes: set) -> bool:
    s, p, o = triple
    if isinstance(s, Literal) or not isinstance(p, URIRef):
        return False
    if s == o:
        return False
    if o == OWL.Thing or s == OWL.Nothing:
        return False
    if isinstance(s, URIRef) and str(s).startswith(_BUILTIN):
        return False
    return s not in ontology_bnodes
