"""A deterministic synthetic agkg project of about 10k, 100k or 1M asserted triples, for benchmarks.

    python bench/generate.py --triples 100k --out /tmp/agkg-100k [--seed 1] [--mistakes 0.001]

writes a folder that `agkg --root DIR validate` and `agkg --root DIR serve` accept as a project:

    DIR/ontology/, DIR/shapes/   copies of this checkout's ontology and shapes
    DIR/data/*.ttl               the graph, in the project's own model (see below)
    DIR/seeds/doc-NNNNNN.txt     the text of every generated source document
    DIR/mistakes.tsv             the deliberate mistakes: node, kind, what reports it
    DIR/manifest.json            seed, sizes and counts

The world is invented (syllable names, fictional states), so nothing in it is a claim about real
people. It has what the article data has, at scale: states with forces, branches and governments;
umbrella bodies, armed groups and sub-units several levels deep (org:subOrganizationOf chains);
regions, cities, bases and airports (agkg:locatedIn chains); persons with n-ary memberships whose
roles succeed each other over time (leaders with start and end dates); sanctions and terrorist
designations in programmes; killings, missile and rocket attacks and foundings; statements and
threats with tweets; attestations backing each simple relation; assessments and claims. Every
fact node cites a generated news article and quotes one of its sentences verbatim.

Wikidata links: the project only allows Q-ids verified in shared/wikidata/entities.tsv, and an
invented entity has no Q-id at all. So the generator links some entities with skos:exactMatch to
stand-in IRIs under https://wikidata-standin.agkg.invalid/entity/Q<n> (a reserved, never
resolvable domain): the same triple shape and the same inference load (exactMatch is symmetric
and transitive) as real links, accepted by the shapes, and impossible to mistake for Wikidata.

Mistakes: with --mistakes R > 0, round(R x fact nodes) fact or entity nodes (at least one of each
kind) carry one deliberate error of a kind the validation catches; mistakes.tsv lists each. With
--mistakes 0 the graph validates with no violations and no warnings.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
STANDIN = "https://wikidata-standin.agkg.invalid/entity/Q"
PREFIXES = """@prefix agkg:    <https://w3id.org/agkg/ontology#> .
@prefix agd:     <https://w3id.org/agkg/id/> .
@prefix org:     <http://www.w3.org/ns/org#> .
@prefix prov:    <http://www.w3.org/ns/prov#> .
@prefix skos:    <http://www.w3.org/2004/02/skos/core#> .
@prefix schema:  <https://schema.org/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix rdf:     <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .
"""

# Each kind: what is changed, and which check reports it (the constraint a reader looks for).
MISTAKES: dict[str, str] = {
    "no-quote": "agkg:quote removed; SourcedFactShape sh:minCount",
    "misquote": "agkg:quote no longer a substring of the document text; quote check",
    "no-source": "prov:wasDerivedFrom removed; SourcedFactShape sh:minCount",
    "untyped-date": "agkg:date written as a plain string; FactDatesShape sh:datatype (DateValue)",
    "end-before-start": "membership agkg:endDate before agkg:startDate; FactDatesShape SPARQL",
    "leader-via-organization": "leadership role with org:organization, not agkg:leadershipOf; MembershipShape SPARQL",
    "no-role": "membership org:role removed; MembershipShape sh:minCount",
    "no-authority": "designation agkg:authority removed; DesignationShape sh:minCount",
    "threat-targets-place": "statement agkg:target is a city; StatementShape sh:class foaf:Agent",
    "untagged-label": "skos:prefLabel without a language tag; NamedEntityShape sh:datatype",
    "typo-property": "agkg:qoute for agkg:quote; declared-term check (and quote sh:minCount)",
    "exactmatch-literal": "skos:exactMatch to a string; NamedEntityShape sh:nodeKind sh:IRI",
}
MISTAKE_TARGETS: dict[str, tuple[str, ...]] = {  # which node kinds each mistake can be put on
    "no-quote": ("fact",),
    "misquote": ("fact",),
    "no-source": ("fact",),
    "untyped-date": ("dated",),
    "end-before-start": ("ended-membership",),
    "leader-via-organization": ("leader-membership",),
    "no-role": ("membership",),
    "no-authority": ("designation",),
    "threat-targets-place": ("threat",),
    "untagged-label": ("entity",),
    "typo-property": ("fact",),
    "exactmatch-literal": ("entity",),
}

MONTHS = "January February March April May June July August September October November December".split()


# --- names -----------------------------------------------------------------------------------

_ONSETS = "b d f g h j k l m n r s t v z sh kh gh th".split()
_VOWELS = "a e i o u a a i".split()
_CODAS = ["", "", "", "n", "r", "m", "l", "s"]


class Names:
    """Invented, pronounceable, unique names (so no generated fact is about a real person)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def word(self, syllables: int) -> str:
        rng = self.rng
        text = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables)) + rng.choice(_CODAS)
        return text.capitalize()

    def unique(self, make) -> str:
        for _ in range(1000):
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("name space exhausted")  # pragma: no cover

    def person(self) -> str:
        return self.unique(lambda: f"{self.word(2)} {self.word(self.rng.choice((1, 2)))} al-{self.word(2)}")


