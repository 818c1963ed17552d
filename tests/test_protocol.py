"""The SPARQL 1.1 Protocol as clients see it: the real server, SPARQLWrapper, rdflib, raw HTTP."""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.parse

import pytest
import requests
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, JSONLD, N3, POST, POSTDIRECTLY, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

from agkg.vocab import AGD, ASSERTED_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH, ORG

NUJABA = str(AGD["nujaba"])
KAABI = str(AGD["akram-al-kaabi"])
LABEL_QUERY = f"SELECT ?label WHERE {{ <{NUJABA}> <http://www.w3.org/2000/01/rdf-schema#label> ?label }}"
DESCRIBE_QUERY = f"CONSTRUCT {{ <{NUJABA}> ?p ?o }} WHERE {{ <{NUJABA}> ?p ?o }}"
RDFS_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")

pytestmark = pytest.mark.backends("embedded", "remote")  # agkg's own store, and `serve --store` (conftest)


def wrapper(sparql_url: str, query: str, fmt: str, method: str | None = None) -> SPARQLWrapper:
    client = SPARQLWrapper(sparql_url)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    if method:
        client.setMethod(POST)
        client.setRequestMethod(method)
    return client


# --- real clients ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", [None, "urlencoded", POSTDIRECTLY])
def test_sparqlwrapper_select_json_by_get_and_both_posts(sparql_url, method):
    result = wrapper(sparql_url, LABEL_QUERY, JSON, method).query().convert()
    assert {"type": "literal", "value": "Nujaba", "xml:lang": "en"} in [b["label"] for b in result["results"]["bindings"]]


def test_sparqlwrapper_select_xml(sparql_url):
    document = wrapper(sparql_url, LABEL_QUERY, XML).query().convert()
    assert [n.firstChild.data for n in document.getElementsByTagName("literal")] == ["Nujaba"]


def test_sparqlwrapper_select_csv(sparql_url):
    rows = list(csv.reader(io.StringIO(wrapper(sparql_url, LABEL_QUERY, CSV).query().convert().decode())))
    assert rows == [["label"], ["Nujaba"]]


def test_sparqlwrapper_select_tsv(sparql_url):
    lines = wrapper(sparql_url, LABEL_QUERY, TSV).query().convert().decode().splitlines()
    assert lines == ["?label", '"Nujaba"@en']


@pytest.mark.parametrize("fmt", [JSON, XML])
def test_sparqlwrapper_ask(sparql_url, fmt):
    result = wrapper(sparql_url, f"ASK {{ <{KAABI}> <{ORG['memberOf']}> <{NUJABA}> }}", fmt).query().convert()
    if fmt == JSON:
        assert result["boolean"] is True
    else:
        assert result.getElementsByTagName("boolean")[0].firstChild.data == "true"


@pytest.mark.parametrize("fmt", [TURTLE, N3, RDFXML, JSONLD])
def test_sparqlwrapper_construct_every_rdf_format(sparql_url, fmt):
    converted = wrapper(sparql_url, DESCRIBE_QUERY, fmt).query().convert()
    graph = converted if isinstance(converted, Graph) else Graph().parse(data=converted, format="turtle")
    assert (URIRef(NUJABA), RDFS_LABEL, Literal("Nujaba", lang="en")) in graph


def test_sparqlwrapper_describe(sparql_url):
    graph = wrapper(sparql_url, f"DESCRIBE <{NUJABA}>", RDFXML).query().convert()
    assert (URIRef(NUJABA), RDFS_LABEL, Literal("Nujaba", lang="en")) in graph


def test_rdflib_sparqlstore(sparql_url):
    graph = Graph(store=SPARQLStore(sparql_url, returnFormat="json"))
    rows = list(graph.query(f"SELECT ?member WHERE {{ ?member <{ORG['memberOf']}> <{NUJABA}> }}"))
    assert URIRef(KAABI) in {row[0] for row in rows}
    assert (URIRef(NUJABA), RDFS_LABEL, Literal("Nujaba", lang="en")) in graph


# --- what the dataset holds ---------------------------------------------------------------------


def select(sparql_url, query, **params):
    response = requests.get(sparql_url, params={"query": query, **params}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in b.items()} for b in response.json()["results"]["bindings"]]


