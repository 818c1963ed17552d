// The network view: nodes and edges from two live SPARQL queries, drawn with Cytoscape.js.
(function () {
  "use strict";
  const { config, select, page, value, setStatus } = window.agkg;
  const status = document.getElementById("network-status");
  const container = document.getElementById("network");

  const NODE_COLORS = {
    person: "#e0823d",
    "armed group": "#c0392b",
    "umbrella body": "#8e44ad",
    alliance: "#16a085",
    state: "#2c3e50",
    "state force": "#2f7fc1",
    "government body": "#7f8c8d",
    organization: "#a0876a",
    sanction: "#d4a017",
    "terrorist designation": "#b8860b",
  };
  const EDGE_WORDS = { leads: "", member: "", "part of": "part of", designation: "", threat: "threatens" };
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function shortDate(text) {
    const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(text || "");
    if (!m) return "";
    return [m[3] ? String(Number(m[3])) : "", m[2] ? MONTHS[Number(m[2]) - 1] : "", m[1]].filter(Boolean).join(" ");
  }

  function designationLabel(kind, date) {
    const word = kind === "terrorist designation" ? "terrorist designation" : "sanction";
    return date ? `${word}\n${shortDate(date)}` : word;
  }

  async function draw() {
    if (typeof window.cytoscape === "undefined") {
      setStatus(status, "The drawing library is not installed on this server.", true);
      return;
    }
    const [edgeRows, nodeRows] = await Promise.all([
      select(config.queries["network-edges"]),
      select(config.queries["network-nodes"]),
    ]);
    const kinds = new Map(nodeRows.map((r) => [value(r, "node"), { kind: value(r, "kind"), name: value(r, "name") }]));
    const dates = new Map();
    const elements = [];
    const used = new Set();
    const edgeIds = new Set();
    function edge(source, target, kind, label) {
      const id = `${kind}|${source}|${target}|${label}`;
      if (edgeIds.has(id)) return;
      edgeIds.add(id);
      used.add(source);
      used.add(target);
      elements.push({ data: { id, source, target, kind, label } });
    }
    for (const row of edgeRows) {
      const kind = value(row, "kind");
      const source = value(row, "source");
      const target = value(row, "target");
      if (kind === "designation") {
        const fact = value(row, "fact");
        dates.set(fact, value(row, "date"));
        edge(source, fact, kind, "");
        edge(fact, target, kind, "");
      } else {
        edge(source, target, kind, value(row, "role") || EDGE_WORDS[kind]);
      }
    }
    for (const iri of used) {
      const info = kinds.get(iri) || { kind: "organization", name: "" };
      const isDesignation = info.kind === "sanction" || info.kind === "terrorist designation";
      const label = isDesignation ? designationLabel(info.kind, dates.get(iri)) : info.name || iri.split("/").pop();
      elements.unshift({
        data: { id: iri, label, kind: info.kind, color: NODE_COLORS[info.kind] || "#888", href: page(iri) },
        classes: isDesignation ? "designation" : info.kind === "person" ? "person" : "organization",
      });
    }

    const cy = window.cytoscape({
      container,
      elements,
      minZoom: 0.3,
      maxZoom: 2.5,
      style: [
        {
          selector: "node",
          style: {
            "background-color": "data(color)",
            label: "data(label)",
            color: "#1d2433",
            "font-size": 13,
            "font-family": "system-ui, sans-serif",
            "text-valign": "bottom",
            "text-margin-y": 4,
            "text-wrap": "wrap",
            "text-max-width": 130,
            "text-background-color": "#ffffff",
            "text-background-opacity": 0.8,
            "text-background-padding": 1,
            width: 26,
            height: 26,
            "border-width": 2,
            "border-color": "#ffffff",
          },
        },
        { selector: "node.person", style: { width: 20, height: 20 } },
        { selector: "node.designation", style: { shape: "diamond", width: 18, height: 18, "font-size": 11, color: "#7a5a00" } },
        { selector: "node[kind = 'armed group'], node[kind = 'umbrella body']", style: { width: 34, height: 34, "font-weight": "bold" } },
        {
          selector: "edge",
          style: {
            width: 1.5,
            "line-color": "#9aa5b8",
            "target-arrow-color": "#9aa5b8",
            "target-arrow-shape": "triangle",
            "arrow-scale": 0.8,
            "curve-style": "bezier",
            label: "data(label)",
            "font-size": 10,
            color: "#5d6779",
            "text-rotation": "autorotate",
            "text-background-color": "#ffffff",
            "text-background-opacity": 0.85,
            "text-background-padding": 1,
          },
        },
        { selector: "edge[kind = 'leads']", style: { width: 3, "line-color": "#1d2433", "target-arrow-color": "#1d2433", color: "#1d2433", "font-weight": "bold" } },
        { selector: "edge[kind = 'part of']", style: { "line-style": "dashed", "line-color": "#2f7fc1", "target-arrow-color": "#2f7fc1" } },
        { selector: "edge[kind = 'designation']", style: { "line-color": "#d4a017", "target-arrow-color": "#d4a017" } },
        { selector: "edge[kind = 'threat']", style: { "line-style": "dotted", width: 2, "line-color": "#c0392b", "target-arrow-color": "#c0392b", color: "#c0392b" } },
        { selector: ".faded", style: { opacity: 0.15 } },
        { selector: ".hidden", style: { display: "none" } },
        { selector: "node:active, node.hover", style: { "border-color": "#2552a3", "border-width": 3 } },
      ],
      layout: { name: "grid" },
    });
    // A deterministic start (a circle), then a force-directed layout from there.
    const box = { x1: 0, y1: 0, w: container.clientWidth || 1000, h: container.clientHeight || 600 };
    cy.layout({ name: "circle", animate: false, boundingBox: box }).run();
    cy.layout({
      name: "cose",
      boundingBox: box,
      randomize: false,
      animate: false,
      nodeRepulsion: () => 60000,
      idealEdgeLength: () => 110,
      edgeElasticity: () => 80,
      gravity: 0.25,
      numIter: 1500,
      nodeDimensionsIncludeLabels: true,
      padding: 30,
    }).run();
    cy.fit(undefined, 30);

    cy.on("tap", "node", (event) => {
      window.location.href = event.target.data("href");
    });
    cy.on("mouseover", "node", (event) => {
      const near = event.target.closedNeighborhood();
      cy.elements().not(near).addClass("faded");
      event.target.addClass("hover");
      container.style.cursor = "pointer";
    });
    cy.on("mouseout", "node", (event) => {
      cy.elements().removeClass("faded");
      event.target.removeClass("hover");
      container.style.cursor = "";
    });
    document.querySelectorAll("#legend input[data-edge]").forEach((box) => {
      box.addEventListener("change", () => {
        cy.edges(`[kind = '${box.dataset.edge}']`).toggleClass("hidden", !box.checked);
        cy.nodes(".designation").toggleClass("hidden", !document.querySelector("#legend input[data-edge='designation']").checked);
      });
    });
    const legend = document.getElementById("node-legend");
    const present = new Set(cy.nodes().map((n) => n.data("kind")));
    for (const [kind, color] of Object.entries(NODE_COLORS)) {
      if (!present.has(kind)) continue;
      const item = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "swatch" + (kind === "sanction" || kind === "terrorist designation" ? " diamond" : "");
      swatch.style.background = color;
      item.append(swatch, kind);
      item.style.marginLeft = "0.8rem";
      legend.appendChild(item);
    }
    container.dataset.nodes = String(cy.nodes().length);
    container.dataset.edges = String(cy.edges().length);
    window.agkgNetwork = cy;
    setStatus(status, `${cy.nodes().length} nodes and ${cy.edges().length} edges, from ${edgeRows.length + nodeRows.length} rows of live query results.`);
  }

  draw().catch((error) => setStatus(status, `Could not draw the network: ${error.message}`, true));
})();
