// Costs: the month-end forecast (method named) with the daily series, and the costs grouped by any dimension.
import {
  PALETTE, RANGES, card, chart, chartBox, el, emptyStore, getJSON, int, key, panel, params, select, setParams, usd,
} from "./lib.js";

const GROUPS = [["model", "Model"], ["provider", "Provider"], ["operation", "Operation"], ["service", "Service"], ["task_type", "Task type"], ["day", "Day (UTC)"], ["response_model", "Response model"]];
const charts = [];

function costTable(costs, label) {
  const num = (text, cls = "") => el("td", { class: `num ${cls}` }, text);
  return el("table", { id: "cost-groups" },
    el("thead", {}, el("tr", {}, el("th", {}, label),
      ...["Calls", "Errors", "Input tokens", "Output tokens", "Characters", "Cost"].map((h) => el("th", { class: "num" }, h)))),
    el("tbody", {}, costs.groups.map((g) => el("tr", { dataset: { key: g.key ?? "" } },
      el("td", {}, key(g.key)), num(int(g.calls), "calls"), num(int(g.errors)), num(int(g.input_tokens)), num(int(g.output_tokens)),
      num(int(g.characters)), el("td", { class: "num cost", dataset: { value: String(g.cost_usd) } }, usd(g.cost_usd))))),
    el("tfoot", {}, el("tr", { id: "cost-total" }, el("td", {}, "Total"), num(int(costs.total.calls), "calls"), num(int(costs.total.errors)),
      num(int(costs.total.input_tokens)), num(int(costs.total.output_tokens)), num(int(costs.total.characters)),
      el("td", { class: "num cost", dataset: { value: String(costs.total.cost_usd) } }, usd(costs.total.cost_usd)))));
}

// A per-user or per-conversation budget ("*"): each value has the whole limit; its top spenders this period.
function valueLink(values) {
  return Object.entries(values).flatMap(([k, v], i) => [i ? ", " : "", `${k} `,
    el("a", { href: k === "conversation" ? `/conversations/${encodeURIComponent(v)}` : `/conversations?user=${encodeURIComponent(v)}` }, v)]);
}

function perValueRow(b) {
  const badge = { ok: "ok", warning: "warning", exceeded: "error" };
  const pv = b.per_value;
  const keys = Object.keys(b.scope).filter((k) => b.scope[k] === "*").join(" and ");
  const note = el("div", { class: "muted per-value-note" },
    `Each ${keys} has the whole limit: ${int(pv.values)} this period, ${int(pv.exceeded)} at or over it. Top spenders:`);
  const rows = pv.top.map((v) => el("tr", { dataset: { value: Object.values(v.values).join(","), status: v.status } },
    el("td", { class: "who" }, valueLink(v.values)),
    el("td", { class: "num spent", dataset: { value: String(v.spent_usd) } }, usd(v.spent_usd)),
    el("td", { class: "num" }, int(v.calls) + " calls"),
    el("td", { class: "budget-bar-cell" },
      el("div", { class: `budget-bar ${v.status}` }, el("span", { style: { width: `${Math.min(100, v.fraction * 100)}%` } })),
      el("div", { class: "muted fraction" }, `${(v.fraction * 100).toFixed(1)}% of ${usd(b.limit_usd)}`)),
    el("td", {}, el("span", { class: `badge ${badge[v.status]} status` }, v.status))));
  return el("tr", { class: "per-value", dataset: { perValue: b.name } },
    el("td", { colspan: "7" }, note, pv.top.length
      ? el("table", { class: "budget-values", id: `budget-values-${b.name}` }, el("tbody", {}, rows))
      : el("div", { class: "muted" }, "No calls in this scope this period.")));
}

