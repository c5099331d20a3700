// Costs: the month-end forecast (method named) with the daily series, and the costs grouped by any dimension.
import {
  PALETTE, RANGES, card, chart, chartBox, el, emptyStore, getJSON, int, key, panel, params, select, setParams, usd,
} from "./lib.js";

const GROUPS = [["model", "Model"], ["provider", "Provider"], ["operation", "Operation"], ["service", "Service"], ["task_type", "Task type"], ["day", "Day (UTC)"]];
const charts = [];

function costTable(costs, label) {
  const num = (text, cls = "") => el("td", { class: `num ${cls}` }, text);
  return el("table", { id: "cost-groups" },
    el("thead", {}, el("tr", {}, el("th", {}, label),
      ...["Calls", "Errors", "Input tokens", "Output tokens", "Characters", "Cost"].map((h) => el("th", { class: "num" }, h)))),
    el("tbody", {}, costs.groups.map((g) => el("tr", { dataset: { key: g.key } },
      el("td", {}, key(g.key)), num(int(g.calls), "calls"), num(int(g.errors)), num(int(g.input_tokens)), num(int(g.output_tokens)),
      num(int(g.characters)), el("td", { class: "num cost", dataset: { value: String(g.cost_usd) } }, usd(g.cost_usd))))),
    el("tfoot", {}, el("tr", { id: "cost-total" }, el("td", {}, "Total"), num(int(costs.total.calls), "calls"), num(int(costs.total.errors)),
      num(int(costs.total.input_tokens)), num(int(costs.total.output_tokens)), num(int(costs.total.characters)),
      el("td", { class: "num cost", dataset: { value: String(costs.total.cost_usd) } }, usd(costs.total.cost_usd)))));
}

export async function render() {
  document.title = "Costs · otel-ai";
  const query = params();
  const since = query.get("since") || "";
  const groupBy = GROUPS.some(([g]) => g === query.get("group_by")) ? query.get("group_by") : "model";
  const [forecast, costs, traces] = await Promise.all([
    getJSON("/forecast"),
    getJSON("/costs", { group_by: groupBy, since }),
    getJSON("/traces", { limit: 1 }),
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
    panel("Month-end forecast", forecastCards, method, box),
    el("section", { class: "panel" }, el("h2", {}, `Cost by ${label.toLowerCase()}`), controls,
      costs.groups.length === 0 ? el("div", { class: "empty" }, el("strong", {}, "No GenAI calls in this range")) : costTable(costs, label),
      el("p", { class: "muted" }, "Export the calls: ", el("a", { href: "/api/v1/export?format=csv" }, "CSV"), " · ", el("a", { href: "/api/v1/export?format=json" }, "JSON"))),
  ];
}

export function after() {
  for (const [canvas, config] of charts.splice(0)) chart(canvas, config);
}
