"""Sourced fact nodes as one readable line each, in the words a person would use.

"Akram al-Kaabi — secretary-general of Nujaba", "United States sanctioned Nujaba", "US killing of
Abu Mahdi al-Muhandis and Qasem Soleimani · by United States · at Baghdad airport": a line is a
list of segments (text, or a link to an entity page), plus the date at the article's precision,
who claims it, the source's hedges and the supporting quotes. Nothing here queries the graph:
`Context` carries the labels and links the view looked up.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pyoxigraph as ox

from ..vocab import AGKG, DERIVED_FROM, ORG, RDF, SKOS
from . import dates
from .graphdata import Node, Term


@dataclass(frozen=True)
class Seg:
    """A piece of a line: plain text, or a label linking to `href` (bold when `current`)."""

    text: str
    href: str | None = None
    current: bool = False
    kind: str = ""  # "words" for a statement's own words, shown in quotation marks


@dataclass
class Quote:
    text: str
    href: str | None  # the article view with this passage highlighted
    document: str  # the document's display name


@dataclass
class FactLine:
    """One sourced node, ready to render."""

    iri: str
    href: str
    group: str  # membership, designation, event, statement, relation, claim, assessment, media, other
    kind: str  # the class label: "membership", "threat", ...
    segments: list[Seg]
    when: str = ""  # human date at its precision
    when_iso: str = ""  # for sorting and the timeline
    when_words: str = ""  # the article's own words for the date
    claimed_by: list[Seg] = field(default_factory=list)
    hedges: list[str] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    sources: list[Seg] = field(default_factory=list)


@dataclass
class Context:
    """What phrasing needs from the view: labels, local links, the page's own entity, and how to
    link a quote to its highlighted passage."""

    labels: dict[str, str]
    link: Callable[[str], str | None]  # IRI -> local href, or None for IRIs not served here
    current: str = ""
    quote_link: Callable[[str, str], str | None] = lambda document, quote: None
    documents: dict[str, str] = field(default_factory=dict)  # document IRI -> "the article of 2020-02-16"

    def label(self, iri: str) -> str:
        return self.labels.get(iri) or local_name(iri)

    def seg(self, term: Term) -> Seg:
        if isinstance(term, ox.NamedNode):
            return Seg(self.label(term.value), self.link(term.value), current=term.value == self.current)
        if isinstance(term, ox.Literal):
            if dates.precision(term):
                return Seg(dates.human(term))
            return Seg(term.value)
        return Seg(str(term))

    def segs(self, terms: list[Term], joiner: str = ", ", last: str = " and ") -> list[Seg]:
        out: list[Seg] = []
        for i, term in enumerate(terms):
            if i:
                out.append(Seg(last if i == len(terms) - 1 else joiner))
            out.append(self.seg(term))
        return out


def local_name(iri: str) -> str:
    """A readable fallback name from an IRI: "subOrganizationOf" -> "sub organization of"."""
    name = re.split(r"[#/]", iri.rstrip("/#"))[-1]
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ")
    return spaced.lower() if spaced[:1].islower() or " " in spaced else spaced


P = {name: str(AGKG[name]) for name in (
    "leadershipOf", "claimedBy", "hedge", "date", "earliestDate", "latestDate", "before", "dateDescription",
    "authority", "target", "partOfProgramme", "agent", "victim", "place", "participant", "weapon", "outcome",
    "founded", "speaker", "medium", "text", "about", "refersTo", "author", "published", "attachment",
    "startDate", "endDate", "injuredMoreThan", "link",
)}
MEMBER, ROLE, ORGANIZATION = str(ORG.member), str(ORG.role), str(ORG.organization)
SUBJECT, PREDICATE, OBJECT = str(RDF.subject), str(RDF.predicate), str(RDF.object)
PREF_LABEL = str(SKOS.prefLabel)

# Most specific first: the first class a node has decides how it is phrased.
GROUPS: list[tuple[str, str]] = [
    (str(AGKG.Membership), "membership"),
    (str(AGKG.Sanction), "designation"),
    (str(AGKG.TerroristDesignation), "designation"),
    (str(AGKG.Designation), "designation"),
    (str(AGKG.SanctionsProgramme), "designation"),
    (str(AGKG.Threat), "statement"),
    (str(AGKG.Statement), "statement"),
    (str(AGKG.Killing), "event"),
    (str(AGKG.Founding), "event"),
    (str(AGKG.Event), "event"),
    (str(AGKG.Attack), "event"),
    (str(AGKG.MissileAttack), "event"),
    (str(AGKG.RocketAttack), "event"),
    (str(AGKG.Attestation), "relation"),
    (str(AGKG.Claim), "claim"),
    (str(AGKG.Assessment), "assessment"),
    (str(AGKG.MediaItem), "media"),
    (str(AGKG.Tweet), "media"),
    (str(AGKG.Photo), "media"),
]
GROUP_TITLES = {
    "membership": "Roles and memberships",
    "designation": "Sanctions and designations",
    "event": "Events",
    "statement": "Statements and threats",
    "relation": "Relations the article states",
    "claim": "Claims (reported, not asserted)",
    "assessment": "Assessments",
    "media": "Media",
    "other": "Other sourced facts",
}


def group_of(node: Node) -> tuple[str, str]:
    """(group, class IRI) of a node: how to phrase it and which class names its kind."""
    types = node.types
    for cls, group in GROUPS:
        if cls in types:
            return group, cls
    return "other", types[0] if types else ""


def phrase(node: Node, ctx: Context) -> FactLine:
    """The readable line of one sourced node, with its date, claimant, hedges and quotes."""
    group, cls = group_of(node)
    line = FactLine(
        iri=node.iri,
        href=ctx.link(node.iri) or node.iri,
        group=group,
        kind=ctx.label(cls) if cls else "",
        segments=PHRASERS.get(group, _other)(node, ctx),
    )
    _add_date(line, node)
    line.claimed_by = ctx.segs(node.all(P["claimedBy"]))
    line.hedges = [h.value for h in node.all(P["hedge"])]
    documents = [d.value for d in node.all(str(DERIVED_FROM)) if isinstance(d, ox.NamedNode)]
    line.sources = [Seg(ctx.documents.get(d) or ctx.label(d), ctx.link(d)) for d in documents]
    for quote in node.quotes:
        document = documents[0] if documents else ""
        line.quotes.append(Quote(quote, ctx.quote_link(document, quote) if document else None,
                                 ctx.documents.get(document, ctx.label(document)) if document else ""))
    return line


# --- one phraser per group -------------------------------------------------------------------


def _membership(node: Node, ctx: Context) -> list[Seg]:
    orgs = node.all(P["leadershipOf"]) or node.all(ORGANIZATION)
    roles = node.all(ROLE)
    out = ctx.segs(node.all(MEMBER)) + [Seg(" — ")]
    out += ctx.segs(roles) if roles else [Seg("member")]
    if orgs:
        out += [Seg(" of ")] + ctx.segs(orgs)
    return out


def _designation(node: Node, ctx: Context) -> list[Seg]:
    authority = ctx.segs(node.all(P["authority"])) or [Seg("An authority")]
    targets = ctx.segs(node.all(P["target"]))
    types = node.types
    if str(AGKG.SanctionsProgramme) in types:
        label = node.one(PREF_LABEL)
        head = [Seg(label.value)] if label is not None else authority + [Seg(" sanctions programme")]
        return head + ([Seg(" — against ")] + targets if targets else [])
    if str(AGKG.TerroristDesignation) in types:
        out = authority + [Seg(" designated ")] + targets + [Seg(" a terrorist")]
    elif str(AGKG.Sanction) in types:
        out = authority + [Seg(" sanctioned ")] + targets
    else:
        out = authority + [Seg(" designated ")] + targets
    programme = node.all(P["partOfProgramme"])
    if programme:
        out += [Seg(" (part of the ")] + ctx.segs(programme) + [Seg(")")]
    return out


def _labelled(node: Node, ctx: Context, facets: list[tuple[str, str]]) -> list[Seg]:
    """The node's own label with the entities it names turned into links, then "· by X · at Y"
    for each facet whose entities the label does not already name."""
    label = node.one(PREF_LABEL)
    named = [v for predicate, _ in facets for v in node.all(P[predicate]) if isinstance(v, ox.NamedNode)]
    if label is None:
        out, mentioned = [Seg(ctx.label(group_of(node)[1]).capitalize())], set()
    else:
        out, mentioned = _link_names(label.value, named, ctx)
    for predicate, words in facets:
        values = [v for v in node.all(P[predicate]) if v not in mentioned]
        if values:
            out += [Seg(f" · {words} ")] + ctx.segs(values)
    return out


def _link_names(text: str, entities: list[ox.NamedNode], ctx: Context) -> tuple[list[Seg], set]:
    """Split `text` where it spells an entity's label, making that span a link to the entity."""
    spans: list[tuple[int, int, ox.NamedNode]] = []
    for entity in sorted(set(entities), key=lambda e: -len(ctx.label(e.value))):
        name = ctx.label(entity.value)
        start = text.find(name) if len(name) > 2 else -1
        if start >= 0 and not any(s < start + len(name) and start < e for s, e, _ in spans):
            spans.append((start, start + len(name), entity))
    out, pos = [], 0
    for start, end, entity in sorted(spans, key=lambda s: s[0]):
        if start > pos:
            out.append(Seg(text[pos:start]))
        out.append(Seg(text[start:end], ctx.link(entity.value), current=entity.value == ctx.current))
        pos = end
    if pos < len(text):
        out.append(Seg(text[pos:]))
    return out, {entity for _, _, entity in spans}


