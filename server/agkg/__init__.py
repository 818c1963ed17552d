"""agkg: the Armed Groups Knowledge Graph."""

__version__ = "0.1.0"