# --- nodes -----------------------------------------------------------------------------------


def lit(text: str, lang: str | None = None, datatype: str | None = None) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"' + (f"@{lang}" if lang else "") + (f"^^{datatype}" if datatype else "")


def day(d: date) -> str:
    return lit(d.isoformat(), datatype="xsd:date")


def spoken(d: date) -> str:
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


@dataclass
class Node:
    """A subject and its predicate-object pairs, objects already written as Turtle terms."""

    name: str  # local name under agd:
    types: list[str]
    props: list[tuple[str, str]] = field(default_factory=list)
    file: str = "facts"
    kinds: tuple[str, ...] = ()  # which mistakes may be put on it (see MISTAKE_TARGETS)
    sentence: str = ""  # fact nodes: the sentence of the document that states it
    when: date | None = None  # fact nodes: the latest date the fact mentions
    extra: list[str] = field(default_factory=list)  # triples about other subjects (asserted relations)

    @property
    def iri(self) -> str:
        return "agd:" + self.name

    def add(self, predicate: str, *objects: str) -> Node:
        self.props.extend((predicate, o) for o in objects)
        return self

    def drop(self, predicate: str) -> None:
        self.props = [(p, o) for p, o in self.props if p != predicate]

    def value(self, predicate: str) -> str | None:
        return next((o for p, o in self.props if p == predicate), None)

    def triples(self) -> int:
        return len(self.types) + len(self.props) + len(self.extra)

    def turtle(self) -> str:
        lines = [f"{self.iri} a {', '.join(self.types)}"]
        lines += [f"    {p} {o}" for p, o in self.props]
        block = " ;\n".join(lines) + " .\n"
        return "".join(f"{t}\n" for t in self.extra) + block


# --- the world -------------------------------------------------------------------------------


