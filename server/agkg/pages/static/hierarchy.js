// The ontology page's class diagram: agkg's subclass tree laid out left to right (a column per
// level, children next to their parents) and drawn with Cytoscape.js.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("hierarchy-data").textContent);
  const container = document.getElementById("hierarchy");
  const status = document.getElementById("hierarchy-status");
  if (typeof window.cytoscape === "undefined") {
    status.textContent = "The drawing library is not installed on this server; the class list below has the same hierarchy.";
    return;
  }
  const own = data.nodes.filter((n) => n.own);
  const ids = new Set(own.map((n) => n.id));
  const parents = new Map(own.map((n) => [n.id, []]));
  const children = new Map(own.map((n) => [n.id, []]));
  for (const e of data.edges) {
    if (ids.has(e.source) && ids.has(e.target)) {
      parents.get(e.source).push(e.target);
      children.get(e.target).push(e.source);
    }
  }
  const label = new Map(own.map((n) => [n.id, n.label]));
  const byLabel = (a, b) => label.get(a).localeCompare(label.get(b));
  const depth = new Map();
  function depthOf(id) {
    if (!depth.has(id)) depth.set(id, parents.get(id).length ? 1 + Math.max(...parents.get(id).map(depthOf)) : 0);
    return depth.get(id);
  }
  own.forEach((n) => depthOf(n.id));
  // A tidy tree: leaves take consecutive rows in depth-first order, a parent sits level with the
  // middle of its children; a class with two parents hangs under the first one visited.
  const rowHeight = 26, columnWidth = 210;
  const row = new Map();
  let next = 0;
  function place(id) {
    const kids = children.get(id).filter((k) => !row.has(k)).sort(byLabel);
    const placed = [];
    for (const kid of kids) {
      if (row.has(kid)) continue;
      place(kid);
      placed.push(row.get(kid));
    }
    row.set(id, placed.length ? (Math.min(...placed) + Math.max(...placed)) / 2 : next++);
  }
  own.filter((n) => !parents.get(n.id).length).map((n) => n.id).sort(byLabel).forEach((id) => {
    if (!row.has(id)) place(id);
  });
  const tallest = next;
  const elements = own.map((node) => ({
    data: { id: node.id, label: node.label, anchor: node.anchor },
    position: { x: depth.get(node.id) * columnWidth, y: row.get(node.id) * rowHeight },
  }));
  for (const [child, list] of parents) {
    for (const parent of list) elements.push({ data: { id: `${child}>${parent}`, source: parent, target: child } });
  }
  container.style.height = `${Math.min(Math.max(tallest * rowHeight + 60, 300), 900)}px`;
  const cy = window.cytoscape({
    container,
    elements,
    minZoom: 0.3,
    maxZoom: 2,
    layout: { name: "preset", padding: 20 },
    style: [
      {
        selector: "node",
        style: {
          shape: "round-rectangle",
          label: "data(label)",
          "text-valign": "center",
          "font-size": 12,
          "font-family": "system-ui, sans-serif",
          width: (n) => 14 + 6.6 * n.data("label").length,
          height: 22,
          "background-color": "#2552a3",
          color: "#ffffff",
        },
      },
      { selector: "edge", style: { width: 1.2, "line-color": "#9aa5b8", "curve-style": "taxi", "taxi-direction": "rightward", "taxi-turn": 40 } },
    ],
  });
  cy.on("tap", "node", (event) => {
    const anchor = event.target.data("anchor");
    if (anchor) window.location.hash = anchor;
  });
  cy.on("mouseover", "node", () => { container.style.cursor = "pointer"; });
  cy.on("mouseout", "node", () => { container.style.cursor = ""; });
  container.dataset.nodes = String(cy.nodes().length);
})();