def _event(node: Node, ctx: Context) -> list[Seg]:
    out = _labelled(node, ctx, [("agent", "by"), ("victim", "killed:"), ("founded", "founded:"),
                                 ("participant", "involving"), ("target", "target:"), ("place", "at")])
    for predicate, words in (("weapon", "weapon:"), ("outcome", "outcome:")):
        for value in node.all(P[predicate]):
            out += [Seg(f" · {words} "), Seg(value.value, kind="words")]
    return out


def _statement(node: Node, ctx: Context) -> list[Seg]:
    out = _labelled(node, ctx, [("speaker", "by"), ("target", "against"), ("about", "about"),
                                 ("refersTo", "refers to"), ("place", "at"), ("medium", "via")])
    return out


def _relation(node: Node, ctx: Context) -> list[Seg]:
    predicate = node.one(PREDICATE)
    words = ctx.label(predicate.value) if isinstance(predicate, ox.NamedNode) else "?"
    subject, obj = node.one(SUBJECT), node.one(OBJECT)
    out = [ctx.seg(subject)] if subject is not None else [Seg("?")]
    out.append(Seg(f" {words} "))
    if isinstance(obj, ox.Literal) and not dates.precision(obj) and obj.datatype.value.endswith("#boolean"):
        out.append(Seg("yes" if obj.value == "true" else "no"))
    elif obj is not None:
        out.append(ctx.seg(obj))
    return out