class World:
    """Builds entities, then fact nodes until the asserted graph reaches the target size."""

    def __init__(self, target: int, seed: int):
        self.target = target
        self.rng = random.Random(seed)
        self.names = Names(self.rng)
        self.nodes: list[Node] = []
        self.count = 0
        self.serial: dict[str, int] = {}
        self.states: list[Node] = []
        self.forces: list[Node] = []
        self.regions: list[Node] = []
        self.cities: list[Node] = []
        self.bases: list[Node] = []
        self.groups: list[Node] = []  # armed groups and their sub-units
        self.umbrellas: list[Node] = []
        self.alliances: list[Node] = []
        self.persons: list[Node] = []
        self.programmes: list[Node] = []
        self.standin = 1000

    # -- helpers --

    def mint(self, kind: str) -> str:
        self.serial[kind] = self.serial.get(kind, 0) + 1
        return f"{kind}-{self.serial[kind]:06d}"

    def keep(self, node: Node) -> Node:
        self.nodes.append(node)
        self.count += node.triples()
        return node

    def label(self, node: Node) -> str:
        return json.loads(node.value("skos:prefLabel").rsplit("@", 1)[0])

    def date_between(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randrange(max(1, (end - start).days)))

    def entity(self, kind: str, types: list[str], label: str, file: str, link: float = 0.1) -> Node:
        node = Node(self.mint(kind), types, file=file, kinds=("entity",))
        node.add("skos:prefLabel", lit(label, "en"))
        if self.rng.random() < link:
            self.standin += self.rng.randrange(1, 50)
            node.add("skos:exactMatch", f"<{STANDIN}{self.standin}>")
        return self.keep(node)

    def fact(self, kind: str, types: list[str], sentence: str, when: date, file: str, kinds=()) -> Node:
        node = Node(self.mint(kind), types, file=file, kinds=("fact", *kinds), sentence=sentence, when=when)
        return node  # kept by the caller once complete, so its triples are counted

    def attest(self, subject: Node, predicate: str, obj: Node, sentence: str, when: date) -> Node:
        """An asserted simple triple and the agkg:Attestation that sources it."""
        node = self.fact("attestation", ["agkg:Attestation"], sentence, when, "relations")
        node.add("rdf:subject", subject.iri).add("rdf:predicate", predicate).add("rdf:object", obj.iri)
        node.extra.append(f"{subject.iri} {predicate} {obj.iri} .")
        return self.keep(node)

    def past(self) -> date:
        return self.date_between(date(1990, 1, 1), date(2024, 12, 31))

    # -- entities --

    def build_entities(self) -> None:
        t, rng = self.target, self.rng
        for _ in range(max(6, t // 25_000)):
            self.add_state()
        for _ in range(max(12, t // 2_500)):
            self.add_region()
        for _ in range(max(20, t // 700)):
            self.add_city()
        for _ in range(max(20, t // 900)):
            self.add_base()
        for _ in range(max(3, t // 15_000)):
            self.add_umbrella()
        for _ in range(max(2, t // 40_000)):
            node = self.entity("alliance", ["agkg:Alliance"], f"{self.names.word(3)} Axis", "organizations")
            self.alliances.append(node)
        for _ in range(max(15, t // 600)):
            self.add_group(parent=rng.choice(self.groups) if self.groups and rng.random() < 0.45 else None)
        for _ in range(max(60, t // 45)):
            self.add_person()
        for state in rng.sample(self.states, max(2, len(self.states) // 3)):
            node = self.fact(
                "programme",
                ["agkg:SanctionsProgramme"],
                f"{self.label(state)} announced a sanctions programme against armed groups in the region.",
                self.past(),
                "designations",
            )
            node.add("skos:prefLabel", lit(f"{self.label(state)} sanctions programme {len(self.programmes) + 1}", "en"))
            node.add("agkg:authority", state.iri)
            self.programmes.append(self.keep(node))

    def add_state(self) -> None:
        name = self.names.unique(lambda: self.names.word(3) + self.rng.choice(("ia", "stan", "land", "a")))
        state = self.entity("state", ["agkg:State"], name, "organizations", link=0.8)
        self.states.append(state)
        force = self.entity("force", ["agkg:StateForce"], f"{name} Armed Forces", "organizations")
        self.attest(force, "org:subOrganizationOf", state, f"The {name} Armed Forces answer to the state of {name}.", self.past())
        self.forces.append(force)
        for branch in ("Air Command", "Special Operations Command", "Rocket Corps"):
            node = self.entity("branch", ["agkg:ForceBranch"], f"{name} {branch}", "organizations")
            self.attest(node, "org:subOrganizationOf", force, f"The {name} {branch} is a branch of the {name} Armed Forces.", self.past())
            self.forces.append(node)
        government = self.entity("government", ["agkg:GovernmentBody"], f"Government of {name}", "organizations")
        self.attest(government, "agkg:governmentOf", state, f"The Government of {name} rules {name}.", self.past())

    def add_region(self) -> None:
        state = self.rng.choice(self.states)
        name = self.names.unique(lambda: self.names.word(2) + " Province")
        node = self.entity("region", ["agkg:Place"], name, "places")
        self.attest(node, "agkg:locatedIn", state, f"{name} is a province of {self.label(state)}.", self.past())
        self.regions.append(node)

    def add_city(self) -> None:
        region = self.rng.choice(self.regions)
        name = self.names.unique(lambda: self.names.word(self.rng.choice((2, 3))))
        node = self.entity("city", ["agkg:City"], name, "places", link=0.3)
        self.attest(node, "agkg:locatedIn", region, f"{name} lies in {self.label(region)}.", self.past())
        self.cities.append(node)

    def add_base(self) -> None:
        city = self.rng.choice(self.cities)
        if self.rng.random() < 0.25:
            name = self.names.unique(lambda: f"{self.label(city)} {self.names.word(1)} Airport")
            node = self.entity("airport", ["agkg:Airport"], name, "places", link=0.3)
        else:
            name = self.names.unique(lambda: f"Camp {self.names.word(2)}")
            node = self.entity("base", ["agkg:MilitaryBase"], name, "places")
        self.attest(node, "agkg:locatedIn", city, f"{name} is near {self.label(city)}.", self.past())
        self.bases.append(node)

    def add_umbrella(self) -> None:
        name = self.names.unique(lambda: f"{self.names.word(3)} Mobilization Forces")
        node = self.entity("umbrella", ["agkg:UmbrellaBody"], name, "organizations", link=0.3)
        node.add("skos:altLabel", lit("".join(w[0] for w in name.split()), "en"))
        self.count += 1
        self.umbrellas.append(node)

    def add_group(self, parent: Node | None) -> None:
        rng = self.rng
        if parent is None:
            name = self.names.unique(lambda: rng.choice(("{} Brigades", "Movement of {}", "{} Front", "Sons of {}")).format(self.names.word(3)))
            node = self.entity("group", ["agkg:ArmedGroup"], name, "organizations", link=0.2)
            node.add("skos:altLabel", lit(name.split()[0] if not name.startswith(("Movement", "Sons")) else name.split()[-1], "en"))
            self.count += 1
            if rng.random() < 0.7:
                umbrella = rng.choice(self.umbrellas)
                self.attest(node, "org:subOrganizationOf", umbrella, f"The {name} are part of the {self.label(umbrella)}.", self.past())
        else:
            unit = rng.choice(("Battalion", "Regiment", "Unit", "Company"))
            name = self.names.unique(lambda: f"{self.names.word(2)} {unit} of the {self.label(parent)}")
            node = self.entity("unit", ["agkg:ArmedGroup"], name, "organizations", link=0.0)
            self.attest(node, "org:subOrganizationOf", parent, f"The {name} is a sub-unit of the {self.label(parent)}.", self.past())
        self.groups.append(node)

    def add_person(self) -> None:
        name = self.names.person()
        node = self.entity("person", ["agkg:Person"], name, "persons", link=0.1)
        if self.rng.random() < 0.5:
            node.add("skos:altLabel", lit(name.split()[-1], "en"))
            self.count += 1
        if self.rng.random() < 0.4:
            node.add("schema:birthDate", lit(str(self.rng.randrange(1940, 1995)), datatype="xsd:gYear"))
            self.count += 1
        self.persons.append(node)

    # -- facts --

    def build_facts(self) -> None:
        kinds = [
            (self.leadership, 18),
            (self.membership, 20),
            (self.designation, 10),
            (self.killing, 6),
            (self.strike, 8),
            (self.founding, 2),
            (self.threat, 12),
            (self.relation, 12),
            (self.assessment, 3),
            (self.claim, 2),
        ]
        makers = [k for k, _ in kinds]
        weights = [w for _, w in kinds]
        while self.count < self.target:
            self.rng.choices(makers, weights)[0]()

    def organization(self) -> Node:
        return self.rng.choice(self.groups if self.rng.random() < 0.8 else self.forces + self.umbrellas)

    def leadership(self) -> None:
        """A succession of leaders of one organization, each with a start and (but the last) an end."""
        rng = self.rng
        org = self.organization()
        role, title = (
            ("agkg:commander", "commander") if "force" in org.name or "branch" in org.name
            else rng.choice((("agkg:leader", "leader"), ("agkg:secretaryGeneral", "secretary-general"), ("agkg:commander", "commander")))
        )
        start = self.date_between(date(1990, 1, 1), date(2012, 1, 1))
        for i in range(rng.randrange(1, 4)):
            person = rng.choice(self.persons)
            end = start + timedelta(days=rng.randrange(200, 2500))
            last = i > 0 and rng.random() < 0.5 or end > date(2024, 6, 1)
            if last:
                sentence = f"{self.label(person)} has been {title} of the {self.label(org)} since {MONTHS[start.month - 1]} {start.year}."
                when = start
            else:
                sentence = (
                    f"{self.label(person)} was {title} of the {self.label(org)} from "
                    f"{MONTHS[start.month - 1]} {start.year} to {MONTHS[end.month - 1]} {end.year}."
                )
                when = end
            node = self.fact("membership", ["agkg:Membership"], sentence, when, "memberships", kinds=("membership", "leader-membership"))
            node.add("org:member", person.iri).add("org:role", role).add("agkg:leadershipOf", org.iri)
            node.add("agkg:startDate", lit(f"{start.year}-{start.month:02d}", datatype="xsd:gYearMonth"))
            if not last:
                node.add("agkg:endDate", lit(f"{end.year}-{end.month:02d}", datatype="xsd:gYearMonth"))
                node.kinds += ("ended-membership",)
            self.keep(node)
            if last:
                return
            start = end + timedelta(days=rng.randrange(1, 90))

    def membership(self) -> None:
        rng = self.rng
        if rng.random() < 0.05 and self.alliances:  # an organization in an alliance
            member, org = rng.choice(self.groups + self.states), rng.choice(self.alliances)
            role, title = "agkg:member", "a member"
        else:
            member, org = rng.choice(self.persons), self.organization()
            role, title = rng.choice(
                (("agkg:member", "a member"), ("agkg:spokesman", "the spokesman"), ("agkg:deputyCommander", "the deputy commander"),
                 ("agkg:keyFigure", "a key figure"), ("agkg:founder", "a founder"), ("agkg:formerMember", "a former member"))
            )
        when = self.past()
        node = self.fact(
            "membership",
            ["agkg:Membership"],
            f"According to officials, {self.label(member)} is {title} of the {self.label(org)}.",
            when,
            "memberships",
            kinds=("membership",),
        )
        node.add("org:member", member.iri).add("org:role", role).add("org:organization", org.iri)
        if rng.random() < 0.5:
            node.add("agkg:startDate", lit(str(when.year), datatype="xsd:gYear"))
            node.sentence = node.sentence[:-1] + f" since {when.year}."
        self.keep(node)

    def designation(self) -> None:
        rng = self.rng
        programme = rng.choice(self.programmes)
        authority = programme.value("agkg:authority")
        state = next(s for s in self.states if s.iri == authority)
        target = rng.choice(self.persons) if rng.random() < 0.5 else self.organization()
        when = self.past()
        if rng.random() < 0.6:
            node = self.fact(
                "sanction", ["agkg:Sanction"],
                f"{self.label(state)} sanctioned {self.label(target)} on {spoken(when)}.",
                when, "designations", kinds=("designation", "dated"),
            )
            node.add("agkg:partOfProgramme", programme.iri)
        else:
            node = self.fact(
                "designation", ["agkg:TerroristDesignation"],
                f"{self.label(state)} designated {self.label(target)} a terrorist entity on {spoken(when)}.",
                when, "designations", kinds=("designation", "dated"),
            )
            if rng.random() < 0.3:
                node.add("agkg:claimedBy", state.iri)
        node.add("agkg:authority", state.iri).add("agkg:target", target.iri).add("agkg:date", day(when))
        self.keep(node)

    def killing(self) -> None:
        rng = self.rng
        agent = rng.choice(self.states) if rng.random() < 0.3 else self.organization()
        victims = rng.sample(self.persons, rng.choice((1, 1, 2)))
        place = rng.choice(self.cities + self.bases)
        when = self.past()
        names = " and ".join(self.label(v) for v in victims)
        node = self.fact(
            "killing", ["agkg:Killing"],
            f"{names} {'was' if len(victims) == 1 else 'were'} killed by the {self.label(agent)} near {self.label(place)} on {spoken(when)}.",
            when, "events", kinds=("dated",),
        )
        node.add("skos:prefLabel", lit(f"Killing of {names}", "en"))
        node.add("agkg:agent", agent.iri).add("agkg:victim", *(v.iri for v in victims))
        node.add("agkg:place", place.iri).add("agkg:date", day(when))
        self.keep(node)

    def strike(self) -> None:
        rng = self.rng
        agent = rng.choice(self.states + self.forces) if rng.random() < 0.4 else self.organization()
        base = rng.choice(self.bases)
        when = self.past()
        kind, weapon = rng.choice((("agkg:MissileAttack", "ballistic missiles"), ("agkg:RocketAttack", "rockets")))
        injured = rng.randrange(0, 120)
        sentence = f"The {self.label(agent)} fired {weapon} at {self.label(base)} on {spoken(when)}"
        sentence += f", injuring more than {injured} people." if injured else "."
        node = self.fact("attack", [kind], sentence, when, "events", kinds=("dated",))
        node.add("skos:prefLabel", lit(f"Attack on {self.label(base)} on {when.isoformat()}", "en"))
        node.add("agkg:agent", agent.iri).add("agkg:target", base.iri).add("agkg:place", base.iri)
        node.add("agkg:date", day(when)).add("agkg:weapon", lit(weapon, "en"))
        if injured:
            node.add("agkg:injuredMoreThan", str(injured))
        self.keep(node)

    def founding(self) -> None:
        rng = self.rng
        person, org = rng.choice(self.persons), rng.choice(self.groups)
        when = self.date_between(date(1985, 1, 1), date(2015, 1, 1))
        node = self.fact(
            "founding", ["agkg:Founding"],
            f"{self.label(person)} founded the {self.label(org)} in {when.year}.", when, "events", kinds=("dated",),
        )
        node.add("skos:prefLabel", lit(f"Founding of the {self.label(org)}", "en"))
        node.add("agkg:agent", person.iri).add("agkg:founded", org.iri).add("agkg:date", lit(str(when.year), datatype="xsd:gYear"))
        self.keep(node)

    def threat(self) -> None:
        rng = self.rng
        speaker = rng.choice(self.groups) if rng.random() < 0.5 else rng.choice(self.persons)
        target = rng.choice(self.states + self.forces)
        when = self.past()
        words = rng.choice(("we are closer than you think", "the response will come", "the countdown has begun", "you will not be safe"))
        arabic = rng.choice(("اننا اقرب اليكم مما تتصورون", "الرد قادم", "بدأ العد التنازلي", "لن تكونوا في امان"))
        node = self.fact(
            "threat", ["agkg:Threat"],
            f"On {spoken(when)} the {self.label(speaker)} warned the {self.label(target)}: “{words}”.",
            when, "statements", kinds=("threat", "dated"),
        )
        node.add("skos:prefLabel", lit(f"{self.label(speaker)}: “{words}”", "en"))
        node.add("agkg:speaker", speaker.iri).add("agkg:target", target.iri).add("agkg:date", day(when))
        node.add("agkg:text", lit(words, "en"), lit(arabic, "ar"))
        if rng.random() < 0.5:
            tweet = self.fact(
                "tweet", ["agkg:Tweet"], f"The {self.label(speaker)} posted on Twitter: {arabic}", when, "statements",
            )
            tweet.add("skos:prefLabel", lit(f"Tweet by {self.label(speaker)} of {spoken(when)}", "en"))
            tweet.add("agkg:author", speaker.iri).add("agkg:published", day(when)).add("agkg:text", lit(arabic, "ar"))
            tweet.add("agkg:link", lit(f"pic.twitter.com/{rng.getrandbits(40):010x}"))
            self.keep(tweet)
            node.add("agkg:medium", tweet.iri)
        self.keep(node)

    def relation(self) -> None:
        rng = self.rng
        a, b = rng.sample(self.groups, 2)
        predicate, verb = rng.choice(
            (("agkg:linkedTo", "is linked to"), ("agkg:coordinatesWith", "coordinates with"), ("agkg:supported", "supported"),
             ("agkg:loyalTo", "is loyal to"), ("agkg:foughtAgainst", "fought against"))
        )
        self.attest(a, predicate, b, f"Observers say the {self.label(a)} {verb} the {self.label(b)}.", self.past())
        if rng.random() < 0.2:
            base = rng.choice(self.bases)
            self.attest(a, "agkg:stationedAt", base, f"Fighters of the {self.label(a)} are stationed at {self.label(base)}.", self.past())

    def assessment(self) -> None:
        rng = self.rng
        person, org = rng.choice(self.persons), self.organization()
        node = self.fact(
            "assessment", ["agkg:Assessment"],
            f"Analysts consider {self.label(person)} a rising figure in the {self.label(org)}.", self.past(), "assessments",
        )
        node.add("agkg:about", person.iri, org.iri).add("agkg:hedge", lit("consider", "en"))
        self.keep(node)

    def claim(self) -> None:
        rng = self.rng
        claimant, group = rng.choice(self.states), rng.choice(self.groups)
        base = rng.choice(self.bases)
        node = self.fact(
            "claim", ["agkg:Claim"],
            f"{self.label(claimant)} claims that the {self.label(group)} are stationed at {self.label(base)}.", self.past(), "assessments",
        )
        node.add("rdf:subject", group.iri).add("rdf:predicate", "agkg:stationedAt").add("rdf:object", base.iri)
        node.add("agkg:claimedBy", claimant.iri)
        self.keep(node)


# --- documents -------------------------------------------------------------------------------

FILLER = (
    "Local sources could not be reached for comment.",
    "The situation remains tense.",
    "Officials declined to give further details.",
    "The claims could not be independently verified.",
    "Residents reported a heavy security presence.",
)


def write_documents(world: World, seeds: Path) -> list[Node]:
    """Group fact nodes into news articles in date order, write each text, cite it from each fact."""
    rng = world.rng
    facts = sorted((n for n in world.nodes if n.sentence), key=lambda n: (n.when, n.name))
    documents = []
    i = 0
    while i < len(facts):
        size = rng.randrange(15, 45)
        chunk, i = facts[i : i + size], i + size
        issued = chunk[-1].when + timedelta(days=rng.randrange(0, 10))
        name = world.mint("doc")
        text_file = f"{name}.txt"
        title = f"Regional security report of {spoken(issued)}"
        paragraphs, paragraph = [], []
        for fact in chunk:
            paragraph.append(fact.sentence)
            if rng.random() < 0.2:
                paragraph.append(rng.choice(FILLER))
            if len(paragraph) >= 4:
                paragraphs.append(" ".join(paragraph))
                paragraph = []
            fact.add("prov:wasDerivedFrom", "agd:" + name).add("agkg:quote", lit(fact.sentence))
            world.count += 2
        if paragraph:
            paragraphs.append(" ".join(paragraph))
        (seeds / text_file).write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
        doc = Node(name, ["agkg:NewsArticle"], file="documents")
        doc.add("skos:prefLabel", lit(title, "en")).add("dcterms:issued", day(issued))
        doc.add("dcterms:language", lit("en")).add("agkg:textFile", lit(text_file))
        documents.append(doc)
        world.count += doc.triples()
    world.nodes.extend(documents)
    return documents


# --- mistakes --------------------------------------------------------------------------------


def plant_mistakes(world: World, rate: float) -> list[tuple[str, str, str]]:
    """Put one deliberate error on each of round(rate x facts) nodes (at least one per kind)."""
    if rate <= 0:
        return []
    rng = random.Random(f"mistakes-{rate}")
    facts = sum(1 for n in world.nodes if "fact" in n.kinds)
    total = max(len(MISTAKES), round(rate * facts))
    kinds = [list(MISTAKES)[i % len(MISTAKES)] for i in range(total)]
    pools: dict[str, list[Node]] = {}
    for node in world.nodes:
        for k in node.kinds:
            pools.setdefault(k, []).append(node)
    taken: set[str] = set()
    planted = []
    for kind in kinds:
        candidates = [n for t in MISTAKE_TARGETS[kind] for n in pools.get(t, [])]
        for _ in range(200):
            node = rng.choice(candidates)
            if node.name not in taken:
                break
        else:  # pragma: no cover - tiny graphs only
            continue
        taken.add(node.name)
        _apply(kind, node, world)
        planted.append((node.iri, kind, MISTAKES[kind]))
    return planted


def _apply(kind: str, node: Node, world: World) -> None:
    if kind == "no-quote":
        node.drop("agkg:quote")
    elif kind == "misquote":
        words = node.sentence.split(" ")
        words.insert(len(words) // 2, "reportedly")
        node.drop("agkg:quote")
        node.add("agkg:quote", lit(" ".join(words)))
    elif kind == "no-source":
        node.drop("prov:wasDerivedFrom")
    elif kind == "untyped-date":
        value = node.value("agkg:date")
        node.drop("agkg:date")
        node.add("agkg:date", value.split("^^")[0])
    elif kind == "end-before-start":
        start, end = node.value("agkg:startDate"), node.value("agkg:endDate")
        node.drop("agkg:startDate")
        node.drop("agkg:endDate")
        node.add("agkg:startDate", end).add("agkg:endDate", start)
    elif kind == "leader-via-organization":
        org = node.value("agkg:leadershipOf")
        node.drop("agkg:leadershipOf")
        node.add("org:organization", org)
    elif kind == "no-role":
        node.drop("org:role")
    elif kind == "no-authority":
        node.drop("agkg:authority")
    elif kind == "threat-targets-place":
        node.drop("agkg:target")
        node.add("agkg:target", world.rng.choice(world.cities).iri)
    elif kind == "untagged-label":
        label = node.value("skos:prefLabel")
        node.drop("skos:prefLabel")
        node.add("skos:prefLabel", label.rsplit("@", 1)[0])
    elif kind == "typo-property":
        node.props = [("agkg:qoute" if p == "agkg:quote" else p, o) for p, o in node.props]
    elif kind == "exactmatch-literal":
        node.drop("skos:exactMatch")
        node.add("skos:exactMatch", lit("Q" + str(world.rng.randrange(10**6, 10**7))))
    else:  # pragma: no cover
        raise ValueError(kind)


# --- writing ---------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """'10k' -> 10000, '1m' -> 1000000, '2500' -> 2500."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not match:
        raise click.BadParameter(f"{text!r}: give a number of triples such as 10k, 100k, 1m or 25000")
    value = float(match.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    if value < 1_000:
        raise click.BadParameter("at least 1k triples, so every kind of node and mistake fits")
    return int(value)


def generate(target: int, out: Path, seed: int = 1, mistakes: float = 0.001) -> dict:
    """Write the synthetic project to `out` (which must not exist or be empty); return its manifest."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise click.UsageError(f"{out} exists and is not empty; choose a new folder")
    for folder in ("data", "seeds"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for folder in ("ontology", "shapes"):
        shutil.copytree(ROOT / folder, out / folder, dirs_exist_ok=True)

    world = World(target, seed)
    world.build_entities()
    # Documents and their citations add about 2.2 triples per fact: leave room for them.
    world.target = int(target * 0.80)
    world.build_facts()
    documents = write_documents(world, out / "seeds")
    planted = plant_mistakes(world, mistakes)

    files: dict[str, list[str]] = {}
    for node in world.nodes:
        files.setdefault(node.file, []).append(node.turtle())
    for name, blocks in files.items():
        header = f"# Synthetic agkg benchmark data (bench/generate.py, seed {seed}): {name}.\n{PREFIXES}\n"
        (out / "data" / f"{name}.ttl").write_text(header + "\n".join(blocks), encoding="utf-8")
    with open(out / "mistakes.tsv", "w", encoding="utf-8") as tsv:
        tsv.write("node\tkind\tchange and the check that reports it\n")
        for row in planted:
            tsv.write("\t".join(row) + "\n")
    counts: dict[str, int] = {}
    for node in world.nodes:
        counts[node.types[0]] = counts.get(node.types[0], 0) + 1
    manifest = {
        "seed": seed,
        "target_triples": target,
        "triples": sum(len(n.types) + len(n.props) for n in world.nodes) + len({t for n in world.nodes for t in n.extra}),
        "documents": len(documents),
        "mistakes": len(planted),
        "mistake_rate": mistakes,
        "nodes": dict(sorted(counts.items(), key=lambda kv: -kv[1])),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def iter_mistakes(folder: Path) -> Iterator[tuple[str, str]]:
    """(node IRI, kind) of each planted mistake listed in folder/mistakes.tsv."""
    agd = "https://w3id.org/agkg/id/"
    for line in (Path(folder) / "mistakes.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        node, kind, _ = line.split("\t")
        yield agd + node.removeprefix("agd:"), kind


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--triples", "size", default="10k", show_default=True, help="Approximate asserted triples: 10k, 100k, 1m or a number.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="New folder to write the project to.")
@click.option("--seed", default=1, show_default=True, help="Random seed; the same seed and size give the same files.")
@click.option(
    "--mistakes",
    default=0.001,
    show_default=True,
    type=click.FloatRange(0, 0.5),
    help="Share of fact nodes given a deliberate error the validation catches (at least one of each kind if > 0; "
    "listed in mistakes.tsv). 0 for a graph that validates cleanly.",
)
def main(size: str, out: Path, seed: int, mistakes: float) -> None:
    """Write a deterministic synthetic agkg project for benchmarks."""
    manifest = generate(parse_size(size), out, seed, mistakes)
    click.echo(
        f"wrote {out}: {manifest['triples']} triples, {manifest['documents']} documents, "
        f"{manifest['mistakes']} deliberate mistakes (mistakes.tsv)"
    )


if __name__ == "__main__":
    main()
