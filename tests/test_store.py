"""The store: three named graphs, built once per distinct input and reused from the disk cache."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from agkg.sources import Project, SourceError
from agkg.store import GRAPHS, KEEP_ENTRIES, ON_DISK_MIN_QUADS, STORE_NAME, cache_key, ensure_cache, open_store
from agkg.vocab import AGD, ASSERTED_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH

ROOT = Path(__file__).resolve().parent.parent
NEW_TRIPLE = '\n<https://w3id.org/agkg/id/test-entity> <http://www.w3.org/2004/02/skos/core#prefLabel> "Test entity"@en .\n'


def copy_project(target: Path) -> Project:
    for folder in ("ontology", "data", "shapes", "seeds"):
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, target / folder)
    return Project(target)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    return copy_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def store(project) -> ox.Store:
    return open_store(project)


def ask(store: ox.Store, query: str) -> bool:
    return bool(store.query(query, use_default_graph_as_union=True))


def test_three_named_graphs_and_an_empty_default_graph(store):
    names = {g.value for g in store.named_graphs()}
    assert names == set(GRAPHS.values())
    assert not any(True for _ in store.quads_for_pattern(None, None, None, ox.DefaultGraph()))


def test_graphs_hold_what_they_say(store):
    nujaba = AGD["nujaba"]
    assert ask(store, f'ASK {{ GRAPH <{ASSERTED_GRAPH}> {{ <{nujaba}> <http://www.w3.org/2004/02/skos/core#prefLabel> "Nujaba"@en }} }}')
    assert ask(store, f'ASK {{ GRAPH <{INFERRED_GRAPH}> {{ <{nujaba}> <http://www.w3.org/2000/01/rdf-schema#label> "Nujaba"@en }} }}')
    assert ask(store, f"ASK {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?c a <http://www.w3.org/2002/07/owl#Class> }} }}")
    # inferred holds only what nothing states
    assert not ask(store, f"ASK {{ GRAPH <{INFERRED_GRAPH}> {{ ?s ?p ?o }} GRAPH <{ASSERTED_GRAPH}> {{ ?s ?p ?o }} }}")


def test_warm_start_reuses_the_cache(project, store):
    entry = ensure_cache(project)
    stamp = entry.dump.stat().st_mtime_ns
    again = ensure_cache(project)
    assert again.path == entry.path
    assert again.dump.stat().st_mtime_ns == stamp
    assert len(again.load()) == len(store)


def test_cache_meta_counts(project, store):
    meta = ensure_cache(project).meta
    assert meta["triples"]["asserted"] > 0 and meta["triples"]["inferred"] > 0 and meta["triples"]["ontology"] > 0
    assert meta["key"] == cache_key(project)
    assert json.dumps(meta)  # plain data
    distinct = store.query("SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }", use_default_graph_as_union=True)
    assert meta["union_triples"] == int(next(iter(distinct))[0].value)


def test_a_small_graph_is_served_from_memory(project):
    """Below ON_DISK_MIN_QUADS each executor loads the dump into memory (faster queries)."""
    entry = ensure_cache(project)
    assert sum(entry.meta["triples"].values()) < ON_DISK_MIN_QUADS
    assert entry.meta["on_disk"] is False and not (entry.path / STORE_NAME).exists()


def test_shapes_and_seeds_do_not_change_the_key(project):
    key = cache_key(project)
    (project.root / "shapes").mkdir(exist_ok=True)
    (project.root / "shapes" / "extra.ttl").write_text("# a comment\n", encoding="utf-8")
    (project.root / "seeds" / "note.txt").write_text("more text\n", encoding="utf-8")
    assert cache_key(project) == key


def test_changed_input_rebuilds_and_old_entries_are_pruned(tmp_path):
    project = copy_project(tmp_path / "p")
    cache = tmp_path / "cache"
    first = ensure_cache(project, cache)
    data_file = project.data_files[0]
    for round_ in range(KEEP_ENTRIES):
        with open(data_file, "a", encoding="utf-8") as out:
            out.write(NEW_TRIPLE.replace("test-entity", f"test-entity-{round_}"))
        latest = ensure_cache(project, cache)
        assert latest.path != first.path
    store = latest.load()
    assert ask(store, f"ASK {{ <{AGD['test-entity-0']}> ?p ?o }}")
    entries = [p for p in cache.iterdir() if (p / "meta.json").exists()]
    assert len(entries) == KEEP_ENTRIES
    assert first.path not in entries


def test_unparsable_input_builds_nothing(tmp_path):
    project = copy_project(tmp_path / "p")
    (project.root / "data" / "broken.ttl").write_text("<a> <b> .\n", encoding="utf-8")
    cache = tmp_path / "cache"
    with pytest.raises(SourceError) as error:
        ensure_cache(project, cache)
    assert error.value.path.name == "broken.ttl" and error.value.line == 1
    assert [p for p in cache.iterdir() if not p.name.startswith(".lock")] == []


def test_concurrent_builders_share_one_entry(tmp_path):
    project = copy_project(tmp_path / "p")
    cache = tmp_path / "cache"
    script = (
        "import sys; from pathlib import Path; from agkg.sources import Project; from agkg.store import ensure_cache;"
        "print(ensure_cache(Project(Path(sys.argv[1])), Path(sys.argv[2])).path)"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(project.root), str(cache)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    paths = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(paths) == 1
    assert len(open_store(project, cache)) > 0
