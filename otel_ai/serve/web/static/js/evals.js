// Evaluations: scores of otel_ai.evaluate() per evaluation, model and task type, and per conversation, with
// the cost per good answer (the cost of the evaluated calls ÷ evaluations with score ≥ threshold or a good
// label; docs/evaluations.md). `?conversation=ID` keeps one conversation's.
import { RANGES, card, el, emptyNote, emptyStore, getJSON, int, panel, params, select, setParams, time, usd } from "./lib.js";

function score(value) {
  return value === null || value === undefined ? "–" : (+value.toPrecision(3)).toString();
}

const perGood = (g) => g.cost_per_good_answer_usd === null ? "–" : usd(g.cost_per_good_answer_usd);
const conversationLink = (id) => id ? el("a", { href: `/evaluations?conversation=${encodeURIComponent(id)}` }, id) : "(none)";

function groupTable(id, summary, keys) {
  const labels = { model: "Model", task_type: "Task type", conversation: "Conversation" };
  const cell = (g, k) => k === "conversation" ? el("td", { class: "mono" }, conversationLink(g.conversation_id)) : el("td", {}, g[k] || "(none)");
  return el("table", { id },
    el("thead", {}, el("tr", {}, el("th", {}, "Evaluation"), keys.map((k) => el("th", {}, labels[k])),
      el("th", { class: "num" }, "Evaluations"), el("th", { class: "num" }, "Mean score"), el("th", { class: "num" }, "Good"),
      el("th", { class: "num" }, "Cost"), el("th", { class: "num" }, "Cost per good answer"))),
    el("tbody", {}, summary.groups.map((g) => el("tr", { dataset: { name: g.name, model: g.model || "", conversation: g.conversation_id || "" } },
      el("td", {}, g.name), keys.map((k) => cell(g, k)),
      el("td", { class: "num count" }, int(g.evaluations)), el("td", { class: "num mean" }, score(g.mean_score)),
      el("td", { class: "num good" }, int(g.good)), el("td", { class: "num cost", dataset: { value: String(g.cost_usd) } }, usd(g.cost_usd)),
      el("td", { class: "num per-good", dataset: { value: String(g.cost_per_good_answer_usd ?? "") } }, perGood(g))))));
}

export async function render() {
  document.title = "Evaluations · otel-ai";
  const since = params().get("since") || "";
  const threshold = params().get("threshold") || "0.7";
  const conversation = params().get("conversation") || "";
  const filters = { since, threshold, conversation };
  const [summary, byConversation, page, any] = await Promise.all([
    getJSON("/evaluations/summary", filters),
    getJSON("/evaluations/summary", { ...filters, group_by: "conversation" }),
    getJSON("/evaluations", { since, conversation, limit: 20 }),
    conversation ? getJSON("/evaluations", { limit: 1 }) : null,
  ]);
  const heading = el("h1", {}, "Evaluations", el("span", { class: "sub" }, "scores per model, task type and conversation, and what a good answer costs"));
  if ((any ?? page).total === 0) return [heading, emptyStore("No evaluations yet: call otel_ai.evaluate()")];
  const controls = el("div", { class: "toolbar" }, select("since", "Range", RANGES, since),
    el("label", {}, "Conversation", el("input", { name: "conversation", id: "f-conversation", value: conversation, placeholder: "all", size: "24" })),
    conversation ? el("a", { href: "/evaluations" + (since ? `?since=${encodeURIComponent(since)}` : ""), id: "all-conversations" }, "all conversations") : null);
  const apply = () => {
    setParams({ since: controls.querySelector("[name=since]").value, conversation: controls.querySelector("[name=conversation]").value.trim() });
    window.location.reload();
  };
  controls.querySelector("select").addEventListener("change", apply);
  controls.querySelector("input").addEventListener("keydown", (event) => { if (event.key === "Enter") apply(); });
  if (page.total === 0) return [heading, controls, emptyNote("No evaluations in this conversation and range.")];
  const cards = el("div", { class: "cards" },
    card("Evaluations", int(page.total), { id: "evaluations-total", value: page.total }),
    card("Good threshold", `score ≥ ${summary.threshold}`, { id: "threshold", value: summary.threshold, note: "or a label in " + summary.good_labels.join(", ") }),
    conversation ? card("Conversation", conversation, { id: "conversation-filter", note: el("a", { href: `/conversations/${encodeURIComponent(conversation)}` }, "its turns") }) : null);
  const recent = el("table", { id: "recent-evaluations" },
    el("thead", {}, el("tr", {}, el("th", {}, "Time"), el("th", {}, "Evaluation"), el("th", {}, "Model"), el("th", {}, "Conversation"),
      el("th", { class: "num" }, "Score"), el("th", {}, "Label"), el("th", {}, "Explanation"), el("th", {}, ""))),
    el("tbody", {}, page.items.map((e) => el("tr", { dataset: { name: e.name, source: e.source } },
      el("td", { class: "muted" }, time(e.time)), el("td", {}, e.name), el("td", {}, e.model || "(none)"),
      el("td", { class: "mono" }, conversationLink(e.conversation_id)), el("td", { class: "num" }, score(e.score)),
      el("td", {}, e.label || ""), el("td", {}, e.explanation || ""),
      el("td", {}, e.trace_id ? el("a", { href: `/traces/${e.trace_id}` }, "trace") : "")))));
  return [heading, controls, cards,
    panel("By evaluation, model and task type", groupTable("evaluation-groups", summary, ["model", "task_type"])),
    panel("By conversation", groupTable("evaluation-conversations", byConversation, ["conversation"])),
    panel("Recent", recent)];
}
