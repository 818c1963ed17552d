"""An external store: `agkg load --into` fills Oxigraph's server, `agkg serve --store` answers from it.

The endpoint's own tests (test_protocol, test_competency, the policy and size tests of
test_limits) already run through `serve --store` (conftest: backends). These are the parts only
an external store has: loading, its errors, the URLs, and a store that does not answer in time.
"""

from __future__ import annotations

import subprocess

import pytest
import requests

from agkg.remote import StoreURLs, store_urls
from agkg.sources import Project
from agkg.store import GRAPHS, ensure_cache

from conftest import ROOT, TEST_TIMEOUT, _free_port, agkg_command

OTHER_GRAPH = "http://example.org/not-agkg"
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def agkg(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*agkg_command(), "--root", str(ROOT), *args], capture_output=True, text=True, timeout=300, env=env)


def counts_in(oxigraph: str) -> dict[str, int]:
    """Triples per named graph, asked of Oxigraph's server directly."""
    query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    response = requests.get(oxigraph + "/query", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    return {b["g"]["value"]: int(b["n"]["value"]) for b in response.json()["results"]["bindings"]}


def test_load_replaces_agkg_graphs_and_leaves_others(remote_server, oxigraph):
    put = requests.put(
        oxigraph + "/store", params={"graph": OTHER_GRAPH}, data=b"<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n",
        headers={"Content-Type": "application/n-triples"},
    )
    assert put.status_code in (201, 204)
    again = agkg("load", "--into", oxigraph)  # the fixture loaded once already: PUT replaces
    assert again.returncode == 0, again.stderr
    built = ensure_cache(Project(ROOT)).meta["triples"]
    assert counts_in(oxigraph) == {**{GRAPHS[name]: n for name, n in built.items()}, OTHER_GRAPH: 1}
    assert f"asserted {built['asserted']:,}" in again.stdout


def test_other_graphs_of_the_store_stay_out_of_answers(remote_server, oxigraph):
    requests.put(
        oxigraph + "/store", params={"graph": OTHER_GRAPH}, data=b"<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n",
        headers={"Content-Type": "application/n-triples"},
    )
    query = "ASK { <http://example.org/a> ?p ?o }"
    assert requests.get(oxigraph + "/query", params={"query": query, "union-default-graph": ""}).json()["boolean"] is True
    assert requests.get(remote_server.url + "/sparql", params={"query": query}).json()["boolean"] is False


def test_load_errors_name_the_cause():
    refused = agkg("load", "--into", f"http://127.0.0.1:{_free_port()}")
    assert refused.returncode == 2
    assert "connection refused" in refused.stderr
    credentials = agkg("load", "--into", "http://user:secret@127.0.0.1:1/")
    assert credentials.returncode == 2 and "AGKG_STORE_AUTH" in credentials.stderr


def test_load_reports_the_servers_refusal(oxigraph):
    result = agkg("load", "--into", oxigraph, "--graph-store", oxigraph + "/no-such-endpoint")
    assert result.returncode == 2
    assert "404" in result.stderr and "not supported" in result.stderr  # Oxigraph's own message


def test_credentials_come_from_the_environment(listener):
    import os

    env = {**os.environ, "AGKG_STORE_AUTH": "analyst:s3cret"}
    result = agkg("load", "--into", listener.url.rsplit("/", 1)[0] + "/store", env=env)
    assert result.returncode == 2  # the listener never answers like a server
    assert listener.received and b"Authorization: Basic YW5hbHlzdDpzM2NyZXQ=" in listener.received[0]
    assert b"s3cret" not in listener.received[0]


@pytest.mark.parametrize(
    "given, query, graph_store",
    [
        ("http://h:7878", "http://h:7878/query", "http://h:7878/store"),
        ("http://h:7878/query", "http://h:7878/query", "http://h:7878/store"),
        ("http://h:7878/store", "http://h:7878/query", "http://h:7878/store"),
        ("http://h:3030/ds/sparql", "http://h:3030/ds/sparql", "http://h:3030/ds/data"),
        ("http://h:3030/ds/query", "http://h:3030/ds/query", "http://h:3030/ds/data"),
        ("http://h:3030/ds/data", "http://h:3030/ds/sparql", "http://h:3030/ds/data"),
        ("http://h:3030/ds", "http://h:3030/ds", "http://h:3030/ds"),
        ("https://h/sparql?timeout=10", "https://h/sparql?timeout=10", "https://h/data?timeout=10"),
    ],
)
def test_one_url_gives_both_endpoints(given, query, graph_store):
    assert store_urls(given) == StoreURLs(query, graph_store)


def test_overrides_win_over_derivation():
    urls = store_urls("http://h:7200/repositories/agkg", graph_store="http://h:7200/repositories/agkg/rdf-graphs/service")
    assert urls == StoreURLs("http://h:7200/repositories/agkg", "http://h:7200/repositories/agkg/rdf-graphs/service")


def test_a_store_that_does_not_answer_in_time_gets_503(remote_server):
    response = requests.post(remote_server.url + "/sparql", data={"query": CARTESIAN}, timeout=60)
    assert response.status_code == 503
    assert f"did not answer within the {TEST_TIMEOUT:g} s limit" in response.text
    metrics = requests.get(remote_server.url + "/metrics").text
    line = next(x for x in metrics.splitlines() if x.startswith('agkg_executor_events_total{event="timeout"}'))
    assert float(line.split()[-1]) >= 1
    assert requests.get(remote_server.url + "/healthz").json()["status"] == "ok"  # a slow query is not a dead store


def test_pages_read_through_the_store(remote_server):
    response = requests.get(remote_server.url + "/id/nujaba", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "Nujaba" in response.text


def test_serve_refuses_a_store_it_cannot_reach(tmp_path):
    port = _free_port()
    result = subprocess.run(
        [*agkg_command(), "--root", str(ROOT), "serve", "--port", str(_free_port()), "--store", f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert f"cannot reach the SPARQL store at http://127.0.0.1:{port}/query" in result.stderr
