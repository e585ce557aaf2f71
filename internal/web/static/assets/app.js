// Panoptes status page: plain JavaScript, no library, no request to another
// origin. Every view is a function that fetches /api/v1/... and builds DOM
// nodes (never HTML strings: device names come from inventories).
"use strict";

const REFRESH_MS = 15000;
const view = document.getElementById("view");
let timer = null;
let generation = 0; // a render started for an older route is dropped

// h builds an element: h("td", {class: "x", title: "y"}, child, "text", ...).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

async function api(path) {
  const resp = await fetch("api/v1/" + path, { headers: { Accept: "application/json" } });
  let body = null;
  try { body = await resp.json(); } catch (e) { body = null; }
  if (!resp.ok) throw new Error((body && body.error) || (resp.status + " " + resp.statusText));
  return body;
}

// ---- formatting ----

function fmtNum(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (digits === undefined) digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return Number(v).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function fmtDuration(sec) {
  if (sec === null || sec === undefined) return "–";
  const a = Math.abs(sec);
  if (a < 0.001) return (sec * 1e6).toFixed(0) + " µs";
  if (a < 1) return (sec * 1000).toFixed(a < 0.01 ? 1 : 0) + " ms";
  if (a < 120) return sec.toFixed(a < 10 ? 1 : 0) + " s";
  if (a < 7200) return (sec / 60).toFixed(0) + " min";
  if (a < 172800) return (sec / 3600).toFixed(1) + " h";
  return (sec / 86400).toFixed(1) + " d";
}

function fmtAgo(iso) {
  if (!iso) return "–";
  const t = typeof iso === "number" ? iso : Date.parse(iso);
  const d = (Date.now() - t) / 1000;
  if (Math.abs(d) < 1) return "now";
  return d > 0 ? fmtDuration(d) + " ago" : "in " + fmtDuration(-d);
}

function fmtTime(iso) {
  if (!iso) return "";
  const t = typeof iso === "number" ? new Date(iso) : new Date(iso);
  return t.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

function fmtBits(v) {
  if (v === null || v === undefined) return "–";
  const units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"];
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return fmtNum(v, v >= 100 ? 0 : 1) + " " + units[i];
}

function fmtBytes(v) {
  if (v === null || v === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return fmtNum(v, 1) + " " + units[i];
}

function statusClass(name) {
  if (name === "success" || name === "ok") return "ok";
  if (name === "unknown") return "unknown";
  if (name === "timeout" || name === "partial_metric_failure" || name === "enrichment_failure" || name === "missing_metrics") return "warn";
  return "bad";
}

function badge(name, text) {
  return h("span", { class: "badge " + statusClass(name), dataset: { status: name } }, text || (name === "success" ? "ok" : name.replace(/_/g, " ")));
}

// reasonText is a failure's reason unless it only repeats the status.
function reasonText(reason, statusName) {
  return reason && reason !== statusName ? reason : "";
}

function deviceLink(key, label) {
  return h("a", { href: "#/device/" + encodeURIComponent(key), class: "device-link" }, label);
}

// ---- charts (hand-written SVG) ----

function lineChart(title, points, fmt) {
  const W = 320, H = 110, L = 44, R = 8, T = 18, B = 20;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": title });
  svg.append(s("text", { x: L, y: 12, class: "chart-title" }, title));
  if (!points || points.length === 0) {
    svg.append(s("text", { x: W / 2, y: H / 2 + 6, class: "chart-empty", "text-anchor": "middle" }, "no samples yet"));
    return svg;
  }
  const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
  let vmax = Math.max(...points.map(p => p.v));
  if (!(vmax > 0)) vmax = 1;
  const x = t => L + (W - L - R) * (t - t0) / (t1 - t0);
  const y = v => T + (H - T - B) * (1 - v / vmax);
  svg.append(s("line", { x1: L, y1: y(0), x2: W - R, y2: y(0), class: "axis" }));
  svg.append(s("line", { x1: L, y1: y(vmax), x2: W - R, y2: y(vmax), class: "grid" }));
  svg.append(s("text", { x: L - 4, y: y(vmax) + 4, class: "tick", "text-anchor": "end" }, fmt(vmax)));
  svg.append(s("text", { x: L - 4, y: y(0) + 4, class: "tick", "text-anchor": "end" }, fmt(0)));
  svg.append(s("text", { x: L, y: H - 4, class: "tick" }, fmtAgo(t0)));
  svg.append(s("text", { x: W - R, y: H - 4, class: "tick", "text-anchor": "end" }, "now"));
  const d = points.map((p, i) => (i ? "L" : "M") + x(p.t).toFixed(1) + " " + y(p.v).toFixed(1)).join(" ");
  const area = d + ` L${x(points[points.length - 1].t).toFixed(1)} ${y(0)} L${x(t0).toFixed(1)} ${y(0)} Z`;
  svg.append(s("path", { d: area, class: "area" }));
  svg.append(s("path", { d, class: "line" }));
  const last = points[points.length - 1];
  svg.append(s("circle", { cx: x(last.t), cy: y(last.v), r: 2.5, class: "dot" }, s("title", {}, fmt(last.v))));
  return svg;
}

// statusStrip draws a check's history: one cell per run (per 10 s of runs
// for checks more frequent than that), oldest left.
function statusStrip(history) {
  const n = history.length, cw = 8, W = Math.max(n * cw, cw);
  const svg = s("svg", { viewBox: `0 0 ${W} 14`, width: W, height: 14, class: "strip", role: "img", "aria-label": "status history" });
  history.forEach((p, i) => {
    const runs = p.runs > 1 ? ` (${p.runs} runs, ${p.failed} failed)` : "";
    svg.append(s("rect", { x: i * cw, y: 0, width: cw - 1, height: 14, class: "cell " + (p.status === 0 ? "ok" : "bad") },
      s("title", {}, fmtTime(p.end) + ": " + (p.status === 0 ? "ok" : "status " + p.status) + " in " + fmtDuration(p.duration_seconds) + runs)));
  });
  return svg;
}

// ---- router ----

const routes = [
  [/^\/?$/, "overview", renderOverview],
  [/^\/devices$/, "devices", renderDevices],
  [/^\/device\/(.+)$/, "devices", renderDevice],
  [/^\/cluster$/, "cluster", renderCluster],
  [/^\/topology$/, "topology", renderTopology],
  [/^\/events$/, "events", renderEvents],
];

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query] = raw.split("?");
  return { path, params: new URLSearchParams(query || "") };
}

function setParams(path, params) {
  const q = params.toString();
  const next = "#" + path + (q ? "?" + q : "");
  if (location.hash !== next) location.hash = next;
  else route();
}

async function route() {
  clearTimeout(timer);
  const gen = ++generation;
  const { path, params } = parseHash();
  for (const [re, name, fn] of routes) {
    const m = path.match(re);
    if (!m) continue;
    for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === name);
    await refresh(gen, fn, m, params, true);
    return;
  }
  show(gen, h("div", { class: "error" }, "No such page: " + path));
}

