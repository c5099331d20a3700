// Evaluations: scores of otel_ai.evaluate() per evaluation, model and task type, with the cost per good
// answer (the cost of the evaluated calls ÷ evaluations with score ≥ threshold or a good label; docs/evaluations.md).
import { RANGES, card, el, emptyStore, getJSON, int, panel, params, select, setParams, usd } from "./lib.js";

function score(value) {
  return value === null || value === undefined ? "–" : (+value.toPrecision(3)).toString();
}

export async function render() {
  document.title = "Evaluations · otel-ai";
  const since = params().get("since") || "";
  const threshold = params().get("threshold") || "0.7";
  const [summary, page] = await Promise.all([
    getJSON("/evaluations/summary", { since, threshold }), getJSON("/evaluations", { since, limit: 20 }),
  ]);
  const heading = el("h1", {}, "Evaluations", el("span", { class: "sub" }, "scores per model and task type, and what a good answer costs"));
  if (page.total === 0) return [heading, emptyStore("No evaluations yet: call otel_ai.evaluate()")];
  const controls = el("div", { class: "toolbar" }, select("since", "Range", RANGES, since));
  controls.querySelector("select").addEventListener("change", (event) => {
    setParams({ since: event.target.value });
    window.location.reload();
  });
  const cards = el("div", { class: "cards" },
    card("Evaluations", int(page.total), { id: "evaluations-total", value: page.total }),
    card("Good threshold", `score ≥ ${summary.threshold}`, { id: "threshold", value: summary.threshold, note: "or a label in " + summary.good_labels.join(", ") }));
  const table = el("table", { id: "evaluation-groups" },
    el("thead", {}, el("tr", {}, el("th", {}, "Evaluation"), el("th", {}, "Model"), el("th", {}, "Task type"),
      el("th", { class: "num" }, "Evaluations"), el("th", { class: "num" }, "Mean score"), el("th", { class: "num" }, "Good"),
      el("th", { class: "num" }, "Cost"), el("th", { class: "num" }, "Cost per good answer"))),
    el("tbody", {}, summary.groups.map((g) => el("tr", { dataset: { name: g.name, model: g.model || "" } },
      el("td", {}, g.name), el("td", {}, g.model || "(none)"), el("td", {}, g.task_type || "(none)"),
      el("td", { class: "num" }, int(g.evaluations)), el("td", { class: "num mean" }, score(g.mean_score)),
      el("td", { class: "num good" }, int(g.good)), el("td", { class: "num" }, usd(g.cost_usd)),
      el("td", { class: "num per-good" }, g.cost_per_good_answer_usd === null ? "–" : usd(g.cost_per_good_answer_usd))))));
  const recent = el("table", { id: "recent-evaluations" },
    el("thead", {}, el("tr", {}, el("th", {}, "Time"), el("th", {}, "Evaluation"), el("th", {}, "Model"),
      el("th", { class: "num" }, "Score"), el("th", {}, "Label"), el("th", {}, "Explanation"), el("th", {}, ""))),
    el("tbody", {}, page.items.map((e) => el("tr", {},
      el("td", {}, e.time), el("td", {}, e.name), el("td", {}, e.model || "(none)"), el("td", { class: "num" }, score(e.score)),
      el("td", {}, e.label || ""), el("td", {}, e.explanation || ""),
      el("td", {}, e.trace_id ? el("a", { href: `/traces/${e.trace_id}` }, "trace") : "")))));
  return [heading, controls, cards, panel("By evaluation, model and task type", table), panel("Recent", recent)];
}
