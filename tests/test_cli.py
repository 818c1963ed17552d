"""The `agkg` command as a user runs it: a real subprocess, its exit code and its output.

Each file in tests/fixtures/ states what `agkg validate` must answer for it in its header:
`# expect-exit: N`, `# expect-node: agd:x` (the node must head a group at the file:line that
describes it) and `# expect: text` (a line of output). Every Violation or Warning printed must be
one of the expected lines, so a fixture shows one kind of mistake and nothing else.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, URIRef
from rdflib.compare import isomorphic

from agkg.reasoning import infer
from agkg.sources import Project, parse_files
from agkg.vocab import ASSERTED_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
AGKG = shutil.which("agkg", path=str(Path(sys.executable).parent)) or shutil.which("agkg")

# The kinds of mistakes a contributor makes that must each have a fixture that fails.
KINDS_OF_MISTAKES = {
    "missing-quote",
    "wrong-target-type",
    "bad-date",
    "end-before-start",
    "malformed-wikidata-iri",
    "unknown-property",
    "syntax-error",
    "misquote",
    "missing-source",
    "missing-text",
    "unknown-entity",
}


def agkg(*args: str, cwd: Path = ROOT, env: dict | None = None, stdin: str | None = None):
    assert AGKG, "the agkg command is not installed (pip install -e .)"
    environment = {k: v for k, v in os.environ.items() if k != "AGKG_ROOT"}
    environment.update(env or {})
    return subprocess.run(
        [AGKG, *args], cwd=cwd, env=environment, input=stdin, capture_output=True, text=True, timeout=300
    )


def squeeze(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text)


# --- validate: the fixtures ----------------------------------------------------------------


def expectations(path: Path) -> tuple[int, list[str], list[str]]:
    header = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("# expect")]
    exit_code = next(int(line.split(":", 1)[1]) for line in header if line.startswith("# expect-exit:"))
    nodes = [line.split(":", 1)[1].strip() for line in header if line.startswith("# expect-node:")]
    messages = [line.split(":", 1)[1].strip() for line in header if line.startswith("# expect:")]
    return exit_code, nodes, messages


def line_of(path: Path, node: str) -> int:
    """The line on which the fixture starts describing `node`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(node + " "):
            return number
    raise AssertionError(f"{node} is not described in {path.name}")


def test_every_kind_of_mistake_has_a_fixture():
    assert KINDS_OF_MISTAKES <= {p.stem for p in (FIXTURES / "invalid").glob("*.ttl")}


