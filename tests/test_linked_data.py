"""Dereferencing the project's IRIs over HTTP, as a crawler, rdflib and a browser's first request do.

Against the real `agkg serve` (the session `server_url` fixture): 303 from an entity IRI to the
document in the negotiated format, 200 for the documents (.html, .ttl, .nt, .jsonld, .rdf),
Vary: Accept, 404 with close matches, the ontology document, the dumps and their counts, and
the article view that highlights a quoted passage.
"""

from __future__ import annotations

import html as html_module
import re
import urllib.parse
from html.parser import HTMLParser

import pytest
import requests
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, SKOS

from agkg.vocab import AGD, AGKG, ORG

NUJABA = AGD["nujaba"]
KAABI = AGD["akram-al-kaabi"]
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
VOID = Namespace("http://rdfs.org/ns/void#")

# suffix -> (media type, rdflib parser)
DOCUMENTS = {
    "ttl": ("text/turtle", "turtle"),
    "nt": ("application/n-triples", "nt"),
    "jsonld": ("application/ld+json", "json-ld"),
    "rdf": ("application/rdf+xml", "xml"),
}


def get(url: str, accept: str | None = None, **kwargs) -> requests.Response:
    headers = {"Accept": accept} if accept else {}
    return requests.get(url, headers=headers, allow_redirects=kwargs.pop("follow", False), timeout=15, **kwargs)


def parse(response: requests.Response, fmt: str) -> Graph:
    graph = Graph()
    graph.parse(data=response.content, format=fmt, publicID=response.url)
    return graph


class Links(HTMLParser):
    """Every href/src of an HTML page, with the text of the element when it is a link."""

    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, dict]] = []  # (tag, url, attributes)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "src"):
            if attrs.get(name):
                self.refs.append((tag, attrs[name], attrs))


def links(html: str) -> list[tuple[str, str, dict]]:
    parser = Links()
    parser.feed(html)
    return parser.refs


# --- an entity IRI: RDF clients get the description, browsers a 303 to the page -------------------


@pytest.mark.parametrize("suffix", list(DOCUMENTS))
def test_entity_iri_answers_the_description_accept_asks_for(server_url, suffix):
    media_type, _ = DOCUMENTS[suffix]
    response = get(f"{server_url}/id/nujaba", media_type)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(media_type)
    assert response.headers["Content-Location"] == f"/id/nujaba.{suffix}"
    assert "Accept" in response.headers["Vary"]


def test_a_browser_is_sent_to_the_html_page(server_url):
    response = get(f"{server_url}/id/nujaba", BROWSER_ACCEPT)
    assert response.status_code == 303
    assert response.headers["Location"] == "/id/nujaba.html"
    assert response.headers["Vary"] == "Accept"


def test_no_accept_header_gets_turtle(server_url):
    response = requests.get(f"{server_url}/id/nujaba", timeout=15)  # requests sends Accept: */*
    assert response.status_code == 200 and response.headers["Content-Location"] == "/id/nujaba.ttl"
    assert response.headers["Content-Type"].startswith("text/turtle")


def test_curl_with_accept_turtle_gets_the_description_without_a_redirect(server_url):
    """What the README shows: `curl -H 'Accept: text/turtle' .../id/nujaba`."""
    response = get(f"{server_url}/id/nujaba", "text/turtle")
    assert response.status_code == 200
    graph = parse(response, "turtle")
    assert (NUJABA, SKOS.prefLabel, Literal("Nujaba", lang="en")) in graph


def test_curl_with_accept_turtle_and_l_gets_the_description(server_url):
    """What the README shows: `curl -L -H 'Accept: text/turtle' .../id/nujaba`."""
    response = get(f"{server_url}/id/nujaba", "text/turtle", follow=True)
    assert response.status_code == 200
    graph = parse(response, "turtle")
    assert (NUJABA, SKOS.prefLabel, Literal("Nujaba", lang="en")) in graph
    assert (KAABI, AGKG.leaderOf, NUJABA) in graph  # inferred triples are part of the description


