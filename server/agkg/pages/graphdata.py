"""What the pages read from the graph, each as one or two SPARQL queries.

Every read goes through a `Select` function the application supplies (the same query path as
the endpoint, so pages obey the same time and size limits). Results come back as rows of
pyoxigraph terms; this module turns them into small plain models the views and templates use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox

from ..vocab import (
    ASSERTED_GRAPH,
    DERIVED_FROM,
    INFERRED_GRAPH,
    ONTOLOGY_GRAPH,
    QUOTE,
    RDF,
    RDFS,
    SKOS,
    TEXT_FILE,
)

Term = ox.NamedNode | ox.Literal | ox.BlankNode
Row = dict[str, Term]
Select = Callable[[str], list[Row]]
"""Runs a SPARQL SELECT over the union of the served graphs and returns its rows."""

PREF_LABEL, ALT_LABEL, RDFS_LABEL = str(SKOS.prefLabel), str(SKOS.altLabel), str(RDFS.label)
TYPE = str(RDF.type)
EXACT_MATCH = str(SKOS.exactMatch)
WIKIDATA = "http://www.wikidata.org/entity/"


def iri_ref(iri: str) -> str:
    """`<iri>` for a SPARQL query; refuses characters that could break out of the IRI."""
    if any(c in iri for c in '<>"{}|^`\\ \n\t'):
        raise ValueError(f"not a usable IRI: {iri!r}")
    return f"<{iri}>"


def graph_name(term: Term | None) -> str:
    """"asserted", "inferred", "ontology" or "" for the named graph a triple was found in."""
    if isinstance(term, ox.NamedNode):
        return {str(ASSERTED_GRAPH): "asserted", str(INFERRED_GRAPH): "inferred", str(ONTOLOGY_GRAPH): "ontology"}.get(
            term.value, ""
        )
    return ""


@dataclass
class Node:
    """One subject's asserted triples: predicate IRI -> values in the order the store gave them."""

    iri: str
    props: dict[str, list[Term]] = field(default_factory=lambda: defaultdict(list))

    def all(self, predicate: str) -> list[Term]:
        return self.props.get(predicate, [])

    def one(self, predicate: str) -> Term | None:
        values = self.all(predicate)
        return values[0] if values else None

    @property
    def types(self) -> list[str]:
        return [t.value for t in self.all(TYPE) if isinstance(t, ox.NamedNode)]

    @property
    def quotes(self) -> list[str]:
        return [q.value for q in self.all(str(QUOTE))]


@dataclass
class Arc:
    """A triple seen from the described entity: the property, the other end, and the graphs
    (asserted, inferred, ontology) it was found in."""

    predicate: str
    other: Term
    graphs: set[str]
    incoming: bool

    @property
    def inferred_only(self) -> bool:
        return self.graphs == {"inferred"}


@dataclass
class Description:
    """Everything an entity page shows about one IRI."""

    iri: str
    outgoing: list[Arc]
    incoming: list[Arc]
    facts: dict[str, Node]  # sourced nodes that mention the entity (and the entity itself if sourced)

    @property
    def exists(self) -> bool:
        return bool(self.outgoing or self.incoming)

    def values(self, predicate: str) -> list[Term]:
        seen, out = set(), []
        for arc in self.outgoing:
            if arc.predicate == predicate and arc.other not in seen:
                seen.add(arc.other)
                out.append(arc.other)
        return out

    def types(self) -> list[tuple[str, bool]]:
        """(class IRI, inferred?) for each type, asserted ones first."""
        found: dict[str, set[str]] = defaultdict(set)
        for arc in self.outgoing:
            if arc.predicate == TYPE and isinstance(arc.other, ox.NamedNode):
                found[arc.other.value] |= arc.graphs
        typed = [(iri, "asserted" not in graphs and "ontology" not in graphs) for iri, graphs in found.items()]
        return sorted(typed, key=lambda t: (t[1], t[0]))


