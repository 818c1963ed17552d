// The ontology page's class diagram: subclass edges drawn top-down with Cytoscape.js.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("hierarchy-data").textContent);
  const container = document.getElementById("hierarchy");
  const status = document.getElementById("hierarchy-status");
  if (typeof window.cytoscape === "undefined") {
    status.textContent = "The drawing library is not installed on this server; the class list below has the same hierarchy.";
    return;
  }
  const elements = data.nodes.map((n) => ({ data: { id: n.id, label: n.label, anchor: n.anchor }, classes: n.own ? "own" : "external" }));
  for (const e of data.edges) elements.push({ data: { id: `${e.source}>${e.target}`, source: e.target, target: e.source } });
  const cy = window.cytoscape({
    container,
    elements,
    minZoom: 0.2,
    maxZoom: 2,
    style: [
      {
        selector: "node",
        style: {
          shape: "round-rectangle",
          label: "data(label)",
          "text-valign": "center",
          "font-size": 12,
          "font-family": "system-ui, sans-serif",
          width: "label",
          height: 24,
          "padding-left": 8,
          "padding-right": 8,
        },
      },
      { selector: "node.own", style: { "background-color": "#2552a3", color: "#ffffff" } },
      { selector: "node.external", style: { "background-color": "#e8eefb", color: "#2552a3", "border-width": 1, "border-color": "#b7c6ea" } },
      { selector: "edge", style: { width: 1.2, "line-color": "#9aa5b8", "target-arrow-shape": "none", "source-arrow-shape": "triangle", "source-arrow-color": "#9aa5b8", "curve-style": "taxi", "taxi-direction": "downward" } },
    ],
    layout: { name: "breadthfirst", directed: true, spacingFactor: 1.05, padding: 20, avoidOverlap: true },
  });
  cy.on("tap", "node", (event) => {
    const anchor = event.target.data("anchor");
    if (anchor) window.location.hash = anchor;
  });
  container.dataset.nodes = String(cy.nodes().length);
})();
