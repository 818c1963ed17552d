"""The pipeline under `agkg validate`: parsing with file/line, the OWL 2 RL closure, the checks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH

from agkg.reasoning import infer
from agkg.sources import Project, SourceError, parse_files
from agkg.validation import DECLARED_TERM_CONSTRAINT, QUOTE_CONSTRAINT, nearest_passage, validate
from agkg.vocab import AGD, AGKG, SH_AGKG

ROOT = Path(__file__).resolve().parents[1]
PROJECT = Project(ROOT)
ARTICLE = "agd:article-2020-02-16"  # the source document of data/source.ttl

HEADER = """\
@prefix agkg: <https://w3id.org/agkg/ontology#> .
@prefix agd: <https://w3id.org/agkg/id/> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


def contribution(tmp_path: Path, body: str, name: str = "contribution.ttl") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


# --- sources -------------------------------------------------------------------------------


def test_the_bundled_data_conforms():
    report = validate(PROJECT)
    assert report.conforms, report.to_text()
    assert report.files == PROJECT.data_files


def test_a_syntax_error_names_the_file_and_the_line(tmp_path):
    path = contribution(tmp_path, "agd:a agkg:quote \"x\"\nagd:b agkg:quote \"y\" .\n")
    with pytest.raises(SourceError) as caught:
        parse_files([path])
    error = caught.value
    assert error.path == path
    assert error.line == HEADER.count("\n") + 2  # the statement that lacks its '.' runs into line 2
    assert str(error).startswith(f"{path}:{error.line}: ")
    assert "expected" in error.message


@pytest.mark.parametrize(
    "content, message",
    [(None, "no such file"), (b"@prefix a: <http://a/> .\n\xff\xfe\n", "not UTF-8")],
)
def test_unreadable_files_are_source_errors(tmp_path, content, message):
    path = tmp_path / "broken.ttl"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        parse_files([path])


def test_each_subject_is_placed_on_the_line_that_describes_it(tmp_path):
    path = contribution(
        tmp_path,
        '# agd:first is mentioned in a comment before it is described\n'  # +1
        'agd:first skos:note """a long text\n'  # +2
        'agd:second a fake subject inside a string\n'  # +3
        '""" ;\n'  # +4
        '    org:member [ skos:note "a blank node" ] .\n'  # +5
        '\n'  # +6
        '<https://w3id.org/agkg/id/second> skos:note "written as a full IRI", "1.5" .\n'  # +7
        'agd:first skos:note "described again" .\n',  # +8
    )
    offset = HEADER.count("\n")
    parsed = parse_files([path])
    assert parsed.origin(AGD["first"]) == (path, offset + 2)
    assert parsed.origin(AGD["second"]) == (path, offset + 7)
    blank = parsed.graph.value(AGD["first"], URIRef("http://www.w3.org/ns/org#member"))
    assert isinstance(blank, BNode)
    assert parsed.origin(blank) == (path, offset + 2)  # a blank node takes its referrer's place
    assert parsed.origin(AGD["nowhere"]) is None


def test_the_project_is_found_from_a_subfolder_or_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("AGKG_ROOT", raising=False)
    assert Project.discover(ROOT / "server" / "agkg").root == ROOT
    monkeypatch.setenv("AGKG_ROOT", str(ROOT))
    assert Project.discover(tmp_path).root == ROOT
    monkeypatch.setenv("AGKG_ROOT", str(tmp_path))
    with pytest.raises(SourceError, match="does not contain ontology/ and data/"):
        Project.discover()


# --- reasoning -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graphs():
    data = parse_files(PROJECT.data_files).graph
    ontology = parse_files(PROJECT.ontology_files).graph
    return data, ontology, infer(data, ontology)


def test_inference_adds_superclass_types_that_no_file_states(graphs):
    data, ontology, inferred = graphs
    # every asserted instance of a class gets its direct superclasses' types
    expected = {
        (s, RDF.type, sup)
        for s, cls in data.subject_objects(RDF.type)
        for sup in ontology.objects(cls, RDFS.subClassOf)
        if isinstance(sup, URIRef) and sup != OWL.Thing
    } - set(data)
    assert expected and expected <= set(inferred)
    assert not set(inferred) & (set(data) | set(ontology))


