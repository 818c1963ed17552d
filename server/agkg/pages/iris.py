"""Where each project IRI lives on this server: the mapping Pubby and Trifid call the base.

The project mints IRIs under one base (vocab.BASE, https://w3id.org/agkg/). Deployed at that
base, a request path is the IRI's path; on localhost or behind another host name the same
resources must answer under the server's own address. `IriMap` turns an IRI into the local
path that serves it and a local path back into the IRI, so pages link locally while showing
and serving the canonical IRIs.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

from ..vocab import AGD, AGKG, BASE, GRAPH

# Suffix of a document URL -> the name formats.py gives that serialization ("html" is the page).
SUFFIXES: dict[str, str] = {
    "html": "html",
    "ttl": "turtle",
    "nt": "ntriples",
    "jsonld": "jsonld",
    "rdf": "rdfxml",
}
SUFFIX_OF: dict[str, str] = {name: suffix for suffix, name in SUFFIXES.items()}


@dataclass(frozen=True)
class IriMap:
    """The project IRI base and the local path prefix that serves it ("/" at the root).

    With base https://w3id.org/agkg/ and prefix /, https://w3id.org/agkg/id/nujaba is served at
    /id/nujaba and https://w3id.org/agkg/ontology#Membership at /ontology#Membership.
    """

    base: str = BASE
    prefix: str = "/"

    def __post_init__(self) -> None:
        if not self.base.endswith("/"):
            raise ValueError(f"the IRI base must end with '/': {self.base!r}")
        if not (self.prefix.startswith("/") and self.prefix.endswith("/")):
            raise ValueError(f"the path prefix must start and end with '/': {self.prefix!r}")

    @property
    def entity_base(self) -> str:
        return self.base + str(AGD)[len(BASE):]

    @property
    def ontology_iri(self) -> str:
        return self.base + str(AGKG)[len(BASE):].rstrip("#")

    @property
    def ontology_namespace(self) -> str:
        return self.base + str(AGKG)[len(BASE):]

    @property
    def graph_base(self) -> str:
        return self.base + str(GRAPH)[len(BASE):]

    def is_local(self, iri: str) -> bool:
        """True for an IRI this server describes (under the project base)."""
        return iri.startswith(self.base)

    def path(self, iri: str) -> str:
        """The local path (with #fragment) of a project IRI; other IRIs are returned unchanged."""
        if not self.is_local(iri):
            return iri
        rest = iri[len(self.base):]
        path, hash_, fragment = rest.partition("#")
        return self.prefix + quote(path, safe="/-_.~:@!$&'()*+,;=") + (hash_ + fragment if hash_ else "")

    def iri(self, path: str) -> str:
        """The project IRI a local path (without suffix) stands for."""
        if not path.startswith(self.prefix):
            raise ValueError(f"{path!r} is not under {self.prefix!r}")
        return self.base + unquote(path[len(self.prefix):])

    def entity_iri(self, slug: str) -> str:
        return self.entity_base + slug

    def slug(self, iri: str) -> str | None:
        """The part of an entity IRI after .../id/, or None for any other IRI."""
        return iri[len(self.entity_base):] if iri.startswith(self.entity_base) else None

    def document(self, iri: str, fmt: str) -> str:
        """The local URL of the document describing `iri` in format `fmt` (a formats.py name or
        "html"), e.g. /id/nujaba.ttl."""
        return self.path(iri) + "." + SUFFIX_OF[fmt]


def split_suffix(name: str) -> tuple[str, str | None]:
    """("nujaba", "turtle") for "nujaba.ttl"; (name, None) when the name has no known suffix."""
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and suffix in SUFFIXES:
        return stem, SUFFIXES[suffix]
    return name, None