async function refresh(gen, fn, m, params, first) {
  if (gen !== generation) return;
  let content;
  try {
    content = await fn(m, params);
  } catch (e) {
    content = h("div", { class: "error" }, "Could not load this view: " + e.message);
  }
  if (gen !== generation) return;
  // Keep the focus in an input across refreshes.
  const focused = document.activeElement && document.activeElement.id;
  if (first || !view.querySelector("input:focus, select:focus")) show(gen, content);
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
  timer = setTimeout(() => refresh(gen, fn, m, params, false), REFRESH_MS);
}

function show(gen, content) {
  if (gen !== generation) return;
  view.replaceChildren(content);
  view.dataset.ready = String(gen);
  document.getElementById("clock").textContent = "updated " + new Date().toLocaleTimeString("en-GB");
}

function peersNote(peers) {
  if (!peers || peers.complete) return null;
  const parts = [];
  if (peers.missing && peers.missing.length) parts.push("no answer from " + peers.missing.join(", ") + " (their devices show as unknown)");
  if (peers.errors && peers.errors.length) parts.push(peers.errors.join("; "));
  return h("div", { class: "warning" }, parts.join(". "));
}

function card(label, value, sub, cls) {
  return h("div", { class: "card " + (cls || "") }, h("div", { class: "card-label" }, label), h("div", { class: "card-value" }, value), sub ? h("div", { class: "card-sub" }, sub) : null);
}

function table(headers, rows, attrs) {
  return h("table", attrs || {}, h("thead", {}, h("tr", {}, headers.map(x => h("th", {}, x)))), h("tbody", {}, rows));
}

// ---- overview ----

