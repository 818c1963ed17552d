"""The eight competency questions, asked of the running endpoint the way a user would.

Each `tests/competency/NN-*.rq` is sent with SPARQLWrapper to `agkg serve`; its rows must equal the
reviewed answer in the `.csv` beside it (as a multiset: ORDER BY over mixed date precisions is not
part of the answer).
"""

import csv
import io
from collections import Counter
from pathlib import Path

import pytest
from SPARQLWrapper import CSV, SPARQLWrapper

pytestmark = pytest.mark.backends("embedded", "remote")  # agkg's own store, and `serve --store` (conftest)

QUERIES = sorted((Path(__file__).parent / "competency").glob("*.rq"))


def rows(csv_text: str) -> tuple[list[str], Counter]:
    table = list(csv.reader(io.StringIO(csv_text)))
    return table[0], Counter(tuple(row) for row in table[1:])


def ask(endpoint: str, query: str) -> str:
    client = SPARQLWrapper(endpoint)
    client.setQuery(query)
    client.setReturnFormat(CSV)
    return client.query().convert().decode("utf-8")


def test_every_question_has_an_expected_answer():
    assert len(QUERIES) == 8
    for query in QUERIES:
        assert query.with_suffix(".csv").exists(), f"{query.name} has no expected answer"


@pytest.mark.parametrize("query", QUERIES, ids=[q.stem for q in QUERIES])
def test_competency_question(server_url: str, query: Path):
    expected_header, expected = rows(query.with_suffix(".csv").read_text(encoding="utf-8"))
    header, got = rows(ask(f"{server_url}/sparql", query.read_text(encoding="utf-8")))
    assert header == expected_header
    assert got == expected, (
        f"{query.name}: missing {sorted(expected - got)}; unexpected {sorted(got - expected)}"
    )


def test_leaders_need_inference(server_url: str):
    """agkg:leaderOf is never written in data/: only the closure can answer question 2."""
    asserted_only = """
        SELECT (COUNT(*) AS ?n) WHERE {
          GRAPH <https://w3id.org/agkg/graph/asserted> { ?p <https://w3id.org/agkg/ontology#leaderOf> ?o }
        }"""
    inferred = """
        SELECT (COUNT(*) AS ?n) WHERE {
          GRAPH <https://w3id.org/agkg/graph/inferred> { ?p <https://w3id.org/agkg/ontology#leaderOf> ?o }
        }"""
    assert rows(ask(f"{server_url}/sparql", asserted_only))[1] == Counter({("0",): 1})
    assert rows(ask(f"{server_url}/sparql", inferred))[1] == Counter({("6",): 1})
