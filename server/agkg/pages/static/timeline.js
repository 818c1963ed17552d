// The timeline: dated facts from a live SPARQL query, drawn as SVG at the source's precision.
// A day is a dot, a month, a year or an interval is a bar, an upper bound ("before 2011") is
// an arrow ending at it. When most facts crowd into the last weeks, a second panel zooms in.
(function () {
  "use strict";
  const { config, select, page, value, setStatus } = window.agkg;
  const status = document.getElementById("timeline-status");
  const holder = document.getElementById("timeline");
  const tableBody = document.querySelector("#chronology tbody");
  const SVG = "http://www.w3.org/2000/svg";
  const DAY = 86400000;
  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
  const COLORS = { event: "#c0392b", designation: "#c08a00", statement: "#2f7fc1" };
  const LANES = [["event", "Events"], ["designation", "Designations"], ["statement", "Statements"]];

  function parse(text) {
    const m = /^(-?\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(text || "");
    if (!m) return null;
    const year = Number(m[1]);
    if (m[3]) {
      const day = Date.UTC(year, Number(m[2]) - 1, Number(m[3]));
      return { start: day, end: day + DAY, precision: "day", text: `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${year}` };
    }
    if (m[2]) {
      const month = Number(m[2]) - 1;
      return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1), precision: "month", text: `${MONTHS[month]} ${year}` };
    }
    return { start: Date.UTC(year, 0, 1), end: Date.UTC(year + 1, 0, 1), precision: "year", text: String(year) };
  }

  // "14–16 February 2020" rather than "14 February 2020 – 16 February 2020".
  function between(a, b) {
    const pa = a.split(" "), pb = b.split(" ");
    if (pa.length === 3 && pb.length === 3 && pa[2] === pb[2]) {
      return pa[1] === pb[1] ? `${pa[0]}–${pb[0]} ${pb[1]} ${pb[2]}` : `${pa[0]} ${pa[1]} – ${b}`;
    }
    return `${a} – ${b}`;
  }

  function item(rows) {
    const row = rows[0];
    const date = parse(value(row, "date"));
    const earliest = parse(value(row, "earliest"));
    const latest = parse(value(row, "latest"));
    const before = parse(value(row, "before"));
    const kind = value(row, "kind");
    let when;
    if (date) when = { ...date, shape: date.precision === "day" ? "dot" : "bar" };
    else if (earliest && latest) when = { start: earliest.start, end: latest.end, shape: "bar", precision: "interval", text: between(earliest.text, latest.text) };
    else if (before) when = { start: before.start - 3 * 365 * DAY, end: before.start, shape: "arrow", precision: "before", text: `before ${before.text}` };
    else return null;
    const actors = [...new Set(rows.map((r) => value(r, "actor")).filter(Boolean))];
    const targets = [...new Set(rows.map((r) => value(r, "target")).filter(Boolean))];
    let label = value(row, "label");
    if (!label && kind === "designation") {
      label = value(row, "terrorist")
        ? `${actors.join(", ")} designates ${targets.join(", ")} a terrorist`
        : `${actors.join(", ")} sanctions ${targets.join(", ")}`;
    }
    return {
      iri: value(row, "fact"),
      kind,
      label: label || value(row, "fact").split("/").pop(),
      words: value(row, "words"),
      claimedBy: value(row, "claimedBy"),
      ...when,
    };
  }

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function textWidth(svg, text) {
    const probe = el("text", { x: -9999, y: -9999, "font-size": 12 }, svg);
    probe.textContent = text;
    const width = probe.getComputedTextLength();
    probe.remove();
    return width;
  }

  function ticks(from, to, width) {
    const span = to - from;
    const out = [];
    if (span > 3 * 365 * DAY) {
      const step = span > 12 * 365 * DAY ? 2 : 1;
      for (let y = new Date(from).getUTCFullYear(); y <= new Date(to).getUTCFullYear(); y += step) {
        const t = Date.UTC(y, 0, 1);
        if (t >= from && t <= to) out.push([t, String(y)]);
      }
    } else if (span > 120 * DAY) {
      const d = new Date(from);
      for (let t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1); t <= to; ) {
        const m = new Date(t);
        if (t >= from) out.push([t, `${MONTHS[m.getUTCMonth()].slice(0, 3)} ${m.getUTCFullYear()}`]);
        t = Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1);
      }
    } else {
      const step = width / (span / DAY) < 18 ? 7 : 1;
      for (let t = from - (from % DAY); t <= to; t += DAY) {
        const d = new Date(t);
        if (t < from) continue;
        if (d.getUTCDate() === 1) out.push([t, `1 ${MONTHS[d.getUTCMonth()].slice(0, 3)}`]);
        else if (step === 7 ? d.getUTCDay() === 1 : true) out.push([t, String(d.getUTCDate())]);
      }
    }
    return out;
  }

  // One panel: an axis from `from` to `to`, three lanes, items placed in rows so labels never overlap.
  function panel(svg, top, width, from, to, items, title, labelled) {
    const left = 110, right = 20;
    const x = (t) => left + ((t - from) / (to - from)) * (width - left - right);
    const rowHeight = 22;
    el("text", { x: 8, y: top + 14, class: "panel-title" }, svg).textContent = title;
    let y = top + 28;
    const placed = [];
    for (const [kind, name] of LANES) {
      const laneItems = items.filter((i) => i.kind === kind).sort((a, b) => a.start - b.start);
      const rows = [];
      for (const it of laneItems) {
        const x1 = Math.max(x(it.start), left), x2 = Math.max(x(it.end), x1 + 2);
        const text = labelled(it) ? it.label + (it.claimedBy ? ` (${it.claimedBy}’s claim)` : "") : "";
        const w = text ? textWidth(svg, text) + 8 : 0;
        const rightSide = x2 + 6 + w <= width - right;
        const span = rightSide ? [x1 - 4, x2 + 6 + w] : [x1 - 6 - w, x2 + 4];
        let row = rows.findIndex((r) => r.every(([a, b]) => span[1] < a || span[0] > b));
        if (row < 0) { rows.push([]); row = rows.length - 1; }
        rows[row].push(span);
        placed.push({ it, x1, x2, row, rightSide, text, laneTop: y });
      }
      const laneHeight = Math.max(rows.length, 1) * rowHeight + 10;
      el("rect", { x: left - 4, y, width: width - left - right + 8, height: laneHeight, class: "lane-bg", rx: 4 }, svg);
      el("text", { x: 8, y: y + 16, class: "lane-label" }, svg).textContent = name;
      for (const p of placed.filter((p) => p.laneTop === y)) p.cy = y + 6 + p.row * rowHeight + rowHeight / 2;
      y += laneHeight + 6;
    }
    const axis = el("g", { class: "axis" }, svg);
    el("line", { x1: left, x2: width - right, y1: y, y2: y }, axis);
    let lastTick = -Infinity;
    for (const [t, label] of ticks(from, to, width - left - right)) {
      if (x(t) - lastTick < 30) continue;
      lastTick = x(t);
      el("line", { x1: x(t), x2: x(t), y1: y, y2: y + 5 }, axis);
      el("line", { x1: x(t), x2: x(t), y1: top + 28, y2: y, "stroke-dasharray": "2 4", opacity: 0.45 }, axis);
      el("text", { x: x(t), y: y + 17, "text-anchor": "middle" }, axis).textContent = label;
    }
    for (const p of placed) {
      const color = COLORS[p.it.kind];
      const link = el("a", { href: page(p.it.iri), class: "item" }, svg);
      const tip = el("title", {}, link);
      tip.textContent = `${p.it.label} — ${p.it.text}${p.it.words ? ` (“${p.it.words}”)` : ""}`;
      const dash = p.it.claimedBy ? { "stroke-dasharray": "3 2", stroke: color, "fill-opacity": 0.35 } : {};
      if (p.it.shape === "dot") {
        el("circle", { cx: (p.x1 + p.x2) / 2, cy: p.cy, r: 5.5, fill: color, ...dash }, link);
      } else if (p.it.shape === "arrow") {
        el("line", { x1: p.x1, x2: p.x2 - 6, y1: p.cy, y2: p.cy, stroke: color, "stroke-width": 3, "stroke-dasharray": "4 3" }, link);
        el("path", { d: `M${p.x2 - 8},${p.cy - 6} L${p.x2},${p.cy} L${p.x2 - 8},${p.cy + 6} Z`, fill: color }, link);
      } else {
        el("rect", { x: p.x1, y: p.cy - 5, width: Math.max(p.x2 - p.x1, 4), height: 10, rx: 3, fill: color, "fill-opacity": 0.75, ...dash }, link);
      }
      if (p.text) {
        const label = el("text", { x: p.rightSide ? p.x2 + 6 : p.x1 - 6, y: p.cy + 4, "text-anchor": p.rightSide ? "start" : "end" }, link);
        label.textContent = p.text;
      }
    }
    return { bottom: y + 30, x };
  }

  function table(items) {
    for (const it of [...items].sort((a, b) => a.start - b.start)) {
      const tr = document.createElement("tr");
      const cells = [it.text, null, it.kind, it.words ? `“${it.words}”` : "", it.claimedBy];
      cells.forEach((content, i) => {
        const td = document.createElement("td");
        if (i === 1) {
          const a = document.createElement("a");
          a.href = page(it.iri);
          a.textContent = it.label;
          td.appendChild(a);
        } else if (i === 2) {
          const chip = document.createElement("span");
          chip.className = "kind-chip";
          chip.style.background = COLORS[it.kind];
          chip.textContent = content;
          td.appendChild(chip);
        } else {
          td.textContent = content || "";
        }
        tr.appendChild(td);
      });
      tableBody.appendChild(tr);
    }
  }

  async function draw() {
    const rows = await select(config.queries.timeline);
    const byFact = new Map();
    for (const row of rows) {
      const key = value(row, "fact");
      if (!byFact.has(key)) byFact.set(key, []);
      byFact.get(key).push(row);
    }
    const items = [...byFact.values()].map(item).filter(Boolean);
    if (!items.length) {
      setStatus(status, "No dated facts in the graph yet.");
      return;
    }
    const width = Math.max(holder.clientWidth || 1000, 900);
    const svg = el("svg", { class: "timeline", width, height: 10, role: "img", "aria-label": "Timeline of dated facts" }, holder);
    const first = Math.min(...items.map((i) => i.start));
    const last = Math.max(...items.map((i) => i.end));
    const from = Date.UTC(new Date(first).getUTCFullYear(), 0, 1);
    const to = Date.UTC(new Date(last).getUTCFullYear() + 1, 0, 1);
    // Zoom on the weeks before the latest fact when they hold at least a third of the facts.
    const zoomTo = last + 2 * DAY;
    const zoomFrom = zoomTo - 50 * DAY;
    const inZoom = (i) => i.start >= zoomFrom;
    const zoomed = items.filter(inZoom);
    const useZoom = zoomed.length >= Math.max(3, items.length / 3) && to - from > 400 * DAY;
    const overview = panel(svg, 6, width, from, to, items,
      `${new Date(from).getUTCFullYear()}–${new Date(to).getUTCFullYear() - 1}`, (i) => !useZoom || !inZoom(i));
    let height = overview.bottom;
    if (useZoom) {
      el("rect", { x: overview.x(zoomFrom), y: 30, width: Math.max(overview.x(zoomTo) - overview.x(zoomFrom), 6), height: overview.bottom - 60, class: "zoom-band" }, svg);
      const start = new Date(zoomFrom), end = new Date(zoomTo);
      const detail = panel(svg, height + 10, width, zoomFrom, zoomTo, zoomed,
        `Detail: ${start.getUTCDate()} ${MONTHS[start.getUTCMonth()]} – ${end.getUTCDate()} ${MONTHS[end.getUTCMonth()]} ${end.getUTCFullYear()}`, () => true);
      height = detail.bottom;
    }
    svg.setAttribute("height", height);
    holder.dataset.items = String(items.length);
    table(items);
    setStatus(status, `${items.length} dated facts from ${rows.length} rows of live query results.`);
  }

  draw().catch((error) => setStatus(status, `Could not draw the timeline: ${error.message}`, true));
})();