async function renderOverview() {
  const o = await api("overview");
  const by = o.by_status || {};
  const ok = by.success || 0, unknown = by.unknown || 0;
  const failing = o.devices - ok - unknown;
  const now = o.now || {};
  const cards = h("div", { class: "cards" },
    card("Devices", fmtNum(o.devices, 0), (o.sites || []).length + " site(s)"),
    card("Polling OK", fmtNum(ok, 0), null, "ok"),
    card("Failing", fmtNum(failing, 0), null, failing ? "bad" : ""),
    card("Unknown", fmtNum(unknown, 0), "not polled yet or owner silent", unknown ? "unknown" : ""),
    card("Checks/s", fmtNum(now.checks_per_second), fmtNum(now.failures_per_second) + " failing/s"),
    card("Lateness p99", fmtDuration(now.lateness_p99_seconds || 0), "start minus due time"),
    card("Bus buffered", fmtNum(now.bus_buffered_messages || 0, 0), fmtNum(now.groups_published_per_second) + " groups/s published"),
    card("Sink lag", fmtNum(now.sink_pending_messages || 0, 0), "messages not yet delivered"));
  const statusRows = Object.keys(by).sort().map(k => h("tr", { dataset: { status: k } }, h("td", {}, badge(k)), h("td", { class: "num" }, fmtNum(by[k], 0))));
  const series = o.series || {};
  const charts = h("div", { class: "charts" },
    lineChart("Checks per second", series.checks_per_second, v => fmtNum(v)),
    lineChart("Failures per second", series.failures_per_second, v => fmtNum(v)),
    lineChart("Lateness p99", series.lateness_p99_seconds, v => fmtDuration(v)),
    lineChart("Groups published per second", series.groups_published_per_second, v => fmtNum(v)),
    lineChart("Bus buffered messages", series.bus_buffered_messages, v => fmtNum(v, 0)),
    lineChart("Sink lag (messages)", series.sink_pending_messages, v => fmtNum(v, 0)));
  const sites = table(["Site", "Devices", "OK", "Failing", "Unknown", "Nodes", "Pollers", "Leader", "Checks"],
    (o.sites || []).map(x => h("tr", { dataset: { site: x.site } },
      h("td", {}, h("a", { href: "#/devices?filter=" + encodeURIComponent(`resource_site = "${x.site}"`) }, x.site)),
      h("td", { class: "num" }, x.devices), h("td", { class: "num" }, x.ok), h("td", { class: "num" + (x.failing ? " bad-text" : "") }, x.failing),
      h("td", { class: "num" }, x.unknown), h("td", { class: "num" }, x.nodes), h("td", { class: "num" }, x.pollers),
      h("td", {}, x.leader || "–"), h("td", { class: "num" }, x.checks_scheduled))));
  const plugins = table(["Plugin", "Checks (window)", "Failures", "By status"],
    (o.plugins || []).map(p => h("tr", {},
      h("td", {}, p.plugin), h("td", { class: "num" }, fmtNum(p.checks, 0)),
      h("td", { class: "num" + (p.failures ? " bad-text" : "") }, fmtNum(p.failures, 0)),
      h("td", {}, Object.keys(p.by_status).sort().map(k => h("span", { class: "pair" }, badge(k), " " + fmtNum(p.by_status[k], 0)))))));
  const failingRows = (o.failing || []).map(d => h("tr", { dataset: { key: d.key, status: d.status_name } },
    h("td", {}, deviceLink(d.key, d.resource_id)), h("td", {}, d.resource_site), h("td", {}, badge(d.status_name)),
    h("td", {}, d.failing_plugin || ""), h("td", {}, reasonText(d.reason, d.status_name)), h("td", { title: fmtTime(d.last_poll) }, fmtAgo(d.last_poll))));
  return h("section", { id: "overview" },
    h("h1", {}, "Overview"), peersNote(o.peers), cards,
    h("div", { class: "split" },
      h("div", {}, h("h2", {}, "Devices by polling status"), table(["Status", "Devices"], statusRows, { id: "by-status" })),
      h("div", {}, h("h2", {}, "Sites"), sites)),
    h("h2", {}, "The last hour"), charts,
    h("h2", {}, "Checks per plugin"), plugins,
    h("h2", {}, "Failing devices"),
    failingRows.length ? table(["Device", "Site", "Status", "Plugin", "Reason", "Last poll"], failingRows, { id: "failing" }) : h("p", { class: "muted" }, "None."));
}

// ---- devices ----

const deviceColumns = [
  ["id", "Device"], ["site", "Site"], ["type", "Type"], ["endpoint", "Endpoint"], ["owner", "Owner"],
  ["status", "Status"], [null, "Reason"], ["last_poll", "Last poll"], ["next_due", "Next due"],
];

