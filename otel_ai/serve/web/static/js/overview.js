// Overview: calls, cost today / this month, error rate, latency; cost per day; cost by model, provider and
// task type; the top errors.
import {
  PALETTE, RANGES, card, chart, chartBox, el, emptyStore, getJSON, int, key, ms, panel, params, pct, select,
  setParams, usd,
} from "./lib.js";

const charts = [];

function groupTable(id, groups, label) {
  return el("table", { id },
    el("thead", {}, el("tr", {}, el("th", {}, label), el("th", { class: "num" }, "Calls"), el("th", { class: "num" }, "Cost"))),
    el("tbody", {}, groups.map((g) => el("tr", { dataset: { key: g.key ?? "" } },
      el("td", {}, key(g.key)),
      el("td", { class: "num calls" }, int(g.calls)),
      el("td", { class: "num cost", dataset: { value: String(g.cost_usd) } }, usd(g.cost_usd))))));
}

function byGroup(title, id, costs) {
  const top = costs.groups.slice(0, 8);
  const [box, canvas] = chartBox(`chart-${id}`, true);
  charts.push([canvas, {
    type: "bar",
    data: { labels: top.map((g) => key(g.key)), datasets: [{ data: top.map((g) => g.cost_usd), backgroundColor: PALETTE }] },
    options: {
      indexAxis: "y", plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => usd(c.parsed.x) } } },
      scales: { x: { ticks: { callback: (v) => usd(v) } } },
    },
  }]);
  return panel(title, box, groupTable(`by-${id}`, costs.groups, title.replace("Cost by ", "")));
}

export async function render() {
  const since = params().get("since") || "";
  const range = { since };
  const [summary, byDay, byModel, byProvider, byTask, errors, traces, health] = await Promise.all([
    getJSON("/summary", range),
    getJSON("/costs", { ...range, group_by: "day" }),
    getJSON("/costs", { ...range, group_by: "model" }),
    getJSON("/costs", { ...range, group_by: "provider" }),
    getJSON("/costs", { ...range, group_by: "task_type" }),
    getJSON("/errors", range),
    getJSON("/traces", { limit: 1 }),
    getJSON("/health").catch(() => null),
  ]);
  document.title = "Overview · otel-ai";
  const rangeSelect = select("since", "Range", RANGES, since);
  rangeSelect.querySelector("select").addEventListener("change", (event) => {
    setParams({ since: event.target.value });
    window.location.reload();
  });
  const heading = el("h1", {}, "Overview", el("span", { class: "sub" }, "GenAI calls received by this server"));
  if (summary.calls === 0 && traces.total === 0) return [heading, emptyStore()];
  const toolbar = el("div", { class: "toolbar" }, rangeSelect);
  if (summary.calls === 0) return [heading, toolbar, el("div", { class: "empty", id: "empty" }, el("strong", {}, "No GenAI calls in this range"))];

  const cards = el("div", { class: "cards" },
    card("Calls", int(summary.calls), { id: "calls", value: summary.calls, note: `${int(summary.errors)} failed` }),
    card("Cost today", usd(summary.cost_today), { id: "cost-today", value: summary.cost_today, note: "UTC day" }),
    card("Cost this month", usd(summary.cost_this_month), { id: "cost-month", value: summary.cost_this_month, note: "UTC month" }),
    card("Cost in range", usd(summary.cost_usd), { id: "cost-range", value: summary.cost_usd }),
    card("Error rate", pct(summary.error_rate), { id: "error-rate", value: summary.error_rate }),
    card("p50 latency", ms(summary.p50_duration_ms), { id: "p50", value: summary.p50_duration_ms }),
    card("p95 latency", ms(summary.p95_duration_ms), { id: "p95", value: summary.p95_duration_ms }),
  );

  const [dayBox, dayCanvas] = chartBox("chart-day");
  charts.push([dayCanvas, {
    type: "bar",
    data: {
      labels: byDay.groups.map((g) => g.key),
      datasets: [{ label: "Cost (USD)", data: byDay.groups.map((g) => g.cost_usd), backgroundColor: PALETTE[0], maxBarThickness: 48 }],
    },
    options: {
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => `${usd(c.parsed.y)} · ${int(byDay.groups[c.dataIndex].calls)} calls` } } },
      scales: { y: { beginAtZero: true, ticks: { callback: (v) => usd(v) } } },
    },
  }]);

  const topErrors = errors.categories.slice(0, 5);
  const errorsPanel = panel("Top errors",
    topErrors.length === 0
      ? el("p", { class: "muted", id: "no-errors" }, "No failed calls in this range.")
      : el("table", { id: "top-errors" },
        el("thead", {}, el("tr", {}, el("th", {}, "Category"), el("th", { class: "num" }, "Calls"), el("th", { class: "num" }, "Share"), el("th", {}, "Recommended action"))),
        el("tbody", {}, topErrors.map((c) => el("tr", { dataset: { category: c.category } },
          el("td", {}, el("span", { class: "badge error" }, c.category)),
          el("td", { class: "num count" }, int(c.count)),
          el("td", { class: "num" }, pct(c.share)),
          el("td", { class: "action" }, c.action))))),
    el("p", {}, el("a", { href: "/errors" + (since ? `?since=${encodeURIComponent(since)}` : "") }, "All errors →")));

  return [
    heading, toolbar, cards,
    panel("Cost per day (UTC)", dayBox),
    el("div", { class: "grid3 row-gap" },
      byGroup("Cost by model", "model", byModel),
      byGroup("Cost by provider", "provider", byProvider),
      byGroup("Cost by task type", "task_type", byTask)),
    unpricedPanel(summary.unpriced_calls || []),
    errorsPanel,
    storageLine(health && health.storage),
  ];
}

// Calls with usage but no price: their cost is missing from every figure above, so say so, per model.
function unpricedPanel(unpriced) {
  if (unpriced.length === 0) return null;
  return el("section", { class: "panel warning", id: "unpriced" },
    el("h2", {}, "Unpriced calls"),
    el("table", { id: "unpriced-calls" },
      el("thead", {}, el("tr", {}, el("th", {}, "Model"), el("th", { class: "num" }, "Calls"))),
      el("tbody", {}, unpriced.map((u) => el("tr", { dataset: { model: u.model ?? "" } },
        el("td", { class: "model" }, key(u.model)), el("td", { class: "num calls" }, int(u.calls)))))),
    el("p", { class: "muted" }, "These calls have usage but no cost, so every cost on this page leaves them out: "
      + "add a price with OTEL_AI_PRICING_FILE (docs/pricing.md)."));
}

// "Storage: 1.2 GB of 2 GB cap · oldest data kept 2026-05-01 · 12,000 rows dropped" (the health answer).
function storageLine(storage) {
  if (!storage) return null;
  const gb = (n) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : `${(n / 1e6).toFixed(1)} MB`);
  const parts = [`${gb(storage.used_bytes)}${storage.max_bytes ? ` of ${gb(storage.max_bytes)} cap` : " (no size cap)"}`];
  if (storage.oldest) parts.push(`oldest data kept ${storage.oldest.slice(0, 16).replace("T", " ")} UTC`);
  if (storage.dropped_rows) parts.push(`${int(storage.dropped_rows)} rows dropped since start (roll-ups kept)`);
  return el("p", { class: "muted", id: "storage", dataset: { used: String(storage.used_bytes) } }, `Storage: ${parts.join(" · ")}`);
}

export function after() {
  for (const [canvas, config] of charts.splice(0)) chart(canvas, config);
}
