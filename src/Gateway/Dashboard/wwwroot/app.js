// Tao dashboard: plain JavaScript over /admin/analytics (session cookie), charts drawn as SVG.
// Every value from the store is placed with textContent, never as HTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#3559e0", "#e0773a", "#1a9c6b", "#b4389c", "#c9a227", "#5b6b82", "#d64545", "#2ba4c4"];
const filters = document.getElementById("filters");
const status = document.getElementById("status");
let refreshes = 0;

async function api(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) query.set(key, value);
  }
  const response = await fetch(`/admin/analytics/${path}?${query}`, { credentials: "same-origin", headers: { accept: "application/json" } });
  if (response.status === 401 || response.status === 403) {
    location.reload(); // the session ended: back to the sign-in form
    throw new Error("signed out");
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body?.error?.message ?? `${response.status}`);
  return body;
}

function selected() {
  const data = new FormData(filters);
  const params = {};
  for (const [key, value] of data.entries()) params[key] = value;
  return params;
}

function trafficParams() {
  const { group_by, ...rest } = selected();
  return rest;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function svgEl(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = String(text);
  return node;
}

const number = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });
const money = new Intl.NumberFormat("en", { style: "currency", currency: "USD", maximumFractionDigits: 4 });
const ms = v => (v === null || v === undefined ? "–" : decimal.format(v));
const when = iso => new Date(iso).toISOString().replace("T", " ").slice(0, 16);