async function renderDevices(m, params) {
  const q = new URLSearchParams();
  for (const k of ["q", "filter", "status", "sort", "order", "offset", "limit"]) if (params.get(k)) q.set(k, params.get(k));
  const list = await api("devices?" + q.toString());
  const sort = list.sort, order = list.order;
  const go = changes => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) { if (v === "" || v === null) p.delete(k); else p.set(k, v); }
    setParams("/devices", p);
  };
  const search = h("input", { id: "device-search", type: "search", placeholder: "Search id, endpoint, type, metadata", value: params.get("q") || "" });
  const filter = h("input", { id: "device-filter", type: "text", class: "wide", placeholder: 'Filter: resource_type = "cisco" AND resource_metadata.model LIKE "%3750%"', value: params.get("filter") || "" });
  const status = h("select", { id: "device-status" },
    ["", "ok", "failing", "unknown", "timeout", "network_failure", "authentication_failure"].map(v =>
      h("option", { value: v, selected: (params.get("status") || "") === v }, v === "" ? "any status" : v.replace(/_/g, " "))));
  const apply = ev => { ev.preventDefault(); go({ q: search.value.trim(), filter: filter.value.trim(), status: status.value, offset: "" }); };
  const form = h("form", { class: "toolbar", onsubmit: apply }, search, filter, status, h("button", { type: "submit" }, "Apply"));
  status.addEventListener("change", apply);
  const head = h("tr", {}, deviceColumns.map(([key, label]) => {
    if (!key) return h("th", {}, label);
    const active = key === sort;
    const next = active && order === "asc" ? "desc" : "asc";
    return h("th", { class: "sortable" + (active ? " active" : ""), "aria-sort": active ? (order === "asc" ? "ascending" : "descending") : null },
      h("a", { href: "#", onclick: ev => { ev.preventDefault(); go({ sort: key, order: next, offset: "" }); } }, label, active ? (order === "asc" ? " ▲" : " ▼") : ""));
  }));
  const rows = list.devices.map(d => h("tr", { dataset: { key: d.key, status: d.status_name } },
    h("td", {}, deviceLink(d.key, d.resource_id)), h("td", {}, d.resource_site), h("td", {}, d.resource_type),
    h("td", { class: "mono" }, d.resource_endpoint), h("td", {}, d.owner || h("span", { class: "muted" }, "no poller")),
    h("td", {}, badge(d.status_name)), h("td", { class: "reason" }, d.failing_plugin ? d.failing_plugin + (reasonText(d.reason, d.status_name) ? ": " + d.reason : "") : ""),
    h("td", { title: fmtTime(d.last_poll) }, fmtAgo(d.last_poll)), h("td", { title: fmtTime(d.next_due) }, fmtAgo(d.next_due))));
  const pages = Math.max(1, Math.ceil(list.total / list.limit));
  const pageNo = Math.floor(list.offset / list.limit) + 1;
  const pager = h("div", { class: "pager" },
    h("button", { type: "button", id: "prev-page", disabled: list.offset === 0, onclick: () => go({ offset: String(Math.max(0, list.offset - list.limit)) }) }, "‹ Previous"),
    h("span", { id: "page-info" }, `Page ${pageNo} of ${pages} · ${list.total} device(s)`),
    h("button", { type: "button", id: "next-page", disabled: list.offset + list.limit >= list.total, onclick: () => go({ offset: String(list.offset + list.limit) }) }, "Next ›"),
    h("select", { id: "page-size", onchange: ev => go({ limit: ev.target.value, offset: "" }) },
      [25, 50, 100, 250].map(n => h("option", { value: n, selected: n === list.limit }, n + " per page"))));
  const counts = list.counts ? h("p", { class: "counts" }, Object.keys(list.counts).sort().map(k => h("span", { class: "pair" }, badge(k), " " + list.counts[k]))) : null;
  return h("section", { id: "devices" },
    h("h1", {}, "Devices"), peersNote(list.peers), form, counts,
    h("table", { id: "device-table", class: "devices" }, h("thead", {}, head), h("tbody", {}, rows)), pager);
}

// ---- one device ----

const ADMIN = { 1: "up", 2: "down", 3: "testing" };
const OPER = { 1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "not present", 7: "lower layer down" };
const BGP = { 1: "idle", 2: "connect", 3: "active", 4: "opensent", 5: "openconfirm", 6: "established" };

function metricOf(g, name) { return g.metrics[name] === undefined ? null : g.metrics[name]; }