def test_inference_leaves_out_generalized_triples_and_axiomatic_noise(graphs):
    _, ontology, inferred = graphs
    builtins = tuple(str(ns) for ns in (RDF, RDFS, OWL, "http://www.w3.org/2001/XMLSchema#"))
    for s, p, o in inferred:
        assert not isinstance(s, Literal) and isinstance(p, URIRef), (s, p, o)
        assert s != o, (s, p, o)
        assert o != OWL.Thing and s != OWL.Nothing, (s, p, o)
        assert not str(s).startswith(builtins), (s, p, o)


def test_an_unknown_reasoning_engine_is_refused():
    with pytest.raises(ValueError, match="unknown reasoning engine"):
        infer(Graph(), Graph(), engine="nonesuch")


# --- checks beyond SHACL -------------------------------------------------------------------


def test_an_undeclared_agkg_term_is_a_violation_with_a_suggestion(tmp_path):
    path = contribution(
        tmp_path,
        f"agd:membership-typo a agkg:Membership ;\n"
        f"    prov:wasDerivedFrom {ARTICLE} ;\n"
        f'    agkg:qoute "Muhandis was deputy commander of the PMU" .\n',
    )
    report = validate(PROJECT, [path])
    found = [r for r in report.results if r.constraint == DECLARED_TERM_CONSTRAINT]
    assert [(r.focus, r.path, r.severity) for r in found] == [(AGD["membership-typo"], AGKG["qoute"], "Violation")]
    assert "did you mean agkg:quote?" in found[0].message
    assert (found[0].source_file, found[0].line) == (path, HEADER.count("\n") + 1)
    assert not report.conforms


def test_a_misquote_names_the_nearest_passage_and_the_difference(tmp_path):
    path = contribution(
        tmp_path,
        f"agd:membership-misquoted a agkg:Membership ;\n"
        f"    prov:wasDerivedFrom {ARTICLE} ;\n"
        f"    agkg:quote \"Asaib Ahl al-Haq's leader Qais Khazali\" .\n",
    )
    [result] = [r for r in validate(PROJECT, [path]).results if r.constraint == QUOTE_CONSTRAINT]
    assert result.focus == AGD["membership-misquoted"] and result.severity == "Violation"
    assert "nearest passage: \"Asaib Ahl al-Haq’s leader Qais Khazali\"" in result.message
    assert "the text has \"Haq’s\" where the quote has \"Haq's\"" in result.message


def test_a_new_article_brings_its_text_beside_the_contribution(tmp_path):
    (tmp_path / "new-article.txt").write_text("Nujaba said on Monday that it would retaliate.\n", encoding="utf-8")
    body = (
        "agd:new-article a agkg:NewsArticle ;\n"
        '    skos:prefLabel "A later article"@en ;\n'
        '    dcterms:issued "2020-03-01"^^xsd:date ;\n'
        '    agkg:textFile "new-article.txt" .\n'
        "agd:membership-new a agkg:Membership ;\n"
        "    prov:wasDerivedFrom agd:new-article ;\n"
        '    agkg:quote "{quote}" .\n'
    )
    good = contribution(tmp_path, body.format(quote="Nujaba said on Monday"), "good.ttl")
    assert not [r for r in validate(PROJECT, [good]).results if r.constraint == QUOTE_CONSTRAINT]

    bad = contribution(tmp_path, body.format(quote="Nujaba said on Tuesday"), "bad.ttl")
    [result] = [r for r in validate(PROJECT, [bad]).results if r.constraint == QUOTE_CONSTRAINT]
    assert 'nearest passage: "Nujaba said on Monday"' in result.message

    (tmp_path / "new-article.txt").unlink()
    [result] = [r for r in validate(PROJECT, [good]).results if r.constraint == QUOTE_CONSTRAINT]
    assert 'the text "new-article.txt" of agd:new-article is missing' in result.message