def _claim(node: Node, ctx: Context) -> list[Seg]:
    claimants = ctx.segs(node.all(P["claimedBy"])) or [Seg("Someone")]
    return claimants + [Seg(" claims: ")] + _relation(node, ctx)


def _assessment(node: Node, ctx: Context) -> list[Seg]:
    return _labelled(node, ctx, [("about", "about")])


def _media(node: Node, ctx: Context) -> list[Seg]:
    out = _labelled(node, ctx, [("author", "by"), ("attachment", "with")])
    for value in node.all(P["text"]):
        out += [Seg(" · "), Seg(value.value, kind="words")]
    return out


def _other(node: Node, ctx: Context) -> list[Seg]:
    return _labelled(node, ctx, [("about", "about"), ("target", "target:")])


PHRASERS: dict[str, Callable[[Node, Context], list[Seg]]] = {
    "membership": _membership,
    "designation": _designation,
    "event": _event,
    "statement": _statement,
    "relation": _relation,
    "claim": _claim,
    "assessment": _assessment,
    "media": _media,
}


def _add_date(line: FactLine, node: Node) -> None:
    """Fill the line's date from agkg:date, an earliest/latest interval, a bound or a period."""
    date = node.one(P["date"]) or node.one(P["published"])
    earliest, latest = node.one(P["earliestDate"]), node.one(P["latestDate"])
    before = node.one(P["before"])
    start, end = node.one(P["startDate"]), node.one(P["endDate"])
    if isinstance(date, ox.Literal) and dates.precision(date):
        line.when, line.when_iso = dates.human(date), dates.span(date)[0]
    elif isinstance(earliest, ox.Literal) and isinstance(latest, ox.Literal):
        line.when, line.when_iso = dates.interval(earliest, latest), earliest.value
    elif isinstance(before, ox.Literal) and dates.precision(before):
        line.when, line.when_iso = f"before {dates.human(before)}", dates.span(before)[0]
    elif isinstance(start, ox.Literal) or isinstance(end, ox.Literal):
        parts = []
        if isinstance(start, ox.Literal):
            parts.append(f"from {dates.human(start)}")
        if isinstance(end, ox.Literal):
            parts.append(f"until {dates.human(end)}")
        line.when = " ".join(parts)
        line.when_iso = start.value if isinstance(start, ox.Literal) else ""
    words = node.one(P["dateDescription"])
    if words is not None:
        line.when_words = words.value