function interfacesTable(groups) {
  const rows = groups.map(g => {
    const d = g.dimensions, oper = metricOf(g, "oper_state"), admin = metricOf(g, "admin_state");
    const speed = metricOf(g, "configured_speed");
    const operName = OPER[oper] || (oper === null ? "–" : String(oper));
    return h("tr", { dataset: { interface: d.interface_name || "" } },
      h("td", { class: "mono" }, d.interface_name || "–"), h("td", {}, d.alias || d.description || ""),
      h("td", {}, ADMIN[admin] || "–"), h("td", {}, h("span", { class: "badge " + (oper === 1 ? "ok" : admin === 2 ? "unknown" : "bad") }, operName)),
      h("td", { class: "num" }, speed ? fmtBits(speed) : (d.port_speed || "–")),
      h("td", { class: "num" }, fmtBits(metricOf(g, "bits_in_rate"))), h("td", { class: "num" }, fmtBits(metricOf(g, "bits_out_rate"))),
      h("td", { class: "num" }, fmtNum(metricOf(g, "errors_in"), 0) + " / " + fmtNum(metricOf(g, "errors_out"), 0)),
      h("td", { class: "num" }, fmtNum(metricOf(g, "discards_in"), 0) + " / " + fmtNum(metricOf(g, "discards_out"), 0)),
      h("td", { class: "num" }, fmtNum(metricOf(g, "mtu"), 0)));
  });
  return table(["Interface", "Alias", "Admin", "Oper", "Speed", "In", "Out", "Errors in/out", "Discards in/out", "MTU"], rows, { id: "interfaces" });
}

function bgpTable(groups) {
  return table(["Peer", "Remote AS", "State", "Established for", "Prefixes in/out", "Updates in/out"], groups.map(g => {
    const st = metricOf(g, "peer_state");
    return h("tr", {}, h("td", { class: "mono" }, g.dimensions.peer_address || "–"), h("td", {}, g.dimensions.remote_as || "–"),
      h("td", {}, h("span", { class: "badge " + (st === 6 ? "ok" : "bad") }, BGP[st] || String(st))),
      h("td", {}, fmtDuration(metricOf(g, "established_time"))),
      h("td", { class: "num" }, fmtNum(metricOf(g, "prefixes_accepted"), 0) + " / " + fmtNum(metricOf(g, "prefixes_advertised"), 0)),
      h("td", { class: "num" }, fmtNum(metricOf(g, "updates_in"), 0) + " / " + fmtNum(metricOf(g, "updates_out"), 0)));
  }), { id: "bgp" });
}

function neighborsTable(groups) {
  return table(["Local port", "Neighbour", "Port", "Address", "Protocol"], groups.filter(g => metricOf(g, "neighbor_present") !== 0).map(g => {
    const d = g.dimensions;
    return h("tr", {}, h("td", { class: "mono" }, d.local_interface || "–"), h("td", {}, d.neighbor_name || d.neighbor_chassis_id || "–"),
      h("td", { class: "mono" }, d.neighbor_port || "–"), h("td", { class: "mono" }, d.neighbor_address || ""), h("td", {}, d.neighbor_protocol || ""));
  }), { id: "neighbors" });
}

function genericTable(type, groups) {
  const dims = [...new Set(groups.flatMap(g => Object.keys(g.dimensions)))].sort();
  const mets = [...new Set(groups.flatMap(g => Object.keys(g.metrics)))].sort();
  return table([...dims, ...mets], groups.map(g => h("tr", {},
    dims.map(k => h("td", {}, g.dimensions[k] || "")),
    mets.map(k => h("td", { class: "num" }, formatMetric(k, g.metrics[k]))))), { class: "group-" + type });
}

function formatMetric(name, v) {
  if (v === undefined || v === null) return "";
  if (name.endsWith("_seconds") || name === "uptime_seconds") return fmtDuration(v);
  if (name.startsWith("memory_") && !name.endsWith("utilization")) return fmtBytes(v);
  if (name.endsWith("_rate") && name.startsWith("bits")) return fmtBits(v);
  return fmtNum(v);
}