class Reader:
    """The page queries, over one `Select`."""

    def __init__(self, select: Select):
        self.select = select

    # --- one entity -------------------------------------------------------------------------

    def describe(self, iri: str) -> Description:
        """Its triples both ways with their graphs, and every sourced node that mentions it."""
        ref = iri_ref(iri)
        out_rows = self.select(f"SELECT ?p ?o ?g WHERE {{ GRAPH ?g {{ {ref} ?p ?o }} }}")
        in_rows = self.select(f"SELECT ?s ?p ?g WHERE {{ GRAPH ?g {{ ?s ?p {ref} }} }}")
        outgoing = _arcs(out_rows, "o", incoming=False)
        incoming = _arcs(in_rows, "s", incoming=True)
        facts = self.sourced_nodes_about(iri)
        return Description(iri, outgoing, incoming, facts)

    def sourced_nodes_about(self, iri: str) -> dict[str, Node]:
        """The asserted triples of each node with a quote that names `iri` (or is `iri`)."""
        ref = iri_ref(iri)
        rows = self.select(
            f"""SELECT ?f ?p ?o WHERE {{
                  {{ SELECT DISTINCT ?f WHERE {{
                      {{ GRAPH <{ASSERTED_GRAPH}> {{ ?f ?link {ref} }} }} UNION {{ BIND({ref} AS ?f) }}
                      GRAPH <{ASSERTED_GRAPH}> {{ ?f <{QUOTE}> ?anyQuote }}
                  }} }}
                  GRAPH <{ASSERTED_GRAPH}> {{ ?f ?p ?o }}
                }}"""
        )
        return _nodes(rows, "f")

    def nodes(self, iris: Iterable[str]) -> dict[str, Node]:
        """The asserted triples of each of `iris` (used for documents, roles and the like)."""
        values = " ".join(iri_ref(i) for i in sorted(set(iris)))
        if not values:
            return {}
        rows = self.select(
            f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {values} }} GRAPH <{ASSERTED_GRAPH}> {{ ?s ?p ?o }} }}"
        )
        return _nodes(rows, "s")

    def labels(self, iris: Iterable[str]) -> dict[str, str]:
        """The best display label of each IRI: skos:prefLabel, then rdfs:label; English or
        untagged first. IRIs without one are left out."""
        values = " ".join(iri_ref(i) for i in sorted(set(iris)))
        if not values:
            return {}
        rows = self.select(
            f"""SELECT ?s ?l ?rank WHERE {{
                  VALUES ?s {{ {values} }}
                  {{ ?s <{PREF_LABEL}> ?l BIND(0 AS ?rank) }} UNION {{ ?s <{RDFS_LABEL}> ?l BIND(1 AS ?rank) }}
                }}"""
        )
        best: dict[str, tuple[tuple[int, int], str]] = {}
        for row in rows:
            label = row["l"]
            lang = label.language if isinstance(label, ox.Literal) else None
            rank = (int(row["rank"].value), 0 if lang in (None, "", "en") else 1)
            key = row["s"].value
            if key not in best or rank < best[key][0]:
                best[key] = (rank, label.value)
        return {iri: label for iri, (_, label) in best.items()}

    def all_labels(self) -> list[tuple[str, str]]:
        """(IRI, label) for every preferred, alternative and rdfs label of the data and ontology."""
        rows = self.select(
            f"SELECT DISTINCT ?s ?l WHERE {{ ?s <{PREF_LABEL}>|<{ALT_LABEL}>|<{RDFS_LABEL}> ?l FILTER(isIRI(?s)) }}"
        )
        return [(row["s"].value, row["l"].value) for row in rows]

    # --- documents --------------------------------------------------------------------------

    def documents(self) -> list[Node]:
        rows = self.select(
            f"SELECT ?d ?p ?o WHERE {{ GRAPH <{ASSERTED_GRAPH}> {{ ?d <{TEXT_FILE}> ?file ; ?p ?o }} }}"
        )
        return list(_nodes(rows, "d").values())

    def quotes_of(self, document: str) -> list[tuple[str, str]]:
        """(node IRI, quote) for every node that cites `document`."""
        rows = self.select(
            f"""SELECT ?f ?q WHERE {{ GRAPH <{ASSERTED_GRAPH}> {{
                  ?f <{DERIVED_FROM}> {iri_ref(document)} ; <{QUOTE}> ?q }} }}"""
        )
        return [(row["f"].value, row["q"].value) for row in rows]

    # --- lists --------------------------------------------------------------------------------

    def entities(self) -> list[tuple[str, str, str]]:
        """(IRI, label, asserted class) of every labelled entity of the data, for the index."""
        rows = self.select(
            f"""SELECT ?s ?l ?c WHERE {{ GRAPH <{ASSERTED_GRAPH}> {{
                  ?s <{PREF_LABEL}> ?l ; a ?c }} FILTER(LANG(?l) IN ("en", "")) }}"""
        )
        return [(row["s"].value, row["l"].value, row["c"].value) for row in rows]



def _arcs(rows: list[Row], other: str, incoming: bool) -> list[Arc]:
    grouped: dict[tuple[str, Term], set[str]] = {}
    for row in rows:
        key = (row["p"].value, row[other])
        grouped.setdefault(key, set()).add(graph_name(row.get("g")))
    return [Arc(p, o, graphs, incoming) for (p, o), graphs in grouped.items()]


def _nodes(rows: list[Row], subject: str) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    for row in rows:
        s = row[subject].value
        node = nodes.setdefault(s, Node(s))
        value = row["o"]
        if value not in node.props[row["p"].value]:
            node.props[row["p"].value].append(value)
    return nodes

