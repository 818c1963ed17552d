"""The server's settings: every one has a default, a type and a line of documentation.

A settings file is TOML with these names as top-level keys (`agkg serve --config agkg.toml`):

    timeout = 5.0
    max_rows = 50000
    service_allowlist = ["https://query.wikidata.org/sparql"]

An unknown key or a value of the wrong type stops the server at start-up with a message naming
it, rather than being ignored. `SETTINGS` is the documentation: the README's table and
`agkg serve --help` are written from it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A settings file that cannot be used; the message names the file and the key."""


def _setting(default: Any, doc: str, **kw: Any) -> Any:
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"doc": doc, **kw})
    return field(default=default, metadata={"doc": doc, **kw})


@dataclass(frozen=True)
class Settings:
    """What `create_app` needs; build one with `load_settings` or `Settings(...)`."""

    timeout: float = _setting(
        10.0,
        "Wall-clock limit of one query in seconds. When it is reached the client gets 503 and the "
        "query's executor process is killed, so the work stops (with store_url, agkg closes the "
        "connection; give that server its own limit).",
    )
    max_rows: int = _setting(
        10_000,
        "Most rows (SELECT) or triples (CONSTRUCT/DESCRIBE) one response carries. Longer results "
        "are cut to this many and the response has the header X-SPARQL-MaxRows.",
    )
    max_request_bytes: int = _setting(
        1_000_000,
        "Largest request body (POST) accepted; larger ones get 413. A query sent in a GET URL "
        "may be up to 64,000 characters (longer ones get 414: POST them).",
    )
    service_allowlist: list[str] = _setting(
        [],
        "Endpoint IRIs a query may call with SERVICE (exact match), e.g. "
        "\"https://query.wikidata.org/sparql\". Empty: SERVICE is refused and no outbound "
        "request is ever made.",
    )
    executors: int = _setting(
        2,
        "Query executor processes per web worker. A runaway query occupies one until it is "
        "killed; the others keep answering.",
    )
    executor_memory_mb: int = _setting(
        2048,
        "Address-space limit of each executor process in MiB. A query needing more fails with "
        "503 instead of exhausting the machine's memory; 0 means no limit.",
    )
    workers: int = _setting(
        0,
        "Web worker processes; 0 means one per CPU core.",
    )
    pin_cpus: bool = _setting(
        True,
        "Pin each web worker and its executors to one CPU (worker n to the n-th CPU this process "
        "may use, on Linux). A query crosses between the two processes twice, and on a virtual "
        "machine a wake-up on another CPU costs more than the query itself.",
    )
    demote_after: float = _setting(
        0.25,
        "A query whose executor keeps burning CPU through two checks this many seconds apart is "
        "lowered to the least CPU priority (nice 19), so it only uses CPU quick queries leave idle.",
    )
    cors: bool = _setting(True, "Send Access-Control-Allow-Origin: * so browser pages on other origins can query.")
    cache_dir: str = _setting(
        "",
        "Where the built store (N-Quads of asserted, inferred and ontology graphs) is cached. "
        "Empty: .agkg-cache/ in the project folder.",
    )
    root: str = _setting(
        "",
        "The project folder (ontology/, data/, shapes/, seeds/). Empty: found as `agkg` finds it "
        "($AGKG_ROOT or the nearest such folder).",
    )
    store_url: str = _setting(
        "",
        "An external SPARQL 1.1 server that answers the queries instead of the embedded store "
        "(`agkg serve --store URL`; fill it with `agkg load --into URL`): its query endpoint, or "
        "its root for Oxigraph's server. Basic-auth credentials come from $AGKG_STORE_AUTH. "
        "Empty: the embedded store.",
    )
    log_requests: bool = _setting(True, "Log one line per request: method, path, status, bytes, milliseconds.")
    iri_base: str = _setting(
        "https://w3id.org/agkg/",
        "Base of the project IRIs this server dereferences: <iri_base>id/<name> is served at /id/<name>, "
        "<iri_base>ontology at /ontology. Change it only if the data mints IRIs under another base.",
    )

    def __post_init__(self) -> None:
        problems = []
        if not self.timeout > 0:
            problems.append("timeout must be > 0 seconds")
        if self.max_rows < 1:
            problems.append("max_rows must be >= 1")
        if self.max_request_bytes < 1024:
            problems.append("max_request_bytes must be >= 1024")
        if self.executors < 1:
            problems.append("executors must be >= 1")
        if self.executor_memory_mb < 0:
            problems.append("executor_memory_mb must be >= 0")
        if self.workers < 0:
            problems.append("workers must be >= 0")
        if self.demote_after < 0:
            problems.append("demote_after must be >= 0")
        if self.store_url and not self.store_url.startswith(("http://", "https://")):
            problems.append("store_url must be an http:// or https:// URL")
        if not self.iri_base.endswith("/"):
            problems.append("iri_base must end with /")
        if problems:
            raise ConfigError("; ".join(problems))

    @property
    def worker_count(self) -> int:
        return self.workers or (os.cpu_count() or 1)

    def replace(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


SETTINGS: dict[str, str] = {f.name: f.metadata["doc"] for f in fields(Settings)}
"""Each setting's name and its documentation, in declaration order."""


def settings_from_dict(values: dict[str, Any], source: str = "settings") -> Settings:
    """Settings from plain data, checking names and types (ints are accepted for floats)."""
    known = {f.name: f for f in fields(Settings)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{source}: unknown setting {key!r}; known: {', '.join(known)}")
        kwargs[key] = _typed(source, key, value, type(getattr(Settings(), key)))
    try:
        return Settings(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _typed(source: str, key: str, value: Any, expected: type) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is list:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise ConfigError(f"{source}: {key} must be a list of strings")
    if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"{source}: {key} must be {expected.__name__}, not {type(value).__name__} ({value!r})")


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Defaults, then the TOML file at `path` (if any), then `overrides` (None values skipped)."""
    values: dict[str, Any] = {}
    source = "settings"
    if path is not None:
        source = str(path)
        try:
            values = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: {exc.strerror or exc}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    values.update({k: v for k, v in overrides.items() if v is not None})
    return settings_from_dict(values, source)
