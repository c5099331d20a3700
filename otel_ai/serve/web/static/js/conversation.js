// One conversation: its totals, its turns (GenAI calls) in the order they started, each linked to its
// trace, and the evaluations made in it.
import { card, el, emptyNote, getJSON, int, ms, panel, time, usd } from "./lib.js";

const PAGE_SIZE = 100;

function turnRow(t, index) {
  const failed = t.outcome === "error";
  return el("tr", { class: "turn", dataset: { spanId: t.span_id, outcome: t.outcome } },
    el("td", { class: "num muted" }, String(index)),
    el("td", { class: "muted started" }, time(t.started_at)),
    el("td", { class: "model" }, t.model || "—", t.operation && t.operation !== "chat" ? el("span", { class: "muted" }, ` ${t.operation}`) : null),
    el("td", { class: "num tokens", dataset: { value: String(t.input_tokens + t.output_tokens) } }, `${int(t.input_tokens)} / ${int(t.output_tokens)}`),
    el("td", { class: "num cost", dataset: { value: String(t.cost_usd ?? "") } }, usd(t.cost_usd)),
    el("td", { class: "num latency", dataset: { value: String(t.latency_ms) } }, ms(t.latency_ms)),
    el("td", { class: "outcome" }, failed
      ? el("span", { class: "badge error", title: t.error_type || "" }, t.error_category || "error")
      : el("span", { class: "badge ok" }, "ok")),
    el("td", {}, el("a", { class: "trace-link", href: `/traces/${t.trace_id}` }, "trace")));
}

function score(value) {
  return value === null || value === undefined ? "–" : (+value.toPrecision(3)).toString();
}

export async function render([raw]) {
  const id = decodeURIComponent(raw);
  document.title = `Conversation ${id} · otel-ai`;
  const heading = el("h1", {}, "Conversation", el("span", { class: "sub mono", id: "conversation-id" }, id));
  let detail;
  try {
    detail = await getJSON(`/conversations/${encodeURIComponent(id)}`, { limit: PAGE_SIZE });
  } catch (error) {
    if (error.status === 404) return [heading, emptyNote("No call of this conversation is stored (retention may have removed it).")];
    throw error;
  }
  const evaluations = await getJSON("/evaluations", { conversation: id, limit: 50 });
  const cards = el("div", { class: "cards" },
    card("Turns", int(detail.calls), { id: "turns-total", value: detail.calls }),
    card("Cost", usd(detail.cost_usd), { id: "conversation-cost", value: detail.cost_usd, note: detail.unpriced_calls ? `${int(detail.unpriced_calls)} unpriced` : null }),
    card("Tokens", `${int(detail.input_tokens)} / ${int(detail.output_tokens)}`, { id: "conversation-tokens", value: detail.input_tokens + detail.output_tokens, note: "input / output" }),
    card("Errors", int(detail.errors), { id: "conversation-errors", value: detail.errors }),
    card("Mean latency", ms(detail.mean_latency_ms), { id: "conversation-latency", value: detail.mean_latency_ms ?? 0, note: `longest ${ms(detail.max_latency_ms)}` }),
    card("Users", detail.users.length ? detail.users.join(", ") : "—", { id: "conversation-users", value: detail.users.length }));
  const body = el("tbody", {}, detail.turns.map((t, i) => turnRow(t, i + 1)));
  const more = el("div", { class: "more", hidden: detail.next_offset === null });
  let next = detail.next_offset;
  const button = el("button", { type: "button", id: "more-turns" }, "More turns");
  button.addEventListener("click", async () => {
    const page = await getJSON(`/conversations/${encodeURIComponent(id)}`, { limit: PAGE_SIZE, offset: next });
    page.turns.forEach((t, i) => body.append(turnRow(t, next + i + 1)));
    next = page.next_offset;
    more.hidden = next === null;
  });
  more.append(button);
  const turns = el("table", { id: "turns" },
    el("thead", {}, el("tr", {}, el("th", { class: "num" }, "#"), el("th", {}, "Time"), el("th", {}, "Model"),
      el("th", { class: "num" }, "Tokens (in / out)"), el("th", { class: "num" }, "Cost"), el("th", { class: "num" }, "Latency"),
      el("th", {}, "Outcome"), el("th", {}, ""))), body);
  const parts = [heading, el("p", { class: "muted" }, el("a", { href: "/conversations" }, "← all conversations"),
    ` · ${time(detail.first_at)} – ${time(detail.last_at)}`), cards, panel("Turns, in order", turns, more)];
  if (evaluations.total > 0) {
    parts.push(panel("Evaluations in this conversation", el("table", { id: "conversation-evaluations" },
      el("thead", {}, el("tr", {}, el("th", {}, "Time"), el("th", {}, "Evaluation"), el("th", {}, "Model"),
        el("th", { class: "num" }, "Score"), el("th", {}, "Label"), el("th", {}, "Explanation"), el("th", {}, ""))),
      el("tbody", {}, evaluations.items.map((e) => el("tr", { dataset: { name: e.name } },
        el("td", { class: "muted" }, time(e.time)), el("td", {}, e.name), el("td", {}, e.model || "—"),
        el("td", { class: "num score" }, score(e.score)), el("td", {}, e.label || ""), el("td", {}, e.explanation || ""),
        el("td", {}, e.trace_id ? el("a", { href: `/traces/${e.trace_id}` }, "trace") : "")))))));
  }
  return parts;
}
