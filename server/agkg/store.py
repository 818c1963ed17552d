"""Building, caching and opening the store that serves queries.

The store holds three named graphs (vocab.ASSERTED_GRAPH: data/ as written, vocab.INFERRED_GRAPH:
the OWL 2 RL entailments that nothing states, vocab.ONTOLOGY_GRAPH: ontology/ as written); the
store's own default graph is empty and queries see the union of the three.

Parsing and reasoning take seconds to minutes, so their result is cached on disk as one N-Quads
file per distinct input, in a folder named by a SHA-256 of the input files' names and contents
(and of the code that turns them into triples). A changed file means a new key and a rebuild; an
unchanged one means the cached store is opened.

In memory or on disk: measured on a 13k-quad graph, loading the N-Quads took 26 ms and opening an
on-disk (RocksDB) store 10 ms, but queries on the in-memory store ran 1.4x to 2.4x faster (label
lookup 21 vs 30 us, 2-hop join 32 vs 63 us), so small graphs are loaded into each executor's
memory. Loading grows with the graph and is paid by every executor (0.6 s for the 245k quads of
a 100k-triple project, 9.7 s for the 2.4M of a 1M one, where `agkg serve` needed 9.7 s to be
ready), so from ON_DISK_MIN_QUADS quads the build also writes an on-disk store next to the dump
and every executor opens that one read-only: `agkg serve` on the 1M project is ready in 0.5 s,
its processes resident in 420 MB together, sharing the operating system's page cache.

Above reasoning.AUTO_OWLRL_MAX_TRIPLES the build makes no rdflib term per triple: pyoxigraph
parses the files into N-Triples (1.5 s at 1M triples, where rdflib took 74 s),
reasoning.infer_ntriples reasons over that file and gives N-Triples lines, and the dump is
written line by line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import pyoxigraph as ox

from . import __version__
from .vocab import ASSERTED_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH

if TYPE_CHECKING:  # sources and reasoning pull in rdflib, which executors (open_dump) never need
    from rdflib import Graph

    from .sources import Project

GRAPHS: dict[str, str] = {
    "asserted": str(ASSERTED_GRAPH),
    "inferred": str(INFERRED_GRAPH),
    "ontology": str(ONTOLOGY_GRAPH),
}
GRAPH_DESCRIPTIONS: dict[str, str] = {
    "asserted": "The triples of data/ exactly as written.",
    "inferred": "OWL 2 RL entailments of data/ under ontology/ that neither states.",
    "ontology": "The triples of ontology/ exactly as written.",
}
CACHE_FORMAT = 2  # bump when the layout of a cache entry changes
KEEP_ENTRIES = 3  # cache entries kept per project folder; older ones are removed after a build
DUMP_NAME = "dataset.nq"
META_NAME = "meta.json"
STORE_NAME = "store"  # the on-disk store, built only for large graphs
# From this many quads (asserted + inferred + ontology) the build writes an on-disk store that
# executors open read-only instead of each loading the dump into memory. Loading costs ~2.4 s per
# million quads per executor, and the executors of all workers start together (4 on 2 cores by
# default): the 100k-triple project's 245k quads stay in memory (warm start 1.0 s); above ~300k
# quads the warm start would pass 2 s.
ON_DISK_MIN_QUADS = 300_000


@dataclass(frozen=True)
class CacheEntry:
    """A built store on disk: the N-Quads dump and what was counted while building it."""

    path: Path

    @property
    def dump(self) -> Path:
        return self.path / DUMP_NAME

    @property
    def meta(self) -> dict:
        return json.loads((self.path / META_NAME).read_text(encoding="utf-8"))

    def load(self) -> ox.Store:
        """The store to query: see open_dump."""
        return open_dump(self.dump)


def open_store(project: Project, cache_dir: Path | None = None) -> ox.Store:
    """The project's store with its three named graphs, from the cache when the inputs are unchanged."""
    return ensure_cache(project, cache_dir).load()


def open_dump(dump: Path | str) -> ox.Store:
    """The store for queries of the cache entry holding `dump`: the on-disk store beside it,
    opened read-only, when the build made one (large graphs), else the dump loaded into memory."""
    on_disk = Path(dump).parent / STORE_NAME
    if on_disk.is_dir():
        return ox.Store.read_only(str(on_disk))
    return load_dump(Path(dump))


