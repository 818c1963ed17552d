"""The IRIs agkg mints and the prefixes every module shares, so no module spells them twice."""

from rdflib import Namespace
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SKOS, XSD

BASE = "https://w3id.org/agkg/"
AGKG = Namespace(BASE + "ontology#")  # ontology terms
AGD = Namespace(BASE + "id/")  # instances
SH_AGKG = Namespace(BASE + "shapes#")  # SHACL shapes
GRAPH = Namespace(BASE + "graph/")  # named graphs of the served dataset

ORG = Namespace("http://www.w3.org/ns/org#")
TIME = Namespace("http://www.w3.org/2006/time#")
SCHEMA = Namespace("https://schema.org/")
WD = Namespace("http://www.wikidata.org/entity/")
WDT = Namespace("http://www.wikidata.org/prop/direct/")

ASSERTED_GRAPH = GRAPH["asserted"]  # the triples of data/ as written
INFERRED_GRAPH = GRAPH["inferred"]  # OWL 2 RL entailments not asserted anywhere
ONTOLOGY_GRAPH = GRAPH["ontology"]  # ontology/ as written

# Fact nodes carry these: the document they come from and the exact supporting text.
QUOTE = AGKG["quote"]
TEXT_FILE = AGKG["textFile"]  # on a source document: its text's file name under seeds/
DERIVED_FROM = PROV["wasDerivedFrom"]

PREFIXES: dict[str, str] = {
    "agkg": str(AGKG),
    "agd": str(AGD),
    "org": str(ORG),
    "prov": str(PROV),
    "time": str(TIME),
    "skos": str(SKOS),
    "schema": str(SCHEMA),
    "dcterms": str(DCTERMS),
    "foaf": str(FOAF),
    "owl": str(OWL),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "wd": str(WD),
    "wdt": str(WDT),
}


def sparql_prefixes() -> str:
    """The PREFIX block the CLI, the query page and the tests put before user queries."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
