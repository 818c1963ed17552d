"""The pieces that let agkg grow: the synthetic graph generator and the fast reasoning engine.

owlrl is the reference; the "reasonable" engine may serve large graphs only because these tests
show it entails the same triples on every graph owlrl can handle here (the article's data and a
generated 10k-triple graph). Timings are bench/scale.py's business, never a test's.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from conftest import agkg_command, start_agkg_serve

from agkg.reasoning import infer
from agkg.sources import Project, parse_files
from agkg.vocab import AGD, AGKG, ORG

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
generate = importlib.import_module("generate")

pytest.importorskip("reasonable")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A 10k-triple synthetic project with the default share of deliberate mistakes."""
    folder = tmp_path_factory.mktemp("gen") / "g10k"
    generate.generate(10_000, folder, seed=1, mistakes=0.001)
    return folder


def graphs_of(root: Path) -> tuple[Graph, Graph]:
    project = Project(root)
    return parse_files(project.data_files).graph, parse_files(project.ontology_files).graph


def abox(triples: Graph, ontology: Graph) -> set:
    """The triples about the data's own nodes: subjects the ontology does not describe."""
    terms = set(ontology.subjects())
    return {t for t in triples if t[0] not in terms}


# --- the engines agree -------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["article", "generated 10k"])
def test_reasonable_entails_what_owlrl_entails(which, generated):
    data, ontology = graphs_of(ROOT if which == "article" else generated)
    reference = infer(data, ontology, engine="owlrl")
    fast = infer(data, ontology, engine="reasonable")

    missing, extra = abox(reference, ontology) - set(fast), abox(fast, ontology) - set(reference)
    assert not missing and not extra, f"ABox differs: {len(missing)} only in owlrl, {len(extra)} only in reasonable"
    # and the entailments about the ontology's terms (TBox) as well
    assert set(reference) == set(fast)
    # the property-chain shortcuts, which reasonable itself lacks, are there
    assert any(p == AGKG.leaderOf for _, p, _ in fast)
    assert any(p == AGKG.designatedBy for _, p, _ in fast)


def test_chain_entailments_feed_further_inference():
    """A chain's conclusion (agkg:leaderOf) gets its super-properties and inverses too."""
    data, ontology = graphs_of(ROOT)
    fast = infer(data, ontology, engine="reasonable")
    kaabi, nujaba = AGD["akram-al-kaabi"], AGD["nujaba"]
    for triple in [
        (kaabi, AGKG.leaderOf, nujaba),
        (kaabi, ORG.headOf, nujaba),
        (kaabi, ORG.memberOf, nujaba),
        (nujaba, AGKG.hasLeader, kaabi),
        (nujaba, ORG.hasMember, kaabi),
    ]:
        assert triple in fast, triple


def test_plain_literals_stay_plain():
    data, ontology = graphs_of(ROOT)
    fast = infer(data, ontology, engine="reasonable")
    reference = infer(data, ontology, engine="owlrl")
    labels = {t for t in fast if t[1] == URIRef("http://www.w3.org/2000/01/rdf-schema#label")}
    assert labels and labels <= set(reference)


def test_auto_is_the_default_and_keeps_the_reference_for_small_graphs():
    data, ontology = graphs_of(ROOT)
    assert set(infer(data, ontology)) == set(infer(data, ontology, engine="owlrl"))


# --- the generator ---------------------------------------------------------------------------


def test_the_generator_is_deterministic(tmp_path, generated):
    again = tmp_path / "again"
    generate.generate(10_000, again, seed=1, mistakes=0.001)
    for path in sorted(generated.rglob("*")):
        if path.is_file():
            twin = again / path.relative_to(generated)
            assert twin.read_bytes() == path.read_bytes(), path.relative_to(generated)


def test_the_generated_graph_has_the_size_asked_for(generated):
    manifest = json.loads((generated / "manifest.json").read_text(encoding="utf-8"))
    data, _ = graphs_of(generated)
    assert 9_000 <= len(data) <= 12_000
    assert len(data) == manifest["triples"]
    assert manifest["documents"] == len(list((generated / "seeds").glob("*.txt")))


def test_every_quote_is_in_its_document_text(generated):
    data, _ = graphs_of(generated)
    quote, derived = AGKG.quote, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")
    planted = {node for node, kind in generate.iter_mistakes(generated) if kind == "misquote"}
    texts = {}
    checked = 0
    for node, text in data.subject_objects(quote):
        for doc in data.objects(node, derived):
            name = str(data.value(doc, AGKG.textFile))
            texts.setdefault(name, (generated / "seeds" / name).read_text(encoding="utf-8"))
            assert (str(text) in texts[name]) == (str(node) not in planted), node
            checked += 1
    assert checked > 1_000