def test_a_contribution_is_checked_with_data_but_only_its_nodes_are_reported(tmp_path):
    path = contribution(
        tmp_path,
        "agd:membership-unsourced a agkg:Membership ;\n"
        "    org:member agd:nasr-al-shammari ;\n"
        "    agkg:qoute \"x\" .\n",
    )
    report = validate(PROJECT, [path])
    assert report.results and not report.conforms
    assert {r.source_file for r in report.results} == {path}
    assert report.files == [path]


def test_the_report_reads_as_text_json_and_a_shacl_report(tmp_path):
    path = contribution(tmp_path, "agd:x a agkg:Membership ; agkg:qoute \"x\" .\n")
    report = validate(PROJECT, [path])
    text = report.to_text()
    assert f"{path}:{HEADER.count(chr(10)) + 1}  agd:x" in text or f"contribution.ttl:{HEADER.count(chr(10)) + 1}" in text
    assert "Does not conform" in text

    data = json.loads(report.to_json())
    assert data["conforms"] is False and data["counts"]["violation"] == len(
        [r for r in report.results if r.severity == "Violation"]
    )
    assert {r["focus_name"] for r in data["results"]} == {"agd:x"}

    graph = Graph().parse(data=report.to_turtle(), format="turtle")
    [node] = graph.subjects(RDF.type, SH.ValidationReport)
    assert graph.value(node, SH.conforms).toPython() is False
    assert len(list(graph.objects(node, SH.result))) == len(report.results)


def test_nearest_passage_finds_the_closest_stretch():
    text = "The US killed Kataib Hezbollah leader Abu Mahdi al-Muhandis on January 3."
    assert nearest_passage("Kataib Hezbolah leader", text) == (
        "Kataib Hezbollah leader",
        'the text has "Hezbollah" where the quote has "Hezbolah"',
    )


# --- a contribution checked against the built store ----------------------------------------

FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def store():
    from agkg.store import open_store

    return open_store(PROJECT)


def comparable(report) -> tuple[bool, str, str]:
    """What a user sees of a report; blank node labels differ between runs, so they are masked."""
    return report.conforms, report.to_text(), re.sub(r'"_:[^"]+"', '"_:b"', report.to_json())


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*/*.ttl")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_focused_check_reports_what_the_full_check_reports(fixture, store):
    try:
        full = validate(PROJECT, [fixture], focused=False)
    except SourceError as error:
        with pytest.raises(SourceError, match=re.escape(error.message)):
            validate(PROJECT, [fixture], focused=True, store=store)
        return
    assert comparable(validate(PROJECT, [fixture], focused=True, store=store)) == comparable(full)


def test_the_focused_check_reads_existing_entities_from_the_store(store):
    fixture = FIXTURES / "valid" / "undated-event.ttl"
    assert validate(PROJECT, [fixture], focused=True, store=store).conforms
    report = validate(PROJECT, [fixture], focused=True, store=ox.Store())  # a store without data/
    assert not report.conforms
    assert {r.constraint for r in report.results} >= {SH_AGKG["DescribedEntityConstraintComponent"]}


def test_a_contribution_rewriting_a_data_file_is_checked_against_the_files():
    # The store holds the version of data/persons.ttl that the given file replaces, so the check
    # reads the files instead; with the empty store it would find every linked entity unknown.
    report = validate(PROJECT, [PROJECT.root / "data" / "persons.ttl"], focused=True, store=ox.Store())
    assert report.conforms, report.to_text()


def test_validating_changes_neither_the_data_nor_the_store(store):
    from agkg.store import ensure_cache

    entry = ensure_cache(PROJECT)
    watched = [*PROJECT.data_files, *entry.path.iterdir()]
    before = {path: path.read_bytes() for path in watched if path.is_file()}
    quads = len(store)
    for fixture in (FIXTURES / "invalid" / "wrong-target-type.ttl", FIXTURES / "valid" / "new-article.ttl"):
        validate(PROJECT, [fixture], focused=True, store=store)
        validate(PROJECT, [fixture], focused=True)  # the project's own store, opened by validate
    assert len(store) == quads
    assert {path: path.read_bytes() for path in before} == before
    assert ensure_cache(PROJECT) == entry


# --- all of data/ checked on the built store (shacl_store) ------------------------------------


def project_with(tmp_path: Path, extra: list[Path]) -> Project:
    """A copy of this project whose data/ also holds `extra` (and the texts beside them)."""
    import shutil

    for folder in ("ontology", "data", "shapes", "seeds"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    for path in extra:
        shutil.copy(path, tmp_path / "data" / f"{path.parent.name}-{path.name}")
        for text in path.parent.glob("*.txt"):
            shutil.copy(text, tmp_path / "data" / text.name)
    return Project(tmp_path)


def test_the_whole_graph_check_on_the_store_reports_what_pyshacl_reports(tmp_path):
    """Every fixture's mistakes at once in data/: shacl_store and the checks fed from the store give
    the report pyshacl and the rdflib-based checks give, line for line."""
    from agkg import shacl_store
    from agkg.store import open_store

    fixtures = [f for f in sorted(FIXTURES.glob("*/*.ttl")) if f.name != "syntax-error.ttl"]
    project = project_with(tmp_path, fixtures)
    contribution(tmp_path / "data", BLANK_NODES, "blank-nodes.ttl")
    store = open_store(project)
    assert shacl_store.results(store, parse_files(project.shape_files).graph), "the store path itself must run"
    full = validate(project, focused=False)
    assert len({r.constraint for r in full.results}) >= 8, full.to_text()  # many kinds of finding compared
    assert sum(isinstance(r.focus, BNode) for r in full.results) >= 3, full.to_text()
    assert comparable(validate(project, focused=True, store=store)) == comparable(full)
    assert comparable(validate(project, focused=True)) == comparable(full)  # read from the dump, as `agkg validate`


