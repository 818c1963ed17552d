"""The OWL 2 RL closure of the data under the ontology, reduced to the triples worth querying.

`infer()` is the one door to reasoning: validation, the store and the tests call it, and a
faster engine can sit behind its `engine` keyword without any caller changing.

Engines: "owlrl" (the reference, pure Python: ~1.4 s for the article, ~13 s at 10k triples, out
of reach at 1M) and "reasonable" (the Rust OWL 2 RL engine of the `reasonable` package, completed
here where it falls short of owlrl; tests/test_scale.py checks both give the same triples).
"auto", the default, keeps the reference for graphs up to AUTO_OWLRL_MAX_TRIPLES asserted
triples and uses "reasonable" above that (measurements: bench/scale.py).
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

    reasonable (0.4) leaves out three things owlrl gives, so they are added here:
    - property chains (rule prp-spo2, owl:propertyChainAxiom: agkg:memberOf, agkg:leaderOf,
      agkg:designatedBy, agkg:killedBy, agkg:founderOf): joined in Python over its closure and
      fed back to it, whose next pass is incremental, until a join finds nothing new;
    - the TBox rules scm-dom/scm-rng (a domain or range inherited along sub-properties and
      super-classes): taken from owlrl's closure of the ontology alone, which is small (~0.5 s);
    - plain literals, which it returns typed xsd:string: given back untyped, as written.
    """
    import reasonable

    tbox = [t for t in _owlrl_closure(Graph(), ontology) if not isinstance(t[0], Literal) and isinstance(t[1], URIRef)]
    reasoner = reasonable.PyReasoner()
    reasoner.from_graph(data)
    reasoner.from_graph(tbox)  # holds the ontology as well
    closure = set(reasoner.reason())
    chains = _property_chains(closure)
    while chains:
        new = _chain_entailments(closure, chains) - closure
        if not new:
            break
        reasoner.from_graph(list(new))
        closure = set(reasoner.reason())
    asserted = set(data)
    asserted.update(ontology)
    for s, p, o in closure:
        if isinstance(o, Literal) and o.datatype == XSD.string and (s, p, o) not in asserted:
            o = Literal(str(o))
        if (s, p, o) not in asserted:
            yield s, p, o


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
    chains = []
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
# ~1.4 s for the article, ~13 s at 10k triples, against 0.6 s and 1.6 s for "reasonable").
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