@pytest.mark.parametrize("suffix", list(DOCUMENTS))
def test_each_document_is_200_in_its_format_and_describes_the_same_triples(server_url, suffix):
    media_type, parser = DOCUMENTS[suffix]
    response = get(f"{server_url}/id/akram-al-kaabi.{suffix}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == media_type
    assert 'rel="alternate"' in response.headers["Link"]
    graph = parse(response, parser)
    reference = parse(get(f"{server_url}/id/akram-al-kaabi.nt"), "nt")
    assert len(graph) == len(reference) > 40
    assert (KAABI, AGKG.leaderOf, NUJABA) in graph
    assert (AGD["membership-kaabi-secretary-general-nujaba"], ORG.member, KAABI) in graph  # incoming too


def test_fact_nodes_dereference_with_their_quote(server_url):
    response = get(f"{server_url}/id/membership-kaabi-secretary-general-nujaba", "text/turtle", follow=True)
    graph = parse(response, "turtle")
    node = AGD["membership-kaabi-secretary-general-nujaba"]
    quotes = [str(q) for q in graph.objects(node, AGKG.quote)]
    assert quotes == ["“His eminence, the Secretary-General of the Islamic Resistance, Al-Nujaba movement, Sheikh AKram Al-Kaabi”"]


def test_format_parameter_and_unacceptable_types(server_url):
    assert get(f"{server_url}/id/nujaba?format=nt").headers["Content-Location"] == "/id/nujaba.nt"
    response = get(f"{server_url}/id/nujaba", "image/png")
    assert response.status_code == 406
    assert "text/turtle" in response.text
    assert get(f"{server_url}/id/nujaba?format=png").status_code == 400


# --- unknown IRIs ---------------------------------------------------------------------------------


def test_unknown_iri_is_404_with_close_matches_by_label(server_url):
    response = get(f"{server_url}/id/nujabaa", BROWSER_ACCEPT)
    assert response.status_code == 404
    assert 'href="/id/nujaba"' in response.text
    response = get(f"{server_url}/id/kaabi", BROWSER_ACCEPT)  # a label word, not the slug
    assert response.status_code == 404
    assert 'href="/id/akram-al-kaabi"' in response.text


def test_unknown_iri_for_a_machine_is_a_plain_404_naming_matches(server_url):
    response = get(f"{server_url}/id/soleimany", "text/turtle")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "/id/qasem-soleimani" in response.text
    assert get(f"{server_url}/id/no-such-thing-at-all.ttl").status_code == 404


# --- human pages ------------------------------------------------------------------------------------


def test_nujaba_page_says_who_leads_it_with_the_sentence(server_url):
    html = get(f"{server_url}/id/nujaba.html").text
    assert re.search(r"Led by</dt>\s*<dd>.*Akram al-Kaabi.*inferred", html, re.S)
    assert "Sheikh AKram Al-Kaabi" in html  # the quote
    assert "as <a href=\"/id/article-2020-02-16\">the article of 2020-02-16</a> states" in html


def test_claims_name_who_makes_them(server_url):
    html = get(f"{server_url}/id/akram-al-kaabi.html").text
    line = re.search(r'data-fact="[^"]*membership-kaabi-former-member-asaib".*?</li>', html, re.S).group()
    assert re.search(r'claimed by\s*<a href="/id/united-states">United States</a>', line)


def test_wikidata_links_are_shown(server_url):
    html = get(f"{server_url}/id/pmu.html").text
    assert 'href="https://www.wikidata.org/wiki/Q19610107"' in html


def test_inferred_types_are_marked(server_url):
    html = get(f"{server_url}/id/nujaba.html").text
    assert re.search(r'class="type inferred-type"[^>]*>org:Organization<sup>inferred</sup>', html)
    assert re.search(r'class="type"[^>]*title="Asserted in data/">armed group<', html)


def test_query_this_opens_the_query_page_with_a_query_for_the_entity(server_url):
    html = get(f"{server_url}/id/nujaba.html").text
    href = next(url for tag, url, attrs in links(html) if tag == "a" and url.startswith("/query?"))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)["query"][0]
    assert "agd:nujaba" in query
    rows = requests.post(f"{server_url}/sparql", data={"query": query},
                         headers={"Accept": "application/sparql-results+json"}, timeout=15).json()
    assert len(rows["results"]["bindings"]) > 10


def test_every_quote_link_opens_the_article_with_that_passage_highlighted(server_url):
    html = get(f"{server_url}/id/nujaba.html").text
    quote_links = [url for tag, url, attrs in links(html) if "#passage" in url]
    assert len(quote_links) >= 10
    for href in quote_links:
        passage = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)["q"][0]
        page = get(server_url + href.split("#")[0])
        assert page.status_code == 200
        assert 'id="passage"' in page.text, href
        marked = html_module.unescape("".join(re.findall(r"<mark[^>]*>(.*?)</mark>", page.text, re.S)))
        assert passage in marked, href


def test_a_passage_not_in_the_text_is_reported(server_url):
    page = get(f"{server_url}/id/article-2020-02-16.html?q=words+the+article+never+uses")
    assert page.status_code == 200
    assert "This passage is not in the text" in page.text


def test_search_goes_straight_to_an_exact_name(server_url):
    response = get(f"{server_url}/search?q=Nujaba")
    assert response.status_code == 303 and response.headers["Location"] == "/id/nujaba"
    listing = get(f"{server_url}/search?q=IRGC")
    assert listing.status_code == 303 or "IRGC Quds Force" in listing.text
    listing = get(f"{server_url}/search?q=irgc&list=1")
    assert "IRGC Quds Force" in listing.text and "IRGC Aerospace Force" in listing.text