// Budgets (OTEL_AI_SERVE_BUDGETS, else OTEL_AI_BUDGETS): the whole fleet's spend this period against each limit.
function budgetPanel(report) {
  const problems = report.problems.length
    ? el("ul", { class: "budget-problems muted" }, report.problems.map((p) => el("li", {}, p))) : null;
  if (report.budgets.length === 0) {
    return panel("Budgets", el("p", { class: "muted", id: "no-budgets" },
      "No budgets declared: set OTEL_AI_SERVE_BUDGETS (or OTEL_AI_BUDGETS) where otel-ai serve runs."), problems);
  }
  const scope = (b) => Object.entries(b.scope).map(([k, v]) => `${k}=${v}`).join(", ") || "all calls";
  const badge = { ok: "ok", warning: "warning", exceeded: "error" };
  const rows = report.budgets.map((b) => el("tr", { dataset: { budget: b.name, status: b.status } },
    el("td", {}, el("strong", {}, b.name), el("div", { class: "muted" }, scope(b))),
    el("td", {}, b.period, el("div", { class: "muted" }, `since ${b.period_start.slice(0, 16).replace("T", " ")} (${b.timezone})`)),
    el("td", { class: "num spent", dataset: { value: String(b.spent_usd) } }, usd(b.spent_usd)),
    el("td", { class: "num limit", dataset: { value: String(b.limit_usd) } }, usd(b.limit_usd)),
    el("td", { class: "budget-bar-cell" },
      el("div", { class: `budget-bar ${b.status}` }, el("span", { style: { width: `${Math.min(100, b.fraction * 100)}%` } })),
      el("div", { class: "muted fraction" }, `${(b.fraction * 100).toFixed(1)}%`)),
    el("td", {}, el("span", { class: `badge ${badge[b.status]} status` }, b.status)),
    el("td", {}, b.action))).flatMap((row, i) => {
    const b = report.budgets[i];
    return b.per_value ? [row, perValueRow(b)] : [row];
  });
  return panel("Budgets",
    el("table", { id: "budgets" },
      el("thead", {}, el("tr", {}, ...["Budget", "Period", "Spent", "Limit", "Used", "Status", "Action"].map(
        (h, i) => el("th", { class: i === 2 || i === 3 ? "num" : "" }, h)))),
      el("tbody", {}, rows)),
    el("p", { class: "muted" }, "Spend of every service in this store this period; apps with OTEL_AI_BUDGET_SERVER count against it."),
    problems);
}

export async function render() {
  document.title = "Costs · otel-ai";
  const query = params();
  const since = query.get("since") || "";
  const groupBy = GROUPS.some(([g]) => g === query.get("group_by")) ? query.get("group_by") : "model";
  const [forecast, costs, traces, budgets] = await Promise.all([
    getJSON("/forecast"),
    getJSON("/costs", { group_by: groupBy, since }),
    getJSON("/traces", { limit: 1 }),
    getJSON("/budgets"),
  ]);
  const heading = el("h1", {}, "Costs", el("span", { class: "sub" }, "USD, from the prices the agent recorded on each call"));
  if (traces.total === 0 && costs.total.calls === 0 && forecast.month_to_date === 0) return [heading, emptyStore("No costs yet")];

  const forecastCards = el("div", { class: "cards forecast" },
    card("Month to date", usd(forecast.month_to_date), { id: "month-to-date", value: forecast.month_to_date, note: forecast.month + " (UTC)" }),
    card("Forecast, month end", usd(forecast.forecast_month_end), { id: "forecast-month-end", value: forecast.forecast_month_end, note: `${forecast.days_elapsed.toFixed(1)} of ${forecast.days_in_month} days elapsed` }));
  const [box, canvas] = chartBox("chart-forecast");
  const labels = [...forecast.daily.map((d) => d.day), ...forecast.projected.map((d) => d.day)];
  const pad = (n) => Array(n).fill(null);
  charts.push([canvas, {
    type: "bar",
    data: {
      labels,
      datasets: [
        { label: "Spent", data: [...forecast.daily.map((d) => d.cost_usd), ...pad(forecast.projected.length)], backgroundColor: PALETTE[0] },
        { label: "Forecast", data: [...pad(forecast.daily.length), ...forecast.projected.map((d) => d.cost_usd)], backgroundColor: "rgba(53, 89, 224, 0.25)", borderColor: PALETTE[0], borderWidth: 1, borderDash: [4, 3] },
      ],
    },
    options: {
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${usd(c.parsed.y)}` } } },
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { callback: (v) => usd(v) } } },
    },
  }]);
  const method = el("p", { id: "forecast-method" }, el("strong", {}, "Method: "), el("span", { class: "method" }, forecast.method),
    Object.keys(forecast.basis || {}).length ? el("span", { class: "muted" }, " · " + Object.entries(forecast.basis).map(([k, v]) => `${k} ${typeof v === "number" ? +v.toPrecision(4) : v}`).join(", ")) : null);

  const controls = el("div", { class: "toolbar" },
    select("group_by", "Group by", GROUPS, groupBy),
    select("since", "Range", RANGES, since));
  for (const s of controls.querySelectorAll("select")) {
    s.addEventListener("change", () => {
      setParams({ group_by: controls.querySelector("[name=group_by]").value, since: controls.querySelector("[name=since]").value });
      window.location.reload();
    });
  }
  const label = GROUPS.find(([g]) => g === groupBy)[1];
  return [
    heading,
    budgetPanel(budgets),
    panel("Month-end forecast", forecastCards, method, box),
    el("section", { class: "panel" }, el("h2", {}, `Cost by ${label.toLowerCase()}`), controls,
      costs.groups.length === 0 ? el("div", { class: "empty" }, el("strong", {}, "No GenAI calls in this range")) : costTable(costs, label),
      el("p", { class: "muted" }, "Export the calls: ", el("a", { href: "/api/v1/export?format=csv" }, "CSV"), " · ", el("a", { href: "/api/v1/export?format=json" }, "JSON"))),
  ];
}

export function after() {
  for (const [canvas, config] of charts.splice(0)) chart(canvas, config);
}