async function renderDevice(m) {
  const key = decodeURIComponent(m[1]);
  const d = await api("devices/" + encodeURIComponent(key));
  const r = d.resource;
  const meta = Object.keys(r.resource_metadata || {}).sort().map(k => h("span", { class: "pair mono" }, k + "=" + r.resource_metadata[k]));
  const checks = table(["Plugin", "Node", "Status", "Reason", "Last poll", "Took", "Next due", "History (oldest left)"], d.checks.map(c =>
    h("tr", { dataset: { plugin: c.plugin, status: c.status_name } },
      h("td", {}, c.plugin), h("td", {}, c.node), h("td", {}, badge(c.status_name)), h("td", { class: "reason" }, reasonText(c.reason, c.status_name)),
      h("td", { title: fmtTime(c.end) }, fmtAgo(c.end)), h("td", {}, fmtDuration((Date.parse(c.end) - Date.parse(c.start)) / 1000)),
      h("td", { title: fmtTime(c.next_due) }, fmtAgo(c.next_due)), h("td", {}, statusStrip(c.history)))), { id: "checks" });
  const groups = d.groups || {};
  const sections = [];
  if (groups.interface) sections.push(h("h2", {}, "Interfaces (" + groups.interface.length + ")"), interfacesTable(groups.interface));
  const health = ["system", "cpu", "memory", "environment", "load", "ping", "heartbeat"].filter(t => groups[t]);
  if (health.length) sections.push(h("h2", {}, "Health"), health.map(t => h("div", { class: "group" }, h("h3", {}, t), genericTable(t, groups[t]))));
  if (groups.bgp_session) sections.push(h("h2", {}, "BGP sessions"), bgpTable(groups.bgp_session));
  if (groups.neighbor) sections.push(h("h2", {}, "Neighbours"), neighborsTable(groups.neighbor));
  const shown = new Set(["interface", "bgp_session", "neighbor", ...health]);
  for (const t of Object.keys(groups).sort()) if (!shown.has(t)) sections.push(h("h2", {}, t), genericTable(t, groups[t]));
  if (!Object.keys(groups).length) sections.push(h("p", { class: "muted" }, "No groups to show: the owner has not polled it yet, or its last messages are no longer on the bus."));
  return h("section", { id: "device", dataset: { key: d.key, status: d.status_name } },
    h("p", { class: "crumbs" }, h("a", { href: "#/devices" }, "Devices"), " / ", r.resource_site),
    h("h1", {}, r.resource_id, " ", badge(d.status_name)),
    peersNote(d.peers),
    h("dl", { class: "facts" },
      h("dt", {}, "Site"), h("dd", {}, r.resource_site), h("dt", {}, "Class"), h("dd", {}, r.resource_class + " / " + r.resource_subclass),
      h("dt", {}, "Type"), h("dd", {}, r.resource_type), h("dt", {}, "Endpoint"), h("dd", { class: "mono" }, r.resource_endpoint),
      h("dt", {}, "Owner"), h("dd", {}, d.owner || "no live poller in its site"), h("dt", {}, "Metadata"), h("dd", {}, meta.length ? meta : "–")),
    h("h2", {}, "Checks"), d.checks.length ? checks : h("p", { class: "muted" }, "No node has run a check of this device yet."),
    (d.groups_errors || []).map(e => h("div", { class: "warning" }, e)),
    sections);
}

// ---- cluster ----

async function renderCluster() {
  const c = await api("cluster");
  const sites = table(["Site", "Leader", "Leader since", "Members", "Pollers", "Devices", "Without a poller"], c.sites.map(x =>
    h("tr", { dataset: { site: x.site } }, h("td", {}, x.site), h("td", {}, x.leader || "–"), h("td", { title: fmtTime(x.leader_since) }, fmtAgo(x.leader_since)),
      h("td", { class: "num" }, x.members), h("td", { class: "num" }, x.pollers), h("td", { class: "num" }, x.devices),
      h("td", { class: "num" + (x.unowned ? " bad-text" : "") }, x.unowned))), { id: "sites" });
  const members = table(["Node", "Site", "Roles", "Version", "Heartbeat", "Leader", "State", "Owns", "Checks", "Ownership changes"], c.members.map(x =>
    h("tr", { dataset: { node: x.id } },
      h("td", {}, x.id, x.self ? h("span", { class: "tag" }, "this node") : null), h("td", {}, x.site),
      h("td", { class: "roles" }, (x.roles || []).join(", ")), h("td", { class: "mono" }, x.version || "–"),
      h("td", {}, x.heartbeat_age_seconds ? fmtDuration(x.heartbeat_age_seconds) + " ago" : "–"),
      h("td", {}, x.leader ? h("span", { class: "badge ok" }, "leader") : ""),
      h("td", {}, x.draining ? h("span", { class: "badge warn" }, "handing over")
        : x.join_at ? h("span", { class: "badge warn" }, "joining") : h("span", { class: "badge ok" }, "active")),
      h("td", { class: "num" }, x.owns), h("td", { class: "num" }, x.answered ? fmtNum(x.checks_scheduled, 0) : "–"),
      h("td", { class: "num" }, x.answered ? fmtNum(x.ownership_changes, 0) : "–"))), { id: "members" });
  const handovers = c.handovers.length ? table(["Node", "Site", "Handover", "At"], c.handovers.map(x =>
    h("tr", {}, h("td", {}, x.id), h("td", {}, x.site), h("td", {}, x.draining ? "hands its devices over" : "takes its share"),
      h("td", { title: fmtTime(x.drain_at || x.join_at) }, fmtAgo(x.drain_at || x.join_at)))))
    : h("p", { class: "muted" }, "No node is handing its devices over.");
  return h("section", { id: "cluster" }, h("h1", {}, "Cluster"), peersNote(c.peers),
    h("h2", {}, "Sites"), sites, h("h2", {}, "Members"), members, h("h2", {}, "Handovers"), handovers);
}