# Blank-node facts: the store renames blank nodes when it loads its dump, so reading the dump and
# asking the store must still agree on them.
BLANK_NODES = f"""
[] a agkg:Attack ; agkg:agent agd:kataib-hezbollah ; agkg:target agd:k1-air-base ;
    prov:wasDerivedFrom {ARTICLE} ; agkg:quote "an attack that the article never mentions" .
[] a agkg:Killing ; agkg:victim agd:k1-air-base ; agkg:date "2019-12-27"^^xsd:date ;
    prov:wasDerivedFrom {ARTICLE} ; agkg:quote "K1" .
"""


def test_shapes_the_store_check_cannot_evaluate_fall_back_to_pyshacl(tmp_path):
    from agkg import shacl_store
    from agkg.store import open_store

    project = project_with(tmp_path, [FIXTURES / "invalid" / "victim-not-a-person.ttl"])
    (tmp_path / "shapes" / "closed.ttl").write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n@prefix agkg: <https://w3id.org/agkg/ontology#> .\n"
        "[] a sh:NodeShape ; sh:targetClass agkg:Killing ; sh:closed false .\n",
        encoding="utf-8",
    )
    store = open_store(project)
    with pytest.raises(shacl_store.Unsupported):
        shacl_store.results(store, parse_files(project.shape_files).graph)
    report = validate(project, focused=True, store=store)
    assert comparable(report) == comparable(validate(project, focused=False))
    assert not report.conforms


@pytest.mark.parametrize(
    "shape",
    [
        '[] a sh:NodeShape ; sh:targetClass agkg:Event ; sh:property [ sh:path agkg:date ; sh:minCount "one" ] .',
        '[] a sh:NodeShape ; sh:targetClass agkg:Event ; sh:property [ sh:path agkg:date ; sh:pattern "(" ] .',
        '[] a sh:NodeShape ; sh:targetClass agkg:Event ; sh:sparql [ sh:select "SELECT $this WHERE { oops" ] .',
        '[] a sh:NodeShape ; sh:targetClass agkg:Event ; sh:property [ sh:path ( agkg:agent skos:prefLabel ) ; sh:minCount 1 ] .',
    ],
    ids=["bad count", "bad pattern", "bad query", "sequence path"],
)
def test_shapes_the_store_check_cannot_read_are_left_to_pyshacl(shape):
    from agkg import shacl_store

    prefixes = "@prefix sh: <http://www.w3.org/ns/shacl#> .\n@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
    graph = Graph().parse(data=prefixes + HEADER + shape, format="turtle")
    with pytest.raises(shacl_store.Unsupported):
        shacl_store.results(ox.Store(), graph)
