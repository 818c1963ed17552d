"""Safe by default: no outbound request unless allowlisted, bounded time and size, and a runaway
query neither survives its timeout nor holds up other clients."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import requests

from agkg.vocab import AGD, ASSERTED_GRAPH

from conftest import TEST_TIMEOUT

CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
LABEL = f"SELECT ?l WHERE {{ <{AGD['nujaba']}> <http://www.w3.org/2000/01/rdf-schema#label> ?l }}"


def post(sparql_url: str, query: str, **headers) -> requests.Response:
    return requests.post(sparql_url, data={"query": query}, headers=headers, timeout=60)


def assert_no_connection(listener) -> None:
    time.sleep(0.5)  # the listener polls accept() every 0.2 s
    assert listener.received == []


# --- outbound requests ---------------------------------------------------------------------------


@pytest.mark.backends("embedded", "remote")
@pytest.mark.parametrize(
    "template",
    [
        "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
        "PREFIX remote: <{base}> SELECT * WHERE {{ SERVICE remote:sparql {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ VALUES ?e {{ <{url}> }} SERVICE ?e {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ SERVICE <{escaped}> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ ?s ?p ?o SERVICE <{allowed}> {{ SERVICE <{url}> {{ ?x ?y ?z }} }} }}",
    ],
)
def test_service_off_the_allowlist_is_refused_without_connecting(sparql_url, listener, allowed_service, template):
    query = template.format(
        url=listener.url,
        base=listener.url[: -len("sparql")],
        escaped=listener.url.replace("s", "\\u0073"),
        allowed=allowed_service.url,
    )
    response = post(sparql_url, query)
    assert response.status_code == 403
    assert "no request was made" in response.text
    assert_no_connection(listener)


@pytest.mark.backends("embedded", "remote")
def test_allowlisted_service_is_called(sparql_url, allowed_service):
    """The allowlist is real: the one configured endpoint does receive the subquery."""
    before = len(allowed_service.received)
    post(sparql_url, f"SELECT * WHERE {{ SERVICE SILENT <{allowed_service.url}> {{ ?s ?p ?o }} }}")
    for _ in range(50):
        if len(allowed_service.received) > before:
            break
        time.sleep(0.1)
    assert allowed_service.received[before:] and allowed_service.received[before].startswith(b"POST /sparql")


@pytest.mark.backends("embedded", "remote")
@pytest.mark.parametrize("clause", ["FROM", "FROM NAMED"])
def test_remote_from_is_refused_and_never_fetched(sparql_url, listener, clause):
    response = post(sparql_url, f"SELECT * {clause} <{listener.url}> WHERE {{ ?s ?p ?o }}")
    assert response.status_code == 400
    assert "never fetched" in response.text
    assert_no_connection(listener)


@pytest.mark.backends("embedded", "remote")
def test_protocol_dataset_parameters_are_never_fetched(sparql_url, listener):
    response = requests.get(sparql_url, params={"query": "ASK { ?s ?p ?o }", "named-graph-uri": listener.url})
    assert response.status_code == 400
    assert_no_connection(listener)


@pytest.mark.backends("embedded", "remote")
def test_file_iri_is_refused(sparql_url):
    assert post(sparql_url, "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }").status_code == 400
    assert post(sparql_url, "SELECT * WHERE { SERVICE <file:///etc/passwd> { ?s ?p ?o } }").status_code == 403


@pytest.mark.backends("embedded", "remote")
def test_from_own_graph_restricts_the_default_graph(sparql_url):
    response = post(sparql_url, f"SELECT ?l FROM <{ASSERTED_GRAPH}> WHERE {{ <{AGD['nujaba']}> rdfs:label ?l }}")
    assert response.status_code == 200
    assert response.json()["results"]["bindings"] == []  # rdfs:label is entailed, not asserted


# --- time ------------------------------------------------------------------------------------------


def executor_cpu_seconds(server) -> dict[int, float]:
    """CPU time (user + system) of every query executor process of the test server."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"executor_main" not in (entry / "cmdline").read_bytes():
                continue
            if os.getpgid(int(entry.name)) != server.process.pid:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, ValueError, IndexError):
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads executor CPU time from /proc")
def test_timeout_answers_503_and_stops_the_work(server, sparql_url):
    response = post(sparql_url, CARTESIAN)
    assert response.status_code == 503
    assert f"{TEST_TIMEOUT:g} s limit" in response.text
    assert response.headers["Retry-After"]
    time.sleep(1.0)  # let the replacement executor finish loading the store
    before = executor_cpu_seconds(server)
    time.sleep(1.0)
    after = executor_cpu_seconds(server)
    busy = {pid: after[pid] - before[pid] for pid in after if pid in before and after[pid] - before[pid] > 0.5}
    assert busy == {}, f"an executor kept computing after the timeout: {busy}"
    assert len(after) >= 2


