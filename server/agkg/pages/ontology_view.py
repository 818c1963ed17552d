"""The ontology page's model: classes, properties and the class hierarchy, read from the
ontology graph (ontology/ as written), so the page can never drift from the files."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox

from ..vocab import AGKG, ONTOLOGY_GRAPH, OWL, PREFIXES, RDF, RDFS, SKOS
from .graphdata import Select

OWL_CLASS = str(OWL.Class)
PROPERTY_KINDS = {
    str(OWL.ObjectProperty): "object property",
    str(OWL.DatatypeProperty): "datatype property",
    str(OWL.AnnotationProperty): "annotation property",
}
CHARACTERISTICS = {
    str(OWL.TransitiveProperty): "transitive",
    str(OWL.SymmetricProperty): "symmetric",
    str(OWL.FunctionalProperty): "functional",
    str(OWL.InverseFunctionalProperty): "inverse functional",
}


@dataclass
class Term:
    iri: str
    label: str = ""
    definition: str = ""
    kinds: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)  # rdfs:subClassOf / rdfs:subPropertyOf
    domain: list[str] = field(default_factory=list)
    range: list[str] = field(default_factory=list)
    inverse: list[str] = field(default_factory=list)
    chain: list[str] = field(default_factory=list)  # owl:propertyChainAxiom, in order
    matches: list[tuple[str, str]] = field(default_factory=list)  # (skos relation, IRI)
    alt_labels: list[str] = field(default_factory=list)

    @property
    def local(self) -> str:
        return self.iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]

    @property
    def own(self) -> bool:
        return self.iri.startswith(str(AGKG))

    @property
    def anchor(self) -> str:
        """The fragment naming this term on the page: agkg terms by their local name (so the
        page's anchors are the terms' own IRIs, ontology#Membership), others as org-Membership."""
        if self.own:
            return self.local
        for prefix, ns in PREFIXES.items():
            if self.iri.startswith(ns):
                return f"{prefix}-{self.iri[len(ns):]}"
        return self.local


@dataclass
class Ontology:
    header: dict[str, list[str]]  # property local name -> values of the ontology node
    classes: list[Term]
    properties: list[Term]
    individuals: list[Term]  # the role scheme's concepts
    terms: dict[str, Term]

    def label(self, iri: str) -> str:
        term = self.terms.get(iri)
        return term.label if term and term.label else iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]

    def children(self) -> dict[str, list[str]]:
        kids: dict[str, list[str]] = defaultdict(list)
        for cls in self.classes:
            for parent in cls.parents:
                kids[parent].append(cls.iri)
        return kids

    def roots(self) -> list[str]:
        """The classes the agkg hierarchy starts from: own classes with no own parent."""
        return [c.iri for c in self.classes if c.own and not any(p.startswith(str(AGKG)) for p in c.parents)]


def read(select: Select) -> Ontology:
    """Every triple of the ontology graph, grouped into terms."""
    rows = select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?s ?p ?o }} }}")
    by_subject: dict[ox.NamedNode | ox.BlankNode, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_subject[row["s"]][row["p"].value].append(row["o"])

    def lst(head) -> list[str]:
        """An RDF list's IRIs, in order."""
        out, seen = [], set()
        while isinstance(head, ox.BlankNode) and head not in seen:
            seen.add(head)
            node = by_subject.get(head, {})
            first = node.get(str(RDF.first), [None])[0]
            if isinstance(first, ox.NamedNode):
                out.append(first.value)
            head = node.get(str(RDF.rest), [None])[0]
        return out

    def iris(values) -> list[str]:
        return [v.value for v in values if isinstance(v, ox.NamedNode)]

    def text(values, langs=("en", "", None)) -> str:
        for v in values:
            if isinstance(v, ox.Literal) and v.language in langs:
                return v.value
        return values[0].value if values else ""

    terms: dict[str, Term] = {}
    header: dict[str, list[str]] = {}
    for subject, props in by_subject.items():
        if not isinstance(subject, ox.NamedNode):
            continue
        types = iris(props.get(str(RDF.type), []))
        if str(OWL.Ontology) in types:
            if subject.value.startswith(str(AGKG).rstrip("#")) and "imports" not in subject.value:
                header = {p.rsplit("#", 1)[-1].rsplit("/", 1)[-1]: [v.value for v in vs] for p, vs in props.items()}
            continue
        term = Term(
            iri=subject.value,
            label=text(props.get(str(SKOS.prefLabel), []) or props.get(str(RDFS.label), [])),
            definition=text(props.get(str(SKOS.definition), []) or props.get(str(RDFS.comment), [])),
            kinds=[PROPERTY_KINDS.get(t) or CHARACTERISTICS.get(t) or ("class" if t == OWL_CLASS else "")
                   for t in types],
            parents=iris(props.get(str(RDFS.subClassOf), []) + props.get(str(RDFS.subPropertyOf), [])),
            domain=iris(props.get(str(RDFS.domain), [])),
            range=iris(props.get(str(RDFS.range), [])),
            inverse=iris(props.get(str(OWL.inverseOf), [])),
            chain=[i for head in props.get(str(OWL.propertyChainAxiom), []) for i in lst(head)],
            alt_labels=[v.value for v in props.get(str(SKOS.altLabel), [])],
        )
        term.kinds = [k for k in term.kinds if k]
        for relation in ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch"):
            term.matches += [(relation, i) for i in iris(props.get(str(SKOS[relation]), []))]
        if not term.kinds and any(t.startswith(str(AGKG)) for t in types):
            term.kinds = ["individual"]
        terms[term.iri] = term

    def ordered(kind_test) -> list[Term]:
        return sorted((t for t in terms.values() if kind_test(t)), key=lambda t: (not t.own, t.label.lower() or t.iri))

    classes = ordered(lambda t: "class" in t.kinds)
    properties = ordered(lambda t: any(k.endswith("property") for k in t.kinds))
    individuals = ordered(lambda t: t.kinds == ["individual"])
    return Ontology(header, classes, properties, individuals, terms)
