// Errors: failed calls by category, each with its share, the provider codes seen under it and the
// recommended action (the same advice table as `otel-ai report errors`: otel_ai/genai/advice.py).
import { RANGES, card, el, emptyStore, getJSON, int, panel, params, pct, select, setParams } from "./lib.js";

export async function render() {
  document.title = "Errors · otel-ai";
  const since = params().get("since") || "";
  const [errors, summary, traces] = await Promise.all([
    getJSON("/errors", { since }), getJSON("/summary", { since }), getJSON("/traces", { limit: 1 }),
  ]);
  const heading = el("h1", {}, "Errors", el("span", { class: "sub" }, "failed GenAI calls by category, with what to do"));
  if (traces.total === 0 && summary.calls === 0) return [heading, emptyStore("No calls yet")];
  const controls = el("div", { class: "toolbar" }, select("since", "Range", RANGES, since));
  controls.querySelector("select").addEventListener("change", (event) => {
    setParams({ since: event.target.value });
    window.location.reload();
  });
  const cards = el("div", { class: "cards" },
    card("Failed calls", int(errors.total), { id: "errors-total", value: errors.total }),
    card("Calls", int(summary.calls), { id: "calls", value: summary.calls }),
    card("Error rate", pct(summary.error_rate), { id: "error-rate", value: summary.error_rate }));
  if (errors.total === 0) {
    return [heading, controls, cards, el("div", { class: "empty", id: "no-errors" }, el("strong", {}, "No failed calls in this range"))];
  }
  const table = el("table", { id: "error-categories" },
    el("thead", {}, el("tr", {}, el("th", {}, "Category"), el("th", { class: "num" }, "Failed calls"), el("th", {}, "Share of failures"),
      el("th", { class: "num" }, "Of all calls"), el("th", {}, "Provider codes"), el("th", {}, "Recommended action"), el("th", {}, ""))),
    el("tbody", {}, errors.categories.map((c) => el("tr", { dataset: { category: c.category } },
      el("td", {}, el("span", { class: "badge error" }, c.category)),
      el("td", { class: "num count" }, int(c.count)),
      el("td", {}, el("div", { style: { display: "flex", gap: "8px", alignItems: "center" } },
        el("div", { class: "share-bar" }, el("span", { style: { width: `${(c.share * 100).toFixed(1)}%` } })), pct(c.share))),
      el("td", { class: "num" }, pct(c.rate)),
      el("td", { class: "codes" }, (c.codes || []).map((k) => el("div", { class: "code", dataset: { code: k.code || "" } },
        el("code", {}, k.code || "no code"), ` ${int(k.count)}`))),
      el("td", { class: "action" }, el("div", { class: "category-action" }, c.action), (c.codes || []).filter((k) => k.code && k.action).map((k) =>
        el("div", { class: "code-action", dataset: { code: k.code } }, el("code", {}, k.code), ": ", k.action))),
      el("td", {}, el("a", { href: `/api/v1/export?format=csv&status=error&error_category=${encodeURIComponent(c.category)}` }, "calls (CSV)"))))));
  return [heading, controls, cards, panel("By category", table),
    el("p", {}, el("a", { href: "/traces?status=error" }, "Failed traces →"))];
}