def test_runaway_query_does_not_hold_up_other_clients(sparql_url):
    outcome = {}

    def runaway():
        outcome["status"] = post(sparql_url, CARTESIAN).status_code
        outcome["done"] = time.monotonic()

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.3)
    answered_meanwhile = 0
    statuses = []
    while thread.is_alive() and len(statuses) < 30:
        statuses.append(requests.get(sparql_url, params={"query": LABEL}, timeout=30).status_code)
        if thread.is_alive():
            answered_meanwhile += 1
    thread.join()
    assert outcome["status"] == 503
    assert set(statuses) == {200}
    assert answered_meanwhile >= 3


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="CPU affinity is Linux-only")
def test_each_worker_and_its_executors_share_one_cpu(server):
    """pin_cpus (on by default): a query's two processes never wake each other across CPUs."""
    cpus_of: dict[int, set[int]] = {}
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                pid = int(entry.name)
                if os.getpgid(pid) != server.process.pid:
                    continue
                parent_of[pid] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cpus_of[pid] = os.sched_getaffinity(pid)
            except (OSError, ValueError):
                continue
    executors = [pid for pid in parent_of if b"executor_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    workers = {parent_of[pid] for pid in executors}
    assert workers and all(len(cpus_of[w]) == 1 for w in workers), {w: cpus_of[w] for w in workers}
    assert all(cpus_of[pid] == cpus_of[parent_of[pid]] for pid in executors)
    available = os.sched_getaffinity(0)
    assert len({min(cpus_of[w]) for w in workers}) == min(len(workers), len(available))


def test_metrics_count_timeouts(server_url, sparql_url):
    post(sparql_url, CARTESIAN)
    text = requests.get(server_url + "/metrics").text
    line = next(x for x in text.splitlines() if x.startswith('agkg_executor_events_total{event="timeout"}'))
    assert float(line.split()[-1]) >= 1


# --- size -------------------------------------------------------------------------------------------


@pytest.mark.backends("embedded", "remote")
def test_select_is_cut_at_max_rows_and_marked(sparql_url):
    response = post(sparql_url, "SELECT * WHERE { ?s ?p ?o . ?x ?y ?z }", Accept="application/sparql-results+json")
    assert response.status_code == 200
    limit = int(response.headers["X-SPARQL-MaxRows"])
    assert len(response.json()["results"]["bindings"]) == limit
    csv_response = post(sparql_url, "SELECT * WHERE { ?s ?p ?o . ?x ?y ?z }", Accept="text/csv")
    assert len(csv_response.content.rstrip(b"\r\n").split(b"\r\n")) == limit + 1  # header + rows


@pytest.mark.backends("embedded", "remote")
def test_construct_is_cut_at_max_rows(sparql_url):
    query = "CONSTRUCT { ?s ?p ?x } WHERE { ?s ?p ?o . ?x ?y ?z }"
    response = post(sparql_url, query, Accept="application/n-triples")
    assert response.status_code == 200
    limit = int(response.headers["X-SPARQL-MaxRows"])
    assert len(response.text.strip().splitlines()) <= limit


@pytest.mark.backends("embedded", "remote")
def test_small_results_are_not_marked(sparql_url):
    response = post(sparql_url, LABEL)
    assert "X-SPARQL-MaxRows" not in response.headers
    assert len(response.json()["results"]["bindings"]) == 1


@pytest.mark.backends("embedded", "remote")
def test_deep_nesting_is_refused_not_crashing(sparql_url):
    query = "SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }"
    response = requests.post(sparql_url, data=query, headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 400
    assert "levels deep" in response.text


# --- settings -----------------------------------------------------------------------------------


def test_settings_file_is_checked(tmp_path):
    from agkg.config import ConfigError, load_settings

    good = tmp_path / "good.toml"
    good.write_text('timeout = 5\nservice_allowlist = ["https://query.wikidata.org/sparql"]\n', encoding="utf-8")
    settings = load_settings(good)
    assert settings.timeout == 5.0 and settings.service_allowlist == ["https://query.wikidata.org/sparql"]
    for text, named in (("timeot = 5\n", "timeot"), ('max_rows = "many"\n', "max_rows"), ("timeout = -1\n", "timeout")):
        bad = tmp_path / "bad.toml"
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=named):
            load_settings(bad)


def test_serve_refuses_a_bad_settings_file(tmp_path):
    import subprocess

    from conftest import ROOT, agkg_command

    bad = tmp_path / "bad.toml"
    bad.write_text("timeot = 5\n", encoding="utf-8")
    done = subprocess.run(
        [*agkg_command(), "--root", str(ROOT), "serve", "--port", "1", "--config", str(bad)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert "unknown setting 'timeot'" in done.stderr