// ---- topology ----

async function renderTopology(m, params) {
  const g = await api("topology" + (params.get("site") ? "?site=" + encodeURIComponent(params.get("site")) : ""));
  if (g.available === false) return h("section", { id: "topology" }, h("h1", {}, "Topology"), h("p", { class: "muted" }, g.note || "The topology app does not run."));
  const devices = g.devices || [], links = g.links || [];
  const id = (site, rid) => site + "\u0000" + rid;
  const nodes = new Map();
  for (const d of devices) nodes.set(id(d.site, d.resource_id), { site: d.site, rid: d.resource_id, x: 0, y: 0, vx: 0, vy: 0, deg: 0 });
  const edges = [];
  for (const l of links) {
    const a = nodes.get(id(l.a.site, l.a.resource_id)), b = nodes.get(id(l.b.site, l.b.resource_id));
    if (a && b) { edges.push({ a, b, l }); a.deg++; b.deg++; }
  }
  layout([...nodes.values()], edges);
  const W = 900, H = 560, padX = 70, padY = 30; // room for the labels
  const all = [...nodes.values()];
  const xs = all.map(n => n.x), ys = all.map(n => n.y);
  const x0 = Math.min(...xs, 0), x1 = Math.max(...xs, 1), y0 = Math.min(...ys, 0), y1 = Math.max(...ys, 1);
  const sx = v => padX + (W - 2 * padX) * (v - x0) / Math.max(x1 - x0, 1e-9);
  const sy = v => padY + 12 + (H - 2 * padY - 12) * (v - y0) / Math.max(y1 - y0, 1e-9);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "topology", role: "img", "aria-label": "link graph" });
  for (const e of edges) {
    svg.append(s("line", { x1: sx(e.a.x), y1: sy(e.a.y), x2: sx(e.b.x), y2: sy(e.b.y), class: "link" + (e.l.a_view && e.l.b_view ? "" : " one-sided") },
      s("title", {}, `${e.l.a.resource_id} ${e.l.a.port} — ${e.l.b.resource_id} ${e.l.b.port}`)));
  }
  for (const n of all) {
    const open = () => openDevice(n.site, n.rid);
    svg.append(s("g", { class: "node", transform: `translate(${sx(n.x).toFixed(1)},${sy(n.y).toFixed(1)})`, onclick: open, tabindex: 0, "data-device": n.rid },
      s("circle", { r: 6 + Math.min(n.deg, 8) }), s("text", { y: -10 - Math.min(n.deg, 8), "text-anchor": "middle" }, n.rid),
      s("title", {}, n.site + " / " + n.rid + " — " + n.deg + " link(s); click for the device")));
  }
  const candidates = (g.candidates || []).length ? h("p", { class: "muted" }, (g.candidates || []).length + " neighbour(s) not in the inventory (discovery candidates).") : null;
  const linkRows = links.slice(0, 500).map(l => h("tr", {},
    h("td", {}, h("a", { href: "#", onclick: ev => { ev.preventDefault(); openDevice(l.a.site, l.a.resource_id); } }, l.a.resource_id)), h("td", { class: "mono" }, l.a.port),
    h("td", {}, h("a", { href: "#", onclick: ev => { ev.preventDefault(); openDevice(l.b.site, l.b.resource_id); } }, l.b.resource_id)), h("td", { class: "mono" }, l.b.port),
    h("td", { title: fmtTime((l.last_seen || 0) * 1000) }, fmtAgo((l.last_seen || 0) * 1000))));
  return h("section", { id: "topology" }, h("h1", {}, "Topology"),
    h("p", {}, `${devices.length} device(s), ${links.length} link(s). Click a device to open it.`), svg, candidates,
    h("h2", {}, "Links"), table(["Device", "Port", "Device", "Port", "Last seen"], linkRows, { id: "links" }));
}