def test_validation_reports_exactly_the_planted_mistakes(generated):
    """`agkg validate` on the generated project: a violation on each planted node, nothing else,
    and not one warning (dates never after the citing document, every event dated)."""
    run = subprocess.run(
        [*agkg_command(), "--root", str(generated), "validate", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    planted = dict(generate.iter_mistakes(generated))
    assert len(set(planted.values())) == len(generate.MISTAKES)  # every kind is there
    flagged = {r["focus"] for r in report["results"] if r["severity"] == "Violation" and r["focus"].startswith(str(AGD))}
    assert flagged == set(planted), {n: planted.get(n, "not planted") for n in flagged ^ set(planted)}
    assert report["counts"]["warning"] == 0, [r for r in report["results"] if r["severity"] == "Warning"][:3]


def test_without_mistakes_the_generated_graph_validates_cleanly(tmp_path):
    from agkg.validation import validate

    folder = tmp_path / "clean"
    generate.generate(2_000, folder, seed=7, mistakes=0)
    assert list(generate.iter_mistakes(folder)) == []
    report = validate(Project(folder))
    assert not report.results, report.to_text()


FUNCTIONAL_ONTOLOGY = """\
@prefix ex: <http://example.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:headquarters a owl:ObjectProperty , owl:FunctionalProperty ; rdfs:range ex:Place .
ex:callsign a owl:ObjectProperty , owl:InverseFunctionalProperty .
ex:partOf a owl:ObjectProperty , owl:TransitiveProperty .
"""
FUNCTIONAL_DATA = """\
@prefix ex: <http://example.org/> .
ex:group ex:headquarters ex:camp-a , ex:camp-b .
ex:camp-a ex:partOf ex:province .
ex:unit-1 ex:callsign ex:falcon .
ex:unit-2 ex:callsign ex:falcon .
ex:unit-1 ex:partOf ex:group .
"""


def test_functional_properties_give_the_same_equalities_as_owlrl():
    """reasonable's own prp-fp/prp-ifp are replaced (they are quadratic); the result must not change."""
    ontology = Graph().parse(data=FUNCTIONAL_ONTOLOGY, format="turtle")
    data = Graph().parse(data=FUNCTIONAL_DATA, format="turtle")
    reference = set(infer(data, ontology, engine="owlrl"))
    fast = set(infer(data, ontology, engine="reasonable"))
    ex = "http://example.org/"
    same = URIRef("http://www.w3.org/2002/07/owl#sameAs")
    assert (URIRef(ex + "camp-b"), same, URIRef(ex + "camp-a")) in reference
    assert (URIRef(ex + "unit-2"), same, URIRef(ex + "unit-1")) in reference
    assert fast == reference, (reference - fast, fast - reference)


# --- the store at scale --------------------------------------------------------------------------


def ntriples(triples) -> set[str]:
    """Triples (rdflib or pyoxigraph) as pyoxigraph writes them in N-Triples, one string each."""
    import pyoxigraph as ox

    if isinstance(triples, Graph):
        triples = ox.parse(triples.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    return set(ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES).decode("utf-8").splitlines())


def test_the_store_built_at_scale_serves_what_owlrl_entails(generated, tmp_path):
    """Above the owlrl threshold the store is built without rdflib terms on the way in
    (pyoxigraph parses, reasonable reads N-Triples): its inferred graph must still be owlrl's."""
    import pyoxigraph as ox

    from agkg.store import ensure_cache
    from agkg.vocab import INFERRED_GRAPH

    entry = ensure_cache(Project(generated), tmp_path / "cache")
    stored = [q.triple for q in entry.load().quads_for_pattern(None, None, None, ox.NamedNode(str(INFERRED_GRAPH)))]
    data, ontology = graphs_of(generated)
    reference = infer(data, ontology, engine="owlrl")
    assert len(stored) == len(reference) == entry.meta["triples"]["inferred"]
    named = lambda lines: {line for line in lines if "_:" not in line}  # noqa: E731  (blank nodes differ by label)
    assert named(ntriples(stored)) == named(ntriples(reference))


def processes_with_open_files_under(folder: Path) -> set[int]:
    """The processes holding a file under `folder` open (read from /proc)."""
    import os

    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if any(os.readlink(fd).startswith(str(folder)) for fd in (proc / "fd").iterdir()):
                    found.add(int(proc.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to see the executors' open files")
def test_a_large_graph_is_served_by_executors_sharing_one_on_disk_store(generated, tmp_path, monkeypatch):
    """From store.ON_DISK_MIN_QUADS quads the build writes an on-disk store, and every executor
    opens that one read-only instead of loading its own in-memory copy."""
    import time
    import urllib.parse
    import urllib.request

    from agkg import store

    monkeypatch.setattr(store, "ON_DISK_MIN_QUADS", 1)  # the 10k graph stands for a large one
    entry = store.ensure_cache(Project(generated), tmp_path / "cache")
    assert entry.meta["on_disk"] and (entry.path / store.STORE_NAME).is_dir()
    config = tmp_path / "agkg.toml"
    config.write_text(f'cache_dir = "{entry.path.parent}"\nexecutors = 2\nworkers = 1\n', encoding="utf-8")
    server = start_agkg_serve(tmp_path, "--config", str(config), root=generated)
    url = server.url
    try:
        query = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://w3id.org/agkg/graph/inferred> { ?s ?p ?o } }"
        request = urllib.request.Request(
            url + "/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": "application/sparql-results+json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        assert int(answer["results"]["bindings"][0]["n"]["value"]) == entry.meta["triples"]["inferred"]
        deadline = time.monotonic() + 60  # the pool is ready with one executor; the other follows
        while len(readers := processes_with_open_files_under(entry.path / store.STORE_NAME)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(readers) == 2, readers  # both executors hold the one store open, nothing else
    finally:
        server.stop()



def test_the_whole_graph_check_on_the_store_agrees_with_pyshacl_at_10k(generated):
    from agkg import shacl_store
    from agkg.store import open_store
    from agkg.validation import validate

    project = Project(generated)
    store = open_store(project)
    shapes = parse_files(project.shape_files).graph
    assert shacl_store.results(store, shapes)  # it runs on these shapes, it does not fall back
    mask = lambda text: re.sub(r'"_:[^"]+"', '"_:b"', text)  # noqa: E731
    on_store, full = validate(project, focused=True, store=store), validate(project, focused=False)
    assert len(full.results) >= 10
    assert (on_store.to_text(), mask(on_store.to_json())) == (full.to_text(), mask(full.to_json()))