def test_home_page_answers_who_leads_nujaba(server_url):
    html = get(f"{server_url}/", BROWSER_ACCEPT).text
    assert ('<a href="/id/akram-al-kaabi">Akram al-Kaabi</a> — <a href="/ontology#secretaryGeneral">secretary-general</a>'
            ' of <a href="/id/nujaba">Nujaba</a>') in html
    for path in ("/query", "/network", "/timeline", "/ontology", "/dumps/", "/id/"):
        assert f'href="{path}"' in html


@pytest.mark.parametrize("path", ["/", "/id/", "/id/nujaba.html", "/id/article-2020-02-16.html", "/query",
                                  "/network", "/timeline", "/ontology", "/dumps/", "/search?q=iran"])
def test_pages_load_nothing_from_another_host(server_url, path):
    response = get(server_url + path, BROWSER_ACCEPT, follow=True)
    assert response.status_code == 200
    for tag, url, attrs in links(response.text):
        if tag in ("script", "link", "img", "iframe", "source"):
            assert url.startswith("/") or url.startswith("data:"), f"{path} loads {url}"
    for tag, url, attrs in links(response.text):
        if tag == "script":
            asset = get(server_url + url)
            assert asset.status_code == 200, f"{url} is not served (run npm ci --prefix server/agkg/pages/static)"
            assert not re.search(r"https?://(cdn|unpkg|fonts\.googleapis|prefix\.cc)", asset.text[:200_000])


# --- the ontology -------------------------------------------------------------------------------------


def test_ontology_document_is_negotiated_with_200(server_url):
    response = get(f"{server_url}/ontology", "text/turtle")
    assert response.status_code == 200
    assert response.headers["Vary"] == "Accept"
    assert response.headers["Content-Location"] == "/ontology.ttl"
    graph = parse(response, "turtle")
    assert (AGKG.Membership, RDF.type, OWL.Class) in graph
    assert (URIRef(str(AGKG).rstrip("#")), RDF.type, OWL.Ontology) in graph
    html = get(f"{server_url}/ontology", BROWSER_ACCEPT)
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    assert 'id="Membership"' in html.text and 'id="leaderOf"' in html.text
    assert "agkg:hasMembership" in html.text and "org:organization" in html.text  # the chain behind leaderOf


@pytest.mark.parametrize("suffix", list(DOCUMENTS))
def test_ontology_documents(server_url, suffix):
    media_type, parser = DOCUMENTS[suffix]
    response = get(f"{server_url}/ontology.{suffix}")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(media_type)
    assert (AGKG.leaderOf, RDF.type, OWL.ObjectProperty) in parse(response, parser)


def test_ontology_imports_iri_resolves(server_url):
    response = get(f"{server_url}/ontology/imports", "text/turtle")
    assert response.status_code == 200
    assert (ORG.memberOf, RDF.type, OWL.ObjectProperty) in parse(response, "turtle")


# --- dumps and VoID ------------------------------------------------------------------------------------


def test_dumps_page_lists_each_dump_with_its_triple_count(server_url):
    void = Graph().parse(data=get(f"{server_url}/.well-known/void", "text/turtle").content, format="turtle")
    html = get(f"{server_url}/dumps/", BROWSER_ACCEPT).text
    counts = {name: int(n.replace(",", "")) for name, n in re.findall(r'data-triples="(\w+)">([\d,]+)<', html)}
    assert set(counts) == {"agkg", "asserted", "inferred", "ontology"}
    by_graph = {str(name): int(n) for subset in void.objects(None, VOID.subset)
                for name in void.objects(subset, URIRef("http://www.w3.org/ns/sparql-service-description#name"))
                for n in void.objects(subset, VOID.triples)}
    for graph in ("asserted", "inferred", "ontology"):
        assert counts[graph] == by_graph[f"https://w3id.org/agkg/graph/{graph}"]


@pytest.mark.parametrize("name,fmt", [("asserted.ttl", "turtle"), ("inferred.nt", "nt"), ("ontology.ttl", "turtle"),
                                      ("agkg.nq", "nquads")])
def test_each_dump_holds_as_many_triples_as_announced(server_url, name, fmt):
    announced = Graph().parse(data=get(f"{server_url}/dumps/", "text/turtle").content, format="turtle")
    dump_url = URIRef(f"{server_url}/dumps/{name}")
    dataset = next(announced.subjects(VOID.dataDump, dump_url))
    expected = int(announced.value(dataset, VOID.triples))
    response = get(f"{server_url}/dumps/{name}")
    assert response.status_code == 200
    if fmt == "nquads":
        from rdflib import Dataset

        data = Dataset()
        data.parse(data=response.content, format="nquads")
        assert sum(len(g) for g in data.graphs() if len(g)) == expected
    else:
        assert len(parse(response, fmt)) == expected


def test_graph_iris_lead_to_their_dumps(server_url):
    response = get(f"{server_url}/graph/inferred", "text/turtle")
    assert response.status_code == 303 and response.headers["Location"] == "/dumps/inferred.ttl"