// layout places nodes with a few hundred steps of a force simulation:
// links pull, every pair pushes; deterministic (nodes start on a circle).
function layout(nodes, edges) {
  const n = nodes.length;
  nodes.forEach((p, i) => { const a = 2 * Math.PI * i / Math.max(n, 1); p.x = Math.cos(a) * 100; p.y = Math.sin(a) * 100; });
  if (n > 400) return; // a circle is all a page can afford beyond that
  const k = 60;
  for (let it = 0; it < 300; it++) {
    const temp = 10 * (1 - it / 300) + 0.5;
    for (const p of nodes) { p.vx = 0; p.vy = 0; }
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
      const a = nodes[i], b = nodes[j];
      let dx = a.x - b.x, dy = a.y - b.y, d2 = dx * dx + dy * dy + 0.01;
      const f = k * k / d2;
      a.vx += dx * f; a.vy += dy * f; b.vx -= dx * f; b.vy -= dy * f;
    }
    for (const e of edges) {
      const dx = e.a.x - e.b.x, dy = e.a.y - e.b.y, d = Math.sqrt(dx * dx + dy * dy) + 0.01;
      const f = d / k;
      e.a.vx -= dx * f; e.a.vy -= dy * f; e.b.vx += dx * f; e.b.vy += dy * f;
    }
    for (const p of nodes) {
      const v = Math.sqrt(p.vx * p.vx + p.vy * p.vy) + 1e-9;
      p.x += p.vx / v * Math.min(v, temp); p.y += p.vy / v * Math.min(v, temp);
    }
  }
}

// openDevice finds a device's key by site and id and opens its page.
async function openDevice(site, rid) {
  const f = `resource_site = "${site.replace(/"/g, '\\"')}" AND resource_id = "${rid.replace(/"/g, '\\"')}"`;
  try {
    const list = await api("devices?limit=1&filter=" + encodeURIComponent(f));
    if (list.devices.length) location.hash = "#/device/" + encodeURIComponent(list.devices[0].key);
    else location.hash = "#/devices?q=" + encodeURIComponent(rid);
  } catch (e) {
    location.hash = "#/devices?q=" + encodeURIComponent(rid);
  }
}

// ---- events ----

async function renderEvents(m, params) {
  const q = new URLSearchParams();
  for (const k of ["kind", "status", "q", "since", "site", "resource"]) if (params.get(k)) q.set(k, params.get(k));
  const list = await api("events?" + q.toString());
  const go = changes => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) { if (!v) p.delete(k); else p.set(k, v); }
    setParams("/events", p);
  };
  const kind = h("select", { id: "event-kind" }, ["", "device", "interface", "bgp_session", "link", "lb_pool_member", "lb_virtual_server"].map(v =>
    h("option", { value: v, selected: (params.get("kind") || "") === v }, v ? v.replace(/_/g, " ") : "any kind")));
  const status = h("select", { id: "event-status" }, [["", "problems and recoveries"], ["problem", "problems"], ["ok", "recoveries"]].map(([v, t]) =>
    h("option", { value: v, selected: (params.get("status") || "") === v }, t)));
  const since = h("select", { id: "event-since" }, [["1h", "last hour"], ["", "last day"], ["168h", "last week"], ["720h", "last 30 days"]].map(([v, t]) =>
    h("option", { value: v, selected: (params.get("since") || "") === v }, t)));
  const search = h("input", { id: "event-search", type: "search", placeholder: "Search device, object, state, labels", value: params.get("q") || "" });
  const apply = ev => { ev.preventDefault(); go({ kind: kind.value, status: status.value, since: since.value, q: search.value.trim() }); };
  for (const el of [kind, status, since]) el.addEventListener("change", apply);
  const rows = list.events.map(e => h("tr", { dataset: { kind: e.kind, status: e.status } },
    h("td", { title: fmtTime(e.time * 1000) }, fmtAgo(e.time * 1000)), h("td", {}, e.site), h("td", {}, e.kind.replace(/_/g, " ")),
    h("td", {}, e.resource ? h("a", { href: "#", onclick: ev => { ev.preventDefault(); openDevice(e.resource.resource_site, e.resource.resource_id); } }, e.resource.resource_id) : "–"),
    h("td", { class: "mono" }, e.object || ""), h("td", {}, (e.old_state || "—") + " → " + e.new_state),
    h("td", {}, h("span", { class: "badge " + (e.status === "ok" ? "ok" : "bad") }, e.status)),
    h("td", {}, e.flaps ? Object.keys(e.flaps).sort().map(k => h("span", { class: "pair" }, k + ": " + e.flaps[k])) : "")));
  return h("section", { id: "events" }, h("h1", {}, "Events"),
    h("form", { class: "toolbar", onsubmit: apply }, kind, status, since, search, h("button", { type: "submit" }, "Apply")),
    list.note ? h("p", { class: "muted" }, list.note) : null,
    rows.length ? table(["When", "Site", "Kind", "Device", "Object", "Change", "Status", "Flaps"], rows, { id: "event-table" })
      : h("p", { class: "muted" }, "No events match."));
}

window.addEventListener("hashchange", route);
route();
