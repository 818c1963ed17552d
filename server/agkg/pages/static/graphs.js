// Shared by the network and timeline pictures: run a SPARQL SELECT on this server's endpoint
// and map project IRIs to the pages that describe them.
window.agkg = (function () {
  "use strict";
  const config = JSON.parse(document.getElementById("picture-config").textContent);
  const root = new URL(config.root, window.location.href).href;

  async function select(query) {
    const response = await fetch(new URL(config.endpoint, window.location.href), {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/sparql-results+json" },
      body: new URLSearchParams({ query: query }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`the endpoint answered ${response.status}: ${text}`);
    const data = JSON.parse(text);
    return data.results.bindings.map((row) => {
      const out = {};
      for (const [name, term] of Object.entries(row)) out[name] = term;
      return out;
    });
  }

  function page(iri) {
    return iri.startsWith(config.iriBase) ? root + iri.slice(config.iriBase.length) : iri;
  }

  function value(row, name) {
    return row[name] ? row[name].value : "";
  }

  function setStatus(element, message, isError) {
    element.textContent = message;
    element.classList.toggle("error", Boolean(isError));
  }

  return { config, select, page, value, setStatus };
})();
