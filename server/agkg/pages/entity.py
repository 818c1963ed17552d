"""The entity page's model: one entity described in human terms, from a few queries.

Order of a page: who or what it is (labels in every language, types with the inferred ones
marked, Wikidata links); "at a glance", the shortcuts the reasoner derives (leader of, member
of, founded by, designated by, killed by, part of); then every sourced fact that mentions it as
one line with its quote; then its other relations; then every triple, for the curious.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox

from ..vocab import AGKG, DCTERMS, ORG, OWL, PREFIXES, PROV, QUOTE, RDF, RDFS, SCHEMA, SKOS, TEXT_FILE
from . import dates
from .graphdata import EXACT_MATCH, TYPE, WIKIDATA, Arc, Description, Node, Reader
from .phrasing import GROUP_TITLES, Context, FactLine, Seg, local_name, phrase

LABEL_PROPERTIES = {str(SKOS.prefLabel), str(SKOS.altLabel), str(RDFS.label)}

# Shortcut properties shown "at a glance": (property, words from the subject, words from the object).
SHORTCUTS: list[tuple[str, str, str]] = [
    (str(AGKG.leaderOf), "Leads or led", "Led by"),
    (str(AGKG.founderOf), "Founded", "Founded by"),
    (str(AGKG.memberOf), "Member of", "Members"),
    (str(AGKG.designatedBy), "Designated or sanctioned by", "Designated or sanctioned"),
    (str(AGKG.killedBy), "Killed by", "Killed"),
    (str(ORG.transitiveSubOrganizationOf), "Part of", "Has parts"),
    (str(AGKG.stationedAt), "Stationed at", "Hosts"),
    (str(AGKG.governmentOf), "Government of", "Government"),
]
SHORTCUT_IRIS = {p for p, _, _ in SHORTCUTS}
# Properties that only restate another one shown on the page (super-properties, inverses).
SHADOWED_NAMESPACES = (str(ORG), str(PROV), str(SCHEMA), str(DCTERMS), "http://xmlns.com/foaf/0.1/")
HIDDEN = {
    TYPE, str(OWL.sameAs), str(AGKG.hasMembership), str(AGKG.agentIn), str(AGKG.targetOf),
    str(AGKG.killedIn), str(AGKG.hasLeader), str(AGKG.foundedBy), str(ORG.hasMember), str(ORG.headOf),
    str(AGKG.hosts), str(ORG.memberOf), str(ORG.subOrganizationOf), str(ORG.hasSubOrganization),
}


@dataclass
class Glance:
    words: str
    values: list[tuple[Seg, bool]]  # (entity, inferred only?)


@dataclass
class Relation:
    words: str
    predicate: str
    predicate_href: str | None
    value: Seg
    incoming: bool
    inferred: bool
    other: str = ""  # the IRI at the other end


@dataclass
class RawTriple:
    subject: Seg
    predicate: Seg
    object: Seg
    graphs: list[str]


@dataclass
class EntityPage:
    iri: str
    label: str
    labels: list[tuple[str, str, str]]  # (kind: preferred/alternative, text, language)
    types: list[tuple[Seg, bool]]  # (class, inferred?)
    wikidata: list[tuple[str, str]]  # (Q-id, URL)
    matches: list[str]  # other exactMatch IRIs
    definition: str
    glance: list[Glance]
    self_fact: FactLine | None
    facts: list[tuple[str, list[FactLine]]]
    relations: list[Relation]
    literals: list[tuple[str, str, bool, str]]  # (property words, value, inferred?, property IRI)
    raw: list[RawTriple]
    document_file: str = ""
    fact_count: int = 0
    extra: dict = field(default_factory=dict)


def prefixed(iri: str) -> str:
    for prefix, ns in sorted(PREFIXES.items(), key=lambda p: -len(p[1])):
        if iri.startswith(ns) and iri[len(ns):] and all(c.isalnum() or c in "-_." for c in iri[len(ns):]):
            return f"{prefix}:{iri[len(ns):]}"
    return f"<{iri}>"


def build(reader: Reader, desc: Description, ctx: Context) -> EntityPage:
    """The page model of `desc`; `ctx` must already hold the labels of every IRI involved."""
    iri = desc.iri
    labels = _labels(desc)
    label = ctx.labels.get(iri) or (labels[0][1] if labels else local_name(iri))

    types = [(_class_seg(ctx, cls), inferred)
             for cls, inferred in sorted(desc.types(), key=lambda t: (t[1], not t[0].startswith(str(AGKG)), t[0]))]
    wikidata, matches = [], []
    for value in desc.values(EXACT_MATCH):
        if isinstance(value, ox.NamedNode) and value.value.startswith(WIKIDATA):
            wikidata.append((value.value[len(WIKIDATA):], f"https://www.wikidata.org/wiki/{value.value[len(WIKIDATA):]}"))
        elif isinstance(value, ox.NamedNode):
            matches.append(value.value)
    definition = next((v.value for v in desc.values(str(SKOS.definition)) if isinstance(v, ox.Literal)), "")

    fact_nodes = {k: v for k, v in desc.facts.items() if k != iri}
    sourced = set(desc.facts)
    self_fact = phrase(desc.facts[iri], ctx) if iri in desc.facts else None
    lines = [phrase(node, ctx) for node in fact_nodes.values()]
    grouped: dict[str, list[FactLine]] = defaultdict(list)
    for line in lines:
        grouped[line.group].append(line)
    facts = [
        (GROUP_TITLES[g], sorted(grouped[g], key=lambda l: (l.when_iso or "9999", l.iri)))
        for g in GROUP_TITLES
        if grouped.get(g)
    ]

    if self_fact is not None and iri not in ctx.labels:
        label = "".join(seg.text for seg in self_fact.segments)  # a fact node is named by what it says
    attested = _attested(desc)
    return EntityPage(
        iri=iri,
        label=label,
        labels=labels,
        types=types,
        wikidata=wikidata,
        matches=matches,
        definition=definition,
        glance=_glance(desc, ctx),
        self_fact=self_fact,
        facts=facts,
        relations=[r for r in _relations(desc, ctx, sourced) if (r.incoming, r.predicate, r.other) not in attested],
        literals=[lit for lit in _literals(desc, ctx) if (False, lit[3], lit[1]) not in attested],
        raw=_raw(desc, ctx),
        document_file=next((v.value for v in desc.values(str(TEXT_FILE))), ""),
        fact_count=len(lines),
    )


def _attested(desc: Description) -> set[tuple[bool, str, str]]:
    """(incoming?, predicate, value as shown) of each triple an attestation on the page backs,
    so "Other statements" does not repeat what "In the sources" already shows with its quote."""
    subject, predicate, obj = str(RDF.subject), str(RDF.predicate), str(RDF.object)
    out = set()
    for node in desc.facts.values():
        s, p, o = node.one(subject), node.one(predicate), node.one(obj)
        if s is None or p is None or o is None:
            continue
        if s.value == desc.iri:
            shown = dates.human(o) if isinstance(o, ox.Literal) and dates.precision(o) else o.value
            out.add((False, p.value, shown))
        if o.value == desc.iri:
            out.add((True, p.value, s.value))
    return out


def _labels(desc: Description) -> list[tuple[str, str, str]]:
    out = []
    for kind, predicate in (("preferred", str(SKOS.prefLabel)), ("alternative", str(SKOS.altLabel))):
        for value in desc.values(predicate):
            if isinstance(value, ox.Literal):
                out.append((kind, value.value, value.language or ""))
    if not out:
        for value in desc.values(str(RDFS.label)):
            if isinstance(value, ox.Literal):
                out.append(("label", value.value, value.language or ""))
    return out


def _class_seg(ctx: Context, cls: str) -> Seg:
    """An agkg class by its label; another vocabulary's by its prefixed name (prov:Agent), since
    several vocabularies name a class alike (org:, prov:, schema:Organization)."""
    text = ctx.label(cls) if cls.startswith(str(AGKG)) else prefixed(cls)
    return Seg(text, ctx.link(cls) or cls)


def _glance(desc: Description, ctx: Context) -> list[Glance]:
    out = []
    for predicate, forward, backward in SHORTCUTS:
        for incoming, words in ((False, forward), (True, backward)):
            arcs = [a for a in (desc.incoming if incoming else desc.outgoing)
                    if a.predicate == predicate and isinstance(a.other, ox.NamedNode) and a.other.value != desc.iri]
            if arcs:
                out.append(Glance(words, [(ctx.seg(a.other), a.inferred_only) for a in _sorted(arcs, ctx)]))
    return out


def _sorted(arcs: list[Arc], ctx: Context) -> list[Arc]:
    return sorted(arcs, key=lambda a: ctx.label(a.other.value).lower() if isinstance(a.other, ox.NamedNode) else "")


def _relations(desc: Description, ctx: Context, sourced: set[str]) -> list[Relation]:
    """Links to other named entities not already shown as a fact or a shortcut."""
    candidates = [
        a for a in desc.outgoing + desc.incoming
        if isinstance(a.other, ox.NamedNode)
        and a.predicate not in HIDDEN | SHORTCUT_IRIS | LABEL_PROPERTIES
        and a.other.value not in sourced
        and a.other.value != desc.iri
        and a.predicate != EXACT_MATCH
        and not (a.incoming and a.predicate in (str(PROV.wasDerivedFrom),))
        and a.other.value in ctx.labels  # named entities only; classes and blank nodes are elsewhere
    ]
    own = {(a.incoming, a.other.value) for a in candidates if a.predicate.startswith(str(AGKG))}
    out = []
    for a in candidates:
        if a.predicate.startswith(SHADOWED_NAMESPACES) and (a.incoming, a.other.value) in own:
            continue
        if a.predicate == TYPE:
            continue
        out.append(Relation(ctx.label(a.predicate), a.predicate, ctx.link(a.predicate), ctx.seg(a.other),
                            a.incoming, a.inferred_only, a.other.value))
    return sorted(out, key=lambda r: (r.incoming, r.inferred, r.words, r.value.text.lower()))


def _literals(desc: Description, ctx: Context) -> list[tuple[str, str, bool, str]]:
    skip = LABEL_PROPERTIES | {str(QUOTE), str(SKOS.definition)}
    out = []
    for arc in desc.outgoing:
        if not isinstance(arc.other, ox.Literal) or arc.predicate in skip:
            continue
        value = dates.human(arc.other) if dates.precision(arc.other) else arc.other.value
        if arc.other.datatype.value.endswith("#boolean"):
            value = "yes" if arc.other.value == "true" else "no"
        out.append((ctx.label(arc.predicate), value, arc.inferred_only, arc.predicate))
    return sorted(out)


def _raw(desc: Description, ctx: Context) -> list[RawTriple]:
    me = Seg(prefixed(desc.iri), current=True)
    out = []
    for arc in sorted(desc.outgoing, key=lambda a: (a.predicate, str(a.other))):
        out.append(RawTriple(me, _term(arc.predicate, ctx), _value(arc.other, ctx), sorted(arc.graphs)))
    for arc in sorted(desc.incoming, key=lambda a: (a.predicate, str(a.other))):
        out.append(RawTriple(_value(arc.other, ctx), _term(arc.predicate, ctx), me, sorted(arc.graphs)))
    return out


def _term(iri: str, ctx: Context) -> Seg:
    return Seg(prefixed(iri), ctx.link(iri) or iri)


def _value(term, ctx: Context) -> Seg:
    if isinstance(term, ox.NamedNode):
        return _term(term.value, ctx)
    if isinstance(term, ox.Literal):
        suffix = f"@{term.language}" if term.language else ""
        if not term.language and not term.datatype.value.endswith("#string"):
            suffix = f"^^{prefixed(term.datatype.value)}"
        return Seg(f"“{term.value}”{suffix}")
    return Seg(str(term))


def iris_in(desc: Description) -> set[str]:
    """Every IRI a page about `desc` may show a label for."""
    found = {desc.iri}
    for arc in desc.outgoing + desc.incoming:
        found.add(arc.predicate)
        if isinstance(arc.other, ox.NamedNode):
            found.add(arc.other.value)
    for node in desc.facts.values():
        for predicate, values in node.props.items():
            found.add(predicate)
            found.update(v.value for v in values if isinstance(v, ox.NamedNode))
    return found


def documents_in(desc: Description) -> set[str]:
    return {
        v.value
        for node in desc.facts.values()
        for v in node.all(str(PROV.wasDerivedFrom))
        if isinstance(v, ox.NamedNode)
    }


def document_names(reader: Reader, iris: set[str]) -> dict[str, str]:
    """"the article of 2020-02-16" for a dated news article; its label otherwise."""
    names = {}
    nodes: dict[str, Node] = reader.nodes(iris) if iris else {}
    labels = reader.labels(iris) if iris else {}
    for iri in iris:
        node = nodes.get(iri)
        issued = node.one(str(DCTERMS.issued)) if node else None
        if node and str(AGKG.NewsArticle) in node.types and issued is not None:
            names[iri] = f"the article of {issued.value}"
        else:
            names[iri] = labels.get(iri, local_name(iri))
    return names

