"""How the pages reach the graph: through the endpoint the application set up, never around it.

`current_app.extensions["agkg"]` is the Endpoint (see agkg.app): its `select` and `construct`
run a query in an executor under the server's time and size limits and raise limits.Refused
on any error, so a page can never do what /sparql would refuse.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from ..sources import Project
from .graphdata import Reader, Row
from .iris import IriMap


def endpoint():
    return current_app.extensions["agkg"]


def select(sparql: str) -> list[Row]:
    """Rows of a SELECT as {variable: pyoxigraph term}; unbound variables are left out."""
    return endpoint().select(sparql)


def construct(sparql: str) -> list:
    """The triples of a CONSTRUCT, under the same limits."""
    return endpoint().construct(sparql)


def reader() -> Reader:
    return Reader(select)


def iri_map() -> IriMap:
    """The project IRI base served here (setting `iri_base`, default https://w3id.org/agkg/)."""
    return IriMap(endpoint().settings.iri_base)


def project() -> Project:
    """The project folder the served store was built from (for seeds/ and tests/competency/)."""
    root = endpoint().settings.root or endpoint().meta.get("root")
    return Project(Path(root)) if root else Project.discover()
