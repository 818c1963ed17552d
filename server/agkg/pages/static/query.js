// The query page: YASGUI (from npm, served by agkg) set up to talk to this server only.
// - no prefix.cc, no LOV, no endpoint catalogue: autocompletion uses YASGUI's bundled prefixes;
// - the example questions load and run with one click;
// - project IRIs in results link to this server's entity pages;
// - downloads of the current query in every format the endpoint speaks;
// - a failed query shows the server's message (the parser's, with line and column), in YASR.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("query-config").textContent);
  const endpoint = new URL(config.endpoint, window.location.href).href;
  const root = new URL(config.root, window.location.href).href;
  const downloads = document.getElementById("downloads");
  const downloadLinks = document.getElementById("download-links");
  const initial = config.initial || "";

  function localHref(iri) {
    return iri.startsWith(config.iriBase) ? root + iri.slice(config.iriBase.length) : null;
  }

  function queryKind(text) {
    const body = text.replace(/#[^\n]*/g, " ").replace(/(PREFIX|BASE)\s+[^\n>]*>/gi, " ");
    const m = body.match(/\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b/i);
    return m ? m[1].toUpperCase() : "SELECT";
  }

  function showDownloads(text) {
    const kind = queryKind(text);
    const formats = kind === "CONSTRUCT" || kind === "DESCRIBE" ? config.graphFormats : config.resultsFormats;
    downloadLinks.replaceChildren();
    for (const [name, media] of formats) {
      const a = document.createElement("a");
      a.href = endpoint + "?" + new URLSearchParams({ query: text, format: name }).toString();
      a.textContent = name;
      a.title = media;
      a.setAttribute("download", "results." + ({ json: "srj", xml: "srx", turtle: "ttl", ntriples: "nt", jsonld: "jsonld", rdfxml: "rdf", nquads: "nq" }[name] || name));
      downloadLinks.appendChild(a);
    }
    downloads.hidden = false;
  }

  if (typeof window.Yasgui === "undefined") {
    // The editor's files are not installed: the plain form (already visible) does the job.
    return;
  }
  const Yasgui = window.Yasgui;

  const yasgui = new Yasgui(document.getElementById("yasgui"), {
    persistenceId: "agkg",
    populateFromUrl: false,
    copyEndpointOnNewTab: true,
    autofocus: false,
    tabName: "Query",
    requestConfig: {
      endpoint: endpoint,
      method: "POST",
      acceptHeaderSelect: "application/sparql-results+json",
      acceptHeaderGraph: "text/turtle",
    },
    endpointCatalogueOptions: { getData: () => [{ endpoint: endpoint }], keys: [] },
    yasqe: {
      value: config.defaultQuery,
      autocompleters: ["prefixes", "variables"], // bundled data only: never prefix.cc or LOV
      prefixCcApi: null,
      collapsePrefixesOnLoad: true,
      editorHeight: "340px",
      resizeable: true,
      showQueryButton: true,
    },
    yasr: {
      prefixes: config.prefixes,
      pluginOrder: ["table", "response"],
      defaultPlugin: "table",
    },
  });

  window.agkgYasgui = yasgui; // for scripts and tests driving the page

  // Every tab talks to this server, whatever an older session stored.
  function tabs() {
    return Object.values(yasgui._tabs || {});
  }
  for (const tab of tabs()) {
    if (tab.getEndpoint() !== endpoint) tab.setEndpoint(endpoint);
  }

  function currentTab() {
    return yasgui.getTab();
  }

  function run(text, name) {
    let tab = currentTab();
    if (name) {
      tab = yasgui.addTab(true, { name: name, yasqe: { value: text }, requestConfig: { endpoint: endpoint } });
    }
    tab.show();
    tab.setQuery(text);
    return tab.query().catch(() => {});
  }

  yasgui.on("queryBefore", () => {
    downloads.hidden = true;
  });
  // YASGUI announces a response before its result view has read it: look once that is done.
  yasgui.on("queryResponse", (_yasgui, tab) => setTimeout(() => afterResponse(tab), 0));
  function afterResponse(tab) {
    const results = tab.getYasr() && tab.getYasr().results;
    if (results && !results.hasError()) showDownloads(tab.getQuery());
  }

  // Project IRIs in any result link to the entity pages served here, in this window.
  const observer = new MutationObserver(() => {
    document.querySelectorAll("#yasgui a.iri").forEach((a) => {
      const iri = a.getAttribute("href") || "";
      const local = localHref(iri);
      if (local && !a.dataset.local) {
        a.dataset.local = "1";
        a.dataset.iri = iri;
        a.href = local;
        a.target = "_self";
        a.removeAttribute("rel");
      }
    });
  });
  observer.observe(document.getElementById("yasgui"), { childList: true, subtree: true });

  document.querySelectorAll("button.example").forEach((button) => {
    button.addEventListener("click", () => {
      const example = config.examples.find((e) => e.name === button.dataset.name);
      document.querySelectorAll("button.example.active").forEach((b) => b.classList.remove("active"));
      button.classList.add("active");
      run(example.query, button.dataset.name.replace(/^\d+-/, ""));
    });
  });

  if (initial) {
    run(initial, "From a page");
  }
})();