def load_dump(path: Path) -> ox.Store:
    store = ox.Store()
    store.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
    return store


def default_cache_dir(project: Project) -> Path:
    return project.root / ".agkg-cache"


def input_files(project: Project) -> list[Path]:
    """The files whose contents decide the store (shapes and seeds do not)."""
    return [*project.ontology_files, *project.data_files]


def cache_key(project: Project) -> str:
    """SHA-256 over the inputs' relative names and bytes and the code that turns them into triples."""
    from . import reasoning, sources

    digest = hashlib.sha256(f"agkg {__version__} cache {CACHE_FORMAT}\n".encode())
    for module in (reasoning, sources):
        digest.update(Path(module.__file__).read_bytes())
    for path in input_files(project):
        name = path.relative_to(project.root).as_posix() if path.is_relative_to(project.root) else str(path)
        content = path.read_bytes()
        digest.update(f"\n{name}\n{len(content)}\n".encode())
        digest.update(content)
    return digest.hexdigest()


def ensure_cache(project: Project, cache_dir: Path | None = None) -> CacheEntry:
    """The cache entry for the project's current inputs, building it first if it is missing.

    Safe to call from several processes at once: builders take a lock, and an entry appears
    under its final name only once complete (a rename), so readers never see half a file.
    """
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir(project)
    key = cache_key(project)
    entry = CacheEntry(cache_dir / key[:24])
    if (entry.path / META_NAME).exists():
        return entry
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir / ".lock"):
        if (entry.path / META_NAME).exists():  # another process built it while we waited
            return entry
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=cache_dir))
        try:
            build(project, tmp, key)
            os.replace(tmp, entry.path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _prune(cache_dir, project.root, keep=entry.path)
    return entry


def build(project: Project, folder: Path, key: str = "") -> None:
    """Parse, reason, and write `folder`/dataset.nq, `folder`/meta.json and, for a large
    graph, the on-disk store `folder`/store."""
    from .reasoning import AUTO_OWLRL_MAX_TRIPLES
    from .sources import parse_files

    steps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        steps[name] = round(time.perf_counter() - clock, 3)
        clock = time.perf_counter()

    asserted = folder / "asserted.nt"
    size = _parse_to_ntriples(project.data_files, asserted)
    ontology = parse_files(project.ontology_files).graph
    lap("parse")
    if size <= AUTO_OWLRL_MAX_TRIPLES:  # owlrl, the reference, which reasons over rdflib graphs
        quads = _write_dump_rdflib(parse_files(project.data_files).graph, ontology, folder / DUMP_NAME)
    else:
        quads = _write_dump_ntriples(asserted, ontology, folder / DUMP_NAME)
    asserted.unlink()
    lap("infer")
    if quads >= ON_DISK_MIN_QUADS:
        writer = ox.Store(str(folder / STORE_NAME))
        writer.bulk_load(path=str(folder / DUMP_NAME), format=ox.RdfFormat.N_QUADS)
        del writer  # closed: read-only, as executors open it, the statistics run twice as fast
        store = ox.Store.read_only(str(folder / STORE_NAME))
    else:
        store = load_dump(folder / DUMP_NAME)
    lap("load")
    meta = {
        "key": key,
        "root": str(project.root),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": [str(p) for p in input_files(project)],
        "on_disk": (folder / STORE_NAME).is_dir(),
        **statistics(store),
    }
    del store  # closes an on-disk store before its folder is renamed
    lap("statistics")
    meta["build_steps"] = steps
    meta["build_seconds"] = round(sum(steps.values()), 3)
    (folder / META_NAME).write_text(json.dumps(meta, indent=1), encoding="utf-8")


def _parse_to_ntriples(paths: list[Path], out: Path) -> int:
    """Parse the Turtle files with pyoxigraph into one N-Triples file and count its triples.
    A file pyoxigraph rejects is parsed again by sources.parse_files for its file:line error."""
    from .sources import SourceError, parse_files

    count = 0

    def counted(triples: Iterable[ox.Triple]) -> Iterator[ox.Triple]:
        nonlocal count
        for triple in triples:
            count += 1
            yield triple

    with open(out, "wb") as sink:
        for path in paths:
            try:
                triples = ox.parse(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri())
                ox.serialize(counted(triples), sink, format=ox.RdfFormat.N_TRIPLES)
            except (SyntaxError, OSError, ValueError) as exc:
                parse_files([path])  # raises SourceError with the file and line
                raise SourceError(path, 0, str(exc)) from exc
    return count


def _write_dump_rdflib(data: Graph, ontology: Graph, dump: Path) -> int:
    """The dump of rdflib graphs, reasoned by infer(); one document, so a blank node shared by
    the asserted and inferred graphs stays one node. Returns how many quads it wrote."""
    from .reasoning import infer

    inferred = infer(data, ontology)
    with open(dump, "w", encoding="utf-8") as out:
        return sum(
            _write_graph(graph.serialize(format="nt", encoding="utf-8").decode("utf-8").splitlines(), name, out)
            for graph, name in ((data, "asserted"), (inferred, "inferred"), (ontology, "ontology"))
        )


def _write_dump_ntriples(asserted: Path, ontology: Graph, dump: Path) -> int:
    """The dump of an N-Triples file of the data, reasoned by infer_ntriples, whose lines keep
    the file's blank node labels. Returns how many quads it wrote."""
    from .reasoning import infer_ntriples

    with open(dump, "w", encoding="utf-8") as out:
        with open(asserted, encoding="utf-8") as lines:
            quads = _write_graph(lines, "asserted", out)
        quads += _write_graph(infer_ntriples(asserted, ontology), "inferred", out)
        ontology_lines = ontology.serialize(format="nt", encoding="utf-8").decode("utf-8").splitlines()
        return quads + _write_graph(ontology_lines, "ontology", out)


def _write_graph(lines: Iterable[str], name: str, out: TextIO) -> int:
    """Write N-Triples lines as N-Quads of the named graph `name`; returns how many."""
    suffix = f" <{GRAPHS[name]}> .\n"
    count = 0
    for line in lines:
        line = line.rstrip()
        if line.endswith(" ."):
            out.write(line[:-2] + suffix)
            count += 1
    return count


def statistics(store: ox.Store) -> dict:
    """Counts the service description and VoID publish, computed once at build time."""

    def one(query: str) -> int:
        return int(next(iter(store.query(query, use_default_graph_as_union=True)))[0].value)

    counts = {str(row[0].value): int(row[1].value) for row in store.query(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")}
    classes = store.query(
        "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c ORDER BY DESC(?n) STR(?c)",
        use_default_graph_as_union=True,
    )
    return {
        "triples": {name: counts.get(iri, 0) for name, iri in GRAPHS.items()},
        # inferred holds nothing asserted or in the ontology (reasoning drops those), so only the
        # triples data/ restates from ontology/ are counted twice: 0.1 s against 5 s for DISTINCT
        "union_triples": sum(counts.values()) - one(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?s ?p ?o }} GRAPH <{ASSERTED_GRAPH}> {{ ?s ?p ?o }} }}"
        ),
        "distinct_subjects": one("SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }"),
        "distinct_objects": one("SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }"),
        "properties": one("SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s ?p ?o }"),
        "classes": [[row[0].value, int(row[1].value)] for row in classes if isinstance(row[0], ox.NamedNode)],
    }


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock (no-op where fcntl does not exist)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prune(cache_dir: Path, root: Path, keep: Path) -> None:
    """Remove this project's older entries beyond the newest KEEP_ENTRIES (others' are left)."""
    mine = []
    for folder in cache_dir.iterdir():
        meta = folder / META_NAME
        if folder == keep or not meta.is_file():
            continue
        try:
            if json.loads(meta.read_text(encoding="utf-8")).get("root") == str(root):
                mine.append((meta.stat().st_mtime, folder))
        except (OSError, ValueError):
            continue
    for _, folder in sorted(mine, reverse=True)[KEEP_ENTRIES - 1 :]:
        shutil.rmtree(folder, ignore_errors=True)