// A line chart: series = [{ name, points: [[Date, value], ...] }].
function lineChart(svg, series, format = v => number.format(v)) {
  svg.replaceChildren();
  const width = svg.clientWidth || 600, height = svg.clientHeight || 220;
  const left = 56, right = 40, top = 10, bottom = 40;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const all = series.flatMap(s => s.points);
  svg.dataset.series = String(series.length);
  svg.dataset.points = String(all.length);
  if (all.length === 0) {
    svg.append(svgEl("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" }, "No traffic in this window"));
    return;
  }
  const xs = all.map(p => p[0].getTime());
  let x0 = Math.min(...xs), x1 = Math.max(...xs);
  if (x0 === x1) { x0 -= 30 * 60_000; x1 += 30 * 60_000; }
  const y1 = Math.max(...all.map(p => p[1]), 0) * 1.1 || 1;
  const sx = t => left + ((t - x0) / (x1 - x0)) * (width - left - right);
  const sy = v => height - bottom - (v / y1) * (height - top - bottom);
  for (let i = 0; i <= 4; i++) {
    const v = (y1 / 4) * i, y = sy(v);
    svg.append(svgEl("line", { x1: left, x2: width - right, y1: y, y2: y, class: "grid" }));
    svg.append(svgEl("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, format(v)));
  }
  for (let i = 0; i <= 4; i++) {
    const t = x0 + ((x1 - x0) / 4) * i;
    svg.append(svgEl("text", { x: sx(t), y: height - bottom + 16, "text-anchor": "middle" }, new Date(t).toISOString().slice(5, 16).replace("T", " ")));
  }
  series.forEach((s, index) => {
    const color = COLORS[index % COLORS.length];
    const points = [...s.points].sort((a, b) => a[0] - b[0]);
    const d = points.map((p, i) => `${i ? "L" : "M"}${sx(p[0].getTime()).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
    const path = svgEl("path", { d, stroke: color, class: "series", "data-series": s.name, "data-points": points.length });
    path.append(svgEl("title", {}, s.name));
    svg.append(path);
    if (points.length === 1) svg.append(svgEl("circle", { cx: sx(points[0][0].getTime()), cy: sy(points[0][1]), r: 3, fill: color }));
    const lx = left + (index % 4) * ((width - left) / 4), ly = height - 8 - Math.floor(index / 4) * 12;
    svg.append(svgEl("rect", { x: lx, y: ly - 8, width: 10, height: 3, fill: color }));
    svg.append(svgEl("text", { x: lx + 14, y: ly - 4, class: "legend" }, s.name || "(none)"));
  });
}

function bySeries(rows, value) {
  const groups = new Map();
  for (const row of rows) {
    const name = row.group ?? "all";
    if (!groups.has(name)) groups.set(name, []);
    const v = value(row);
    if (v !== null && v !== undefined) groups.get(name).push([new Date(row.bucket), v]);
  }
  return [...groups.entries()].map(([name, points]) => ({ name, points }));
}

async function loadDimensions() {
  const dimensions = await api("dimensions", { window: selected().window });
  for (const name of ["model", "alias", "version", "task", "key", "endpoint"]) {
    const select = filters.elements[name];
    const keep = select.value;
    select.replaceChildren(el("option", "all"));
    select.firstChild.value = "";
    for (const value of dimensions[name] ?? []) {
      if (value === "") continue;
      const option = el("option", value);
      option.value = value;
      select.append(option);
    }
    select.value = (dimensions[name] ?? []).includes(keep) ? keep : "";
  }
}

async function loadTraffic() {
  const params = trafficParams();
  const group = selected().group_by;
  const [totals, grouped, series, overall] = await Promise.all([
    api("summary", params),
    api("summary", { ...params, group_by: group }),
    api("timeseries", { ...params, group_by: group }),
    api("timeseries", params),
  ]);
  const t = totals.rows[0];
  document.getElementById("kpi-requests").textContent = t ? number.format(t.requests) : "0";
  document.getElementById("kpi-errors").textContent = t ? `${decimal.format(t.error_rate * 100)} %` : "–";
  document.getElementById("kpi-tokens").textContent = t ? `${number.format(t.prompt_tokens)} / ${number.format(t.completion_tokens)}` : "–";
  document.getElementById("kpi-cost").textContent = t ? money.format(t.cost_usd) : "–";
  document.getElementById("kpi-latency").textContent = t ? `${ms(t.latency_p50_ms)} / ${ms(t.latency_p95_ms)} / ${ms(t.latency_p99_ms)} ms` : "–";
  document.getElementById("kpi-ttft").textContent = t ? `${ms(t.ttft_p50_ms)} / ${ms(t.ttft_p99_ms)} ms` : "–";

  document.getElementById("group-name").textContent = group || "total";
  const body = document.querySelector("#groups tbody");
  body.replaceChildren(...grouped.rows.map(r => {
    const row = el("tr");
    row.dataset.group = r.group ?? "";
    for (const value of [r.group ?? "all", number.format(r.requests), number.format(r.errors), number.format(r.prompt_tokens),
      number.format(r.completion_tokens), r.cost_usd.toFixed(4), ms(r.latency_p50_ms), ms(r.latency_p95_ms), ms(r.latency_p99_ms), ms(r.ttft_p50_ms)]) {
      row.append(el("td", value));
    }
    return row;
  }));

  const chart = name => document.querySelector(`svg[data-chart="${name}"]`);
  lineChart(chart("requests"), bySeries(series.rows, r => r.requests));
  lineChart(chart("tokens"), bySeries(series.rows, r => r.prompt_tokens + r.completion_tokens));
  lineChart(chart("cost"), bySeries(series.rows, r => r.cost_usd), v => v.toFixed(3));
  lineChart(chart("errors"), bySeries(series.rows, r => r.errors));
  lineChart(chart("ttft"), bySeries(series.rows, r => r.ttft_p50_ms));
  lineChart(chart("latency"), ["p50", "p95", "p99"].map(p => ({
    name: p, points: overall.rows.filter(r => r[`latency_${p}_ms`] !== null).map(r => [new Date(r.bucket), r[`latency_${p}_ms`]]),
  })), v => decimal.format(v));
}

async function loadFlywheel() {
  const [versions, rounds] = await Promise.all([api("versions"), api("rounds", { limit: 50 })]);
  const svg = document.getElementById("timeline");
  svg.replaceChildren();
  const width = svg.clientWidth || 800, height = svg.clientHeight || 120;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.dataset.versions = String(versions.rows.length);
  if (versions.rows.length === 0) {
    svg.append(svgEl("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" }, "No model versions yet"));
  } else {
    const times = versions.rows.map(v => new Date(v.created_at).getTime());
    let t0 = Math.min(...times), t1 = Math.max(...times);
    if (t0 === t1) { t0 -= 3_600_000; t1 += 3_600_000; }
    const sx = t => 40 + ((t - t0) / (t1 - t0)) * (width - 80);
    const groups = [...new Set(versions.rows.map(v => v.model_group))];
    const laneY = g => 30 + groups.indexOf(g) * Math.max(24, (height - 50) / Math.max(1, groups.length));
    for (const g of groups) svg.append(svgEl("line", { x1: 30, x2: width - 20, y1: laneY(g), y2: laneY(g), class: "grid" }));
    versions.rows.forEach(v => {
      const x = sx(new Date(v.created_at).getTime()), y = laneY(v.model_group);
      const color = v.status === "promoted" || v.status === "base" ? "#1a9c6b" : v.status === "rolled_back" ? "#d64545" : "#98a2b3";
      const dot = svgEl("circle", { cx: x, cy: y, r: 6, fill: color, "data-version": v.version });
      dot.append(svgEl("title", {}, `${v.version} (${v.status}) ${v.decision ?? ""}`));
      svg.append(dot, svgEl("text", { x, y: y - 10, "text-anchor": "middle" }, v.version));
    });
  }
  const evaluation = r => { try { return typeof r.evaluation === "string" ? JSON.parse(r.evaluation || "{}") : (r.evaluation ?? {}); } catch { return {}; } };
  const points = v => (v * 100).toFixed(1);
  // Quality per live version: the canary accuracy of the version live before the first round, then of every promoted one.
  const quality = {};
  [...rounds.rows].reverse().forEach(r => {
    const ev = evaluation(r);
    for (const key of Object.keys(ev).filter(k => k.startsWith("labelled.") && k.endsWith(".candidate"))) {
      const name = `${r.model_group}: ${key.split(".")[1]}`;
      const series = (quality[name] ??= []);
      if (series.length === 0) series.push([new Date(r.started_at), ev[key.replace(".candidate", ".live")] * 100]);
      if (r.decision === "promoted") series.push([new Date(r.updated_at ?? r.started_at), ev[key] * 100]);
    }
  });
  const qualityChart = document.querySelector('svg[data-chart="quality"]');
  qualityChart.dataset.series = String(Object.keys(quality).length);
  lineChart(qualityChart, Object.entries(quality).map(([name, pts]) => ({ name, points: pts })), v => `${decimal.format(v)} %`);
  const body = document.querySelector("#rounds tbody");
  body.replaceChildren(...rounds.rows.map(r => {
    const row = el("tr");
    row.dataset.round = r.round_id;
    for (const value of [when(r.started_at), r.model_group, (r.tasks ?? []).join(", "), r.inputs,
      `${decimal.format(r.reward_first ?? 0)} → ${decimal.format(r.reward_last ?? 0)}`, r.candidate_version]) {
      row.append(el("td", value));
    }
    row.append(el("td", r.decision, `decision-${r.decision}`));
    const ev = evaluation(r);
    const evidence = Object.keys(ev).filter(k => k.endsWith(".gain")).map(k => {
      const s = k.slice(0, -".gain".length);
      return `${s} ${points(ev[`${s}.live`])} → ${points(ev[`${s}.candidate`])} (${ev[k] >= 0 ? "+" : ""}${points(ev[k])} [${points(ev[`${s}.low`])}, ${points(ev[`${s}.high`])}])`;
    });
    row.append(el("td", evidence.join("; "), "evidence"));
    row.append(el("td", r.reason, "clip"));
    row.append(el("td", `${decimal.format(r.duration_s ?? 0)} s`));
    return row;
  }));
}

// One figure per declared feedback metric: the mean (the rate of thumbs up for booleans) over the window with its 95 %
// interval, and the mean per time bucket for each group of the selected grouping.
async function loadFeedback() {
  const metrics = (await api("feedback/metrics")).rows;
  const section = document.getElementById("feedback");
  section.hidden = metrics.length === 0;
  const holder = document.getElementById("feedback-metrics");
  const group = selected().group_by;
  const figures = await Promise.all(metrics.map(async metric => {
    const params = { ...trafficParams(), metric: metric.name };
    const [total, series] = await Promise.all([api("feedback", params), api("feedback/timeseries", { ...params, group_by: group })]);
    const figure = el("figure");
    figure.dataset.metric = metric.name;
    const t = total.rows[0];
    const shown = v => metric.type === "boolean" ? `${decimal.format(v * 100)} %` : decimal.format(v);
    const summary = t ? `${shown(t.mean)}${t.ci95 === null ? "" : ` ± ${shown(t.ci95)}`} (${number.format(t.n)} rated)` : "no feedback in this window";
    figure.append(el("figcaption", `${metric.name} (${metric.level}${metric.higher_is_better ? "" : ", lower is better"}): ${summary}`));
    const svg = svgEl("svg", { role: "img", "aria-label": `${metric.name} over time`, "data-chart": `feedback-${metric.name}` });
    figure.append(svg);
    return { figure, svg, series, metric };
  }));
  holder.replaceChildren(...figures.map(f => f.figure));
  for (const f of figures) {
    lineChart(f.svg, bySeries(f.series.rows, r => f.metric.type === "boolean" ? r.mean * 100 : r.mean), v => decimal.format(v));
  }
}

async function loadTopPrompts() {
  const top = await api("top-prompts", { ...trafficParams(), limit: 10 });
  document.querySelector("#top tbody").replaceChildren(...top.rows.map(r => {
    const row = el("tr");
    row.append(el("td", number.format(r.requests)), el("td", number.format(r.users)), el("td", (r.tasks ?? []).join(", ")), el("td", r.prompt, "clip"));
    return row;
  }));
}

async function search(event) {
  event?.preventDefault();
  const q = document.querySelector("#search input").value.trim();
  if (!q) return;
  try {
    const found = await api("search", { ...trafficParams(), q, limit: 100 });
    const body = document.querySelector("#results tbody");
    body.dataset.query = q;
    body.replaceChildren(...found.rows.map(r => {
      const row = el("tr");
      row.dataset.requestId = r.request_id;
      row.append(el("td", when(r.started_at)), el("td", r.model), el("td", r.endpoint), el("td", r.task), el("td", r.status), el("td", r.prompt, "clip"), el("td", r.response, "clip"));
      row.addEventListener("click", () => showRequest(r.request_id, row));
      return row;
    }));
    if (found.rows.length === 0) {
      const empty = el("tr");
      const cell = el("td", "No matching requests");
      cell.colSpan = 7;
      empty.append(cell);
      body.append(empty);
    }
    status.textContent = "";
  } catch (error) {
    status.textContent = `Search failed: ${error.message}`;
  }
}

async function showRequest(id, row) {
  document.querySelectorAll("#results tr.selected").forEach(r => r.classList.remove("selected"));
  row?.classList.add("selected");
  const detail = document.getElementById("detail");
  detail.dataset.requestId = id;
  try {
    const record = await fetch(`/admin/analytics/requests/${encodeURIComponent(id)}`, { credentials: "same-origin" }).then(r => r.json());
    detail.textContent = JSON.stringify(record, null, 2);
  } catch (error) {
    detail.textContent = `Could not load ${id}: ${error.message}`;
  }
}

async function refresh() {
  document.body.dataset.state = "loading";
  try {
    await loadDimensions();
    await Promise.all([loadTraffic(), loadFlywheel(), loadTopPrompts(), loadFeedback()]);
    status.textContent = "";
  } catch (error) {
    if (error.message !== "signed out") status.textContent = `Could not load analytics: ${error.message}`;
  }
  refreshes++;
  document.body.dataset.refreshes = String(refreshes);
  document.body.dataset.state = "ready";
}

filters.addEventListener("change", refresh);
document.getElementById("search").addEventListener("submit", search);
refresh();
setInterval(() => { if (document.visibilityState === "visible" && document.body.dataset.state === "ready") refresh(); }, 30_000);
