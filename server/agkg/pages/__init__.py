"""The linked-data side of agkg: entity pages, the article view, the query page, the network and
timeline pictures, the ontology page and the dumps, as one Flask blueprint (`bp`).

The blueprint reads the graph only through the application's Endpoint, so every page obeys the
limits of /sparql. Page libraries (YASGUI, Cytoscape.js) come from the npm registry at install
time (`npm ci --prefix server/agkg/pages/static`) and are served from this server: no page
loads anything from another host.
"""

from . import resource_views, tool_views  # noqa: F401  (they register their routes on bp)
from .web import bp

__all__ = ["bp"]