@pytest.mark.parametrize(
    "fixture", sorted(FIXTURES.glob("*/*.ttl")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_validate_answers_each_fixture_as_its_header_says(fixture: Path):
    exit_code, nodes, messages = expectations(fixture)
    result = agkg("validate", fixture.name, cwd=fixture.parent)
    output = squeeze(result.stdout + result.stderr)
    assert result.returncode == exit_code, output
    if fixture.parent.name == "invalid":
        assert exit_code != 0, "an invalid fixture must fail"
    for node in nodes:
        assert f"{fixture.name}:{line_of(fixture, node)} {node}\n" in output
    for message in messages:
        assert squeeze(message) in output
    printed = [line.strip() for line in output.splitlines() if line.strip().startswith(("Violation", "Warning"))]
    expected = [m for m in messages if m.startswith(("Violation", "Warning"))]
    assert len(printed) == len(expected), f"unexpected findings:\n{output}"


# --- validate: the bundled data, formats, exit codes ---------------------------------------


def test_the_bundled_data_validates_from_anywhere(tmp_path):
    result = agkg("--root", str(ROOT), "validate", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Conforms" in result.stdout
    assert agkg("validate", cwd=tmp_path, env={"AGKG_ROOT": str(ROOT)}).returncode == 0


def test_validate_reports_as_json_and_as_a_shacl_report():
    fixture = FIXTURES / "invalid" / "misquote.ttl"
    result = agkg("validate", "--format", "json", str(fixture))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["conforms"] is False
    [finding] = report["results"]
    assert finding["focus_name"] == "agd:membership-khazali-leader-asaib-misquoted"
    assert (finding["file"], finding["line"]) == (str(fixture.relative_to(ROOT)), line_of(fixture, finding["focus_name"]))

    result = agkg("validate", "--format", "turtle", str(fixture))
    assert result.returncode == 1
    graph = Graph().parse(data=result.stdout, format="turtle")
    sh = "http://www.w3.org/ns/shacl#"
    assert (None, URIRef(sh + "conforms"), None) in graph
    assert len(list(graph.subjects(URIRef(sh + "focusNode"), None))) == 1


def test_unreadable_input_exits_2_with_file_and_line(tmp_path):
    result = agkg("validate", "no-such-file.ttl")
    assert result.returncode == 2
    assert result.stderr.strip() == "no-such-file.ttl:0: no such file"

    result = agkg("validate", cwd=tmp_path, env={"AGKG_ROOT": str(tmp_path)})
    assert result.returncode == 2
    assert "AGKG_ROOT does not contain ontology/ and data/" in result.stderr



def test_a_contribution_to_a_large_graph_is_checked_against_the_built_store(tmp_path):
    """Above FOCUSED_MIN_DATA_BYTES of data/, `agkg validate FILE` builds the store once and checks
    the file's nodes against it; the report is the one the full check gives, data/'s own planted
    mistakes included where the contribution describes a node again."""
    import importlib

    from agkg.validation import FOCUSED_MIN_DATA_BYTES, validate

    if str(ROOT / "bench") not in sys.path:
        sys.path.insert(0, str(ROOT / "bench"))  # as tests/test_scale.py does
    generate = importlib.import_module("generate")
    root = tmp_path / "large"
    generate.generate(10_000, root, seed=1, mistakes=0.001)
    project = Project(root)
    assert sum(p.stat().st_size for p in project.data_files) >= FOCUSED_MIN_DATA_BYTES
    rows = (line.split("\t") for line in (root / "mistakes.tsv").read_text(encoding="utf-8").splitlines()[1:])
    mistakes = {kind: node for node, kind, _ in rows}  # one node per kind of planted mistake
    contribution = tmp_path / "contribution.ttl"
    contribution.write_text(
        generate.PREFIXES
        + "agd:new-membership a agkg:Membership ; org:member agd:person-000001 ; org:role agd:group-000002 ;\n"
        + "    org:organization agd:group-000001 ; prov:wasDerivedFrom agd:no-such-article .\n"
        + f'{mistakes["untagged-label"]} skos:altLabel "an alternative name"@en .\n',
        encoding="utf-8",
    )

    result = agkg("--root", str(root), "validate", "--format", "json", str(contribution), cwd=Path.cwd())
    assert result.returncode == 1, result.stdout + result.stderr
    assert list((root / ".agkg-cache").glob("*/meta.json")), "the focused check builds the store"
    full = validate(project, [contribution], focused=False)
    blank_labels = re.compile(r'"_:[^"]+"')  # of the shapes' blank nodes, new in every run
    assert blank_labels.sub("_:b", result.stdout.strip()) == blank_labels.sub("_:b", full.to_json())
    messages = {(r["focus_name"], r["path"]) for r in json.loads(result.stdout)["results"]}
    assert {("agd:new-membership", "org:role"), ("agd:new-membership", "agkg:quote")} <= messages
    assert (mistakes["untagged-label"], "skos:prefLabel") in messages  # data/'s mistake, on a node written again


# --- query ---------------------------------------------------------------------------------


def test_query_sees_inferred_triples_in_every_format(tmp_path):
    # Nujaba is asserted an agkg:ArmedGroup; that it is an org:Organization is inferred.
    query = "SELECT ?org WHERE { ?org a org:Organization . FILTER(?org = agd:nujaba) }"
    table = agkg("query", query)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[2:] == ["agd:nujaba", "(1 row)"]

    as_json = json.loads(agkg("query", query, "--format", "json").stdout)
    assert as_json["results"]["bindings"] == [{"org": {"type": "uri", "value": "https://w3id.org/agkg/id/nujaba"}}]

    as_csv = agkg("query", query, "--format", "csv").stdout.splitlines()
    assert as_csv == ["org", "https://w3id.org/agkg/id/nujaba"]

    (tmp_path / "q.rq").write_text("ASK { agd:nujaba a org:Organization }\n", encoding="utf-8")
    assert agkg("query", "--file", str(tmp_path / "q.rq")).stdout == "true\n"
    assert agkg("query", "--file", "-", stdin="ASK { agd:nujaba a agkg:Nothing }").stdout == "false\n"


def test_query_construct_prints_turtle():
    result = agkg("query", "CONSTRUCT { agd:nujaba a ?c } WHERE { agd:nujaba a ?c }")
    assert result.returncode == 0
    graph = Graph().parse(data=result.stdout, format="turtle")
    assert (URIRef("https://w3id.org/agkg/id/nujaba"), None, URIRef("http://www.w3.org/ns/org#Organization")) in graph


def test_a_bad_query_exits_2_with_the_parser_message_at_the_users_line():
    result = agkg("query", "SELECT ?s WHERE {\n  ?s ?p \n}")
    assert result.returncode == 2
    assert "the query does not parse" in result.stderr and "line 3" in result.stderr
    result = agkg("query")
    assert result.returncode == 2 and "give either a SPARQL query" in result.stderr


# --- stats and export ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def graphs():
    project = Project(ROOT)
    data = parse_files(project.data_files).graph
    ontology = parse_files(project.ontology_files).graph
    return data, ontology, infer(data, ontology)


def test_stats_counts_each_graph_and_inferred_instances(graphs):
    data, ontology, inferred = graphs
    result = agkg("stats", "--format", "json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["triples"] == {"asserted": len(data), "inferred": len(inferred), "ontology": len(ontology)}
    # every person is also a foaf:Agent, by inference only
    assert stats["instances"]["foaf:Agent"] >= stats["instances"]["agkg:Person"] > 0
    text = agkg("stats").stdout
    assert re.search(rf"^\s+{len(data)}\s+asserted$", text, re.M)


def test_export_keeps_named_graphs_in_nquads_and_merges_them_otherwise(graphs, tmp_path):
    data, ontology, inferred = graphs
    result = subprocess.run([AGKG, "export", "--format", "nq"], cwd=ROOT, capture_output=True, timeout=300)
    assert result.returncode == 0
    dataset = Dataset()
    dataset.parse(data=result.stdout, format="nquads")
    sizes = {str(g.identifier): len(g) for g in dataset.graphs() if len(g)}
    assert sizes == {str(ASSERTED_GRAPH): len(data), str(INFERRED_GRAPH): len(inferred), str(ONTOLOGY_GRAPH): len(ontology)}

    out = tmp_path / "asserted.ttl"
    result = agkg("export", "--graph", "asserted", "-o", str(out))
    assert result.returncode == 0 and f"wrote {out}" in result.stderr
    assert isomorphic(Graph().parse(out, format="turtle"), data)

    out = tmp_path / "inferred.jsonld"
    assert agkg("export", "--graph", "inferred", "--format", "jsonld", "-o", str(out)).returncode == 0
    assert len(Graph().parse(out, format="json-ld")) == len(inferred)

    result = subprocess.run([AGKG, "export", "--format", "nt"], cwd=ROOT, capture_output=True, timeout=300)
    assert len(Graph().parse(data=result.stdout, format="nt")) == len(data + ontology + inferred)


# --- help ----------------------------------------------------------------------------------


def test_every_command_and_option_has_help():
    from agkg.cli import main

    for name, command in main.commands.items():
        assert command.help, name
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"{name} {param.opts}"
    assert all(p.help for p in main.params if p.param_type_name == "option" and p.name != "version")
    assert agkg("serve", "--help").returncode == 0