def test_default_graph_is_asserted_plus_inferred_plus_ontology(sparql_url):
    counts = select(sparql_url, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    graphs = {row["g"]: int(row["n"]) for row in counts}
    assert set(graphs) == {str(ASSERTED_GRAPH), str(INFERRED_GRAPH), str(ONTOLOGY_GRAPH)}
    union = int(select(sparql_url, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"])
    assert union == sum(graphs.values())


def test_stated_versus_entailed(sparql_url):
    stated = f'ASK {{ GRAPH <{ASSERTED_GRAPH}> {{ <{NUJABA}> <http://www.w3.org/2004/02/skos/core#prefLabel> "Nujaba"@en }} }}'
    entailed = f'ASK {{ GRAPH <{INFERRED_GRAPH}> {{ <{NUJABA}> <{RDFS_LABEL}> "Nujaba"@en }} }}'
    not_stated = f'ASK {{ GRAPH <{ASSERTED_GRAPH}> {{ <{NUJABA}> <{RDFS_LABEL}> ?l }} }}'
    for query, expected in ((stated, True), (entailed, True), (not_stated, False)):
        assert requests.get(sparql_url, params={"query": query}).json()["boolean"] is expected


def test_default_graph_uri_selects_among_own_graphs(sparql_url):
    assert select(sparql_url, LABEL_QUERY, **{"default-graph-uri": str(ASSERTED_GRAPH)}) == []
    assert select(sparql_url, LABEL_QUERY, **{"default-graph-uri": str(INFERRED_GRAPH)}) == [{"label": "Nujaba"}]
    named = select(
        sparql_url, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", **{"named-graph-uri": str(ONTOLOGY_GRAPH)}
    )
    assert named == [{"g": str(ONTOLOGY_GRAPH)}]


def test_w3c_terms_find_project_data(sparql_url):
    """Superproperties and superclasses from ORG, PROV-O and SKOS reach agkg's own terms."""
    members = select(sparql_url, f"SELECT ?m WHERE {{ ?m org:memberOf <{NUJABA}> }}")
    assert {"m": KAABI} in members
    orgs = select(sparql_url, "SELECT ?o WHERE { ?o a org:Organization ; rdfs:label ?l }")
    assert {"o": NUJABA} in orgs
    types = select(sparql_url, f"SELECT ?t WHERE {{ <{KAABI}> a ?t }}")
    assert {"t": "http://www.w3.org/ns/prov#Person"} in types and {"t": "http://xmlns.com/foaf/0.1/Person"} in types
    sourced = select(sparql_url, "SELECT (COUNT(?f) AS ?n) WHERE { ?f a prov:Entity ; prov:wasDerivedFrom ?doc }")
    assert int(sourced[0]["n"]) > 0


def test_predeclared_prefixes_and_own_prefixes(sparql_url):
    assert select(sparql_url, "SELECT ?l WHERE { agd:nujaba rdfs:label ?l }") == [{"l": "Nujaba"}]
    own = "PREFIX x: <https://w3id.org/agkg/id/> SELECT ?l WHERE { x:nujaba <http://www.w3.org/2000/01/rdf-schema#label> ?l }"
    assert select(sparql_url, own) == [{"l": "Nujaba"}]


# --- negotiation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accept, media_type",
    [
        ("application/sparql-results+json", "application/sparql-results+json"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
        ("application/json", "application/sparql-results+json"),
        ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
        ("text/*;q=0.8, application/sparql-results+json;q=0.1", "text/csv"),
        ("*/*", "application/sparql-results+json"),
        (None, "application/sparql-results+json"),
    ],
)
def test_select_negotiation(sparql_url, accept, media_type):
    headers = {"Accept": accept} if accept else {}
    response = requests.get(sparql_url, params={"query": LABEL_QUERY}, headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == f"{media_type}; charset=utf-8"
    assert "Accept" in response.headers["Vary"]


@pytest.mark.parametrize(
    "accept, media_type, parse_as",
    [
        ("text/turtle", "text/turtle", "turtle"),
        ("application/n-triples", "application/n-triples", "nt"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("application/rdf+xml", "application/rdf+xml", "xml"),
        ("application/trig", "application/trig", "trig"),
        ("application/n-quads", "application/n-quads", "nquads"),
        ("text/html, */*;q=0.1", "text/turtle", "turtle"),
    ],
)
def test_construct_negotiation(sparql_url, accept, media_type, parse_as):
    response = requests.get(sparql_url, params={"query": DESCRIBE_QUERY}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == f"{media_type}; charset=utf-8"
    data = Dataset()
    data.parse(data=response.content, format=parse_as)
    assert (URIRef(NUJABA), RDFS_LABEL, Literal("Nujaba", lang="en"), None) in data


def test_format_parameter_overrides_accept(sparql_url):
    response = requests.get(sparql_url, params={"query": LABEL_QUERY, "format": "csv"}, headers={"Accept": "application/sparql-results+xml"})
    assert response.headers["Content-Type"].startswith("text/csv")
    response = requests.get(sparql_url, params={"query": DESCRIBE_QUERY, "format": "application/n-triples"})
    assert response.headers["Content-Type"].startswith("application/n-triples")


def test_406_when_nothing_acceptable(sparql_url):
    response = requests.get(sparql_url, params={"query": LABEL_QUERY}, headers={"Accept": "text/turtle"})
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.text
    response = requests.get(sparql_url, params={"query": DESCRIBE_QUERY, "format": "csv"})
    assert response.status_code == 406


# --- errors -----------------------------------------------------------------------------------


def test_malformed_query_gets_400_with_parser_position(sparql_url):
    response = requests.get(sparql_url, params={"query": "SELECT ?x WHERE { ?x ?y }"})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "1:" in response.text and "^" in response.text


def test_two_query_parameters_400(sparql_url):
    response = requests.get(sparql_url + "?query=ASK%7B%7D&query=ASK%7B%7D")
    assert response.status_code == 400
    assert "exactly one query" in response.text


def test_query_in_body_and_url_400(sparql_url):
    response = requests.post(sparql_url + "?query=ASK%7B%7D", data="ASK {}", headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 400


def test_bad_parameters_400(sparql_url):
    assert requests.get(sparql_url, params={"query": LABEL_QUERY, "format": "pdf"}).status_code == 400
    response = requests.get(sparql_url, params={"query": LABEL_QUERY, "default-graph-uri": "http://example.org/g"})
    assert response.status_code == 400 and "never fetched" in response.text
    both = requests.get(sparql_url, params=[("query", LABEL_QUERY), ("format", "csv"), ("format", "xml")])
    assert both.status_code == 400


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_wrong_method_405(sparql_url, method):
    response = requests.request(method, sparql_url, data="ASK {}")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]


def test_wrong_media_type_415(sparql_url):
    response = requests.post(sparql_url, data="ASK {}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    response = requests.post(sparql_url, data="ASK {}".encode("utf-16"), headers={"Content-Type": "application/sparql-query; charset=utf-16"})
    assert response.status_code == 415


def test_oversized_body_413(sparql_url):
    big = "ASK {} #" + "x" * 1_100_000
    response = requests.post(sparql_url, data=big, headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413
    response = requests.post(sparql_url, data={"query": big})
    assert response.status_code == 413


def test_overlong_url_414(sparql_url):
    response = requests.get(sparql_url, params={"query": "ASK {} #" + "x" * 100_000})
    assert response.status_code in (414, 431)


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"data": {"update": "INSERT DATA { <a:b> <a:c> <a:d> }"}},
        {"data": "INSERT DATA { <a:b> <a:c> <a:d> }", "headers": {"Content-Type": "application/sparql-update"}},
        {"data": {"query": "INSERT DATA { <a:b> <a:c> <a:d> }"}},
        {"data": {"query": "PREFIX a: <a:> LOAD <http://example.org/data.ttl>"}},
        {"data": {"query": "CLEAR ALL"}},
    ],
)
def test_update_refused_403(sparql_url, request_kwargs):
    response = requests.post(sparql_url, **request_kwargs)
    assert response.status_code == 403
    assert "read-only" in response.text


@pytest.mark.parametrize(
    "query",
    [
        "",
        " ",
        "\x00",
        "SELECT * WHERE { ?s ?p ?o } LIMIT -1",
        "SELECT * WHERE { " + "{ " * 2000 + "}" * 2000 + " }",
        "SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }",
        "SELECT (1/0 AS ?x) WHERE {}",
        'SELECT * WHERE { ?s ?p ?o FILTER REGEX(?o, "(((") }',
        "SELECT * WHERE { BIND(<\\u0000> AS ?x) }",
        "SELECT \u00e9 WHERE {}",
        "DESCRIBE",
        "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }",
    ],
)
def test_no_input_gives_500(sparql_url, query):
    for response in (
        requests.get(sparql_url, params={"query": query}),
        requests.post(sparql_url, data=query.encode("utf-8", "replace"), headers={"Content-Type": "application/sparql-query"}),
    ):
        assert response.status_code < 500 or response.status_code == 503, response.text
        assert "Traceback" not in response.text


def test_invalid_utf8_and_odd_parameters_no_500(sparql_url):
    for url in (
        sparql_url + "?query=%FF%FE",
        sparql_url + "?query",
        sparql_url + "?query=ASK%7B%7D&default-graph-uri=",
        sparql_url + "?%00=%00",
    ):
        response = requests.get(url)
        assert response.status_code < 500, (url, response.text)
    response = requests.post(sparql_url, data=b"ASK {} \xff", headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 400


# --- service description, CORS, HEAD, health, metrics -----------------------------------------


def test_service_description(sparql_url, server_url):
    response = requests.get(sparql_url, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/turtle; charset=utf-8"
    graph = Graph().parse(data=response.text, format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    service = URIRef(sparql_url)
    assert (service, URIRef(sd + "endpoint"), service) in graph
    names = {str(o) for o in graph.objects(None, URIRef(sd + "name"))}
    assert {str(ASSERTED_GRAPH), str(INFERRED_GRAPH), str(ONTOLOGY_GRAPH)} <= names
    formats = {str(o) for o in graph.objects(service, URIRef(sd + "resultFormat"))}
    assert "http://www.w3.org/ns/formats/SPARQL_Results_CSV" in formats
    void_url = server_url + "/.well-known/void"
    assert URIRef(void_url) in set(graph.objects(service, URIRef("http://www.w3.org/2000/01/rdf-schema#seeAlso")))
    void = Graph().parse(data=requests.get(void_url).text, format="turtle")
    triples = list(void.objects(None, URIRef("http://rdfs.org/ns/void#triples")))
    assert triples and all(int(t) > 0 for t in triples)


def test_service_description_other_format(sparql_url):
    response = requests.get(sparql_url, headers={"Accept": "application/ld+json"})
    assert response.status_code == 200
    Graph().parse(data=response.text, format="json-ld")


def test_cors(sparql_url):
    response = requests.get(sparql_url, params={"query": LABEL_QUERY}, headers={"Origin": "https://example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    preflight = requests.options(
        sparql_url,
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()


def test_head(sparql_url):
    response = requests.head(sparql_url, params={"query": LABEL_QUERY})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/sparql-results+json")
    assert response.content == b""


def test_healthz(server_url):
    response = requests.get(server_url + "/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_metrics_count_queries(server_url, sparql_url):
    def count(text: str) -> float:
        line = next(x for x in text.splitlines() if x.startswith('agkg_sparql_queries_total{status="200"}'))
        return float(line.split()[-1])

    before = count(requests.get(server_url + "/metrics").text)
    for _ in range(4):
        requests.get(sparql_url, params={"query": LABEL_QUERY})
    text = requests.get(server_url + "/metrics").text
    assert count(text) >= before + 4  # scrapes reach either worker; each sums both
    assert "agkg_sparql_query_duration_seconds_bucket" in text
    assert 'agkg_store_triples{graph="inferred"}' in text


def test_request_log_line(server, sparql_url):
    marker = "SELECT ?logged WHERE { BIND(1 AS ?logged) }"
    requests.get(sparql_url, params={"query": marker})
    for _ in range(50):
        lines = [line for line in server.log.read_text().splitlines() if "?logged" in line]
        if lines:
            break
        time.sleep(0.05)
    assert lines and " 200 " in lines[-1] and "ms" in lines[-1] and "B " in lines[-1]


def test_post_form_with_dataset_params_in_body(sparql_url):
    body = urllib.parse.urlencode({"query": LABEL_QUERY, "default-graph-uri": str(INFERRED_GRAPH)})
    response = requests.post(
        sparql_url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    )
    assert response.status_code == 200
    assert json.loads(response.text)["results"]["bindings"][0]["label"]["value"] == "Nujaba"


@pytest.mark.parametrize(
    "raw",
    ["query=SELECT+%3Fx+%7B%7D+%23+%C3%A9+%5C+%2B", "query=%G1abc", "a=1&a=2&b", "query=%5Cx41", "q=%e9%", "x=a\\b+c", ""],
)
def test_query_string_parsing_matches_the_standard_library(raw):
    from agkg.protocol import parse_query_string

    assert parse_query_string(raw) == urllib.parse.parse_qs(raw, keep_blank_values=True, errors="replace")


def test_non_ascii_query_in_url(sparql_url):
    query = 'SELECT ?x WHERE { BIND("café" AS ?x) }'
    raw = requests.get(sparql_url + "?query=" + urllib.parse.quote(query, safe=""))
    assert raw.json()["results"]["bindings"][0]["x"]["value"] == "café"
