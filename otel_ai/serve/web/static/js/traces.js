// Trace list: newest first, filtered by service, model and status, paged.
import { el, emptyNote, emptyStore, errorBanner, getJSON, int, ms, params, select, setParams, time, usd } from "./lib.js";

const PAGE_SIZE = 25;

function optionsOf(costs) {
  return costs.groups.map((g) => g.key).filter((k) => k !== "" && k !== null).sort().map((k) => [k, k]);
}

function row(t) {
  return el("tr", { class: "trace", dataset: { traceId: t.trace_id, service: t.service ?? "", error: t.error ? "1" : "0" } },
    el("td", { class: "muted" }, time(t.start)),
    el("td", {}, el("a", { href: `/traces/${t.trace_id}` }, t.name || "(unnamed)")),
    el("td", {}, t.service ?? "—"),
    el("td", { class: "num" }, int(t.span_count)),
    el("td", { class: "num" }, ms(t.duration_ms)),
    el("td", { class: "num" }, int(t.genai_calls ?? 0)),
    el("td", { class: "num", dataset: { value: String(t.cost_usd ?? 0) } }, t.cost_usd == null ? "—" : usd(t.cost_usd)),
    el("td", {}, status(t)));
}

// Failed GenAI calls, not failed spans: one failed call also fails the HTTP spans beneath it, and
// "error ×4" for one failure misleads. The tooltip gives both counts.
function status(t) {
  if (!t.error) return el("span", { class: "badge ok status" }, "ok");
  const failed = t.failed_calls ?? 0;
  const spans = `${int(t.error_count)} failed span${t.error_count === 1 ? "" : "s"}`;
  if (failed === 0) {
    return el("span", { class: "badge error status", dataset: { failedCalls: "0" }, title: `no GenAI call failed; ${spans}` }, "error");
  }
  const calls = `${int(failed)} failed call${failed === 1 ? "" : "s"}`;
  return el("span", { class: "badge error status", dataset: { failedCalls: String(failed) },
    title: `${calls} of ${int(t.genai_calls ?? failed)} GenAI call${(t.genai_calls ?? failed) === 1 ? "" : "s"}; ${spans} (HTTP spans beneath a call included)` }, calls);
}

export async function render() {
  document.title = "Traces · otel-ai";
  const query = params();
  const state = {
    service: query.get("service") || "", model: query.get("model") || "", status: query.get("status") || "",
    offset: Math.max(0, parseInt(query.get("offset") || "0", 10) || 0),
  };
  const [first, services, models] = await Promise.all([
    getJSON("/traces", { limit: 1 }),
    getJSON("/costs", { group_by: "service" }),
    getJSON("/costs", { group_by: "model" }),
  ]);
  const heading = el("h1", {}, "Traces", el("span", { class: "sub" }, "newest first"));
  if (first.total === 0) return [heading, emptyStore("No traces yet")];

  const serviceOptions = optionsOf(services);
  if (state.service && !serviceOptions.some(([v]) => v === state.service)) serviceOptions.push([state.service, state.service]);
  const modelOptions = optionsOf(models);
  if (state.model && !modelOptions.some(([v]) => v === state.model)) modelOptions.push([state.model, state.model]);
  const toolbar = el("form", { class: "toolbar", id: "filters", onsubmit: (e) => e.preventDefault() },
    select("service", "Service", [["", "All"], ...serviceOptions], state.service),
    select("model", "Model", [["", "All"], ...modelOptions], state.model),
    select("status", "Status", [["", "All"], ["ok", "OK"], ["error", "Error"]], state.status));
  const results = el("div", { id: "results" }, el("p", { class: "loading" }, "Loading…"));

  async function load() {
    setParams(state);
    if (results.isConnected) document.body.dataset.ready = "";
    try {
      const page = await getJSON("/traces", {
        service: state.service, model: state.model, status: state.status, limit: PAGE_SIZE, offset: state.offset,
      });
      if (page.items.length === 0) {
        results.replaceChildren(emptyNote(state.offset > 0 ? "No more traces." : "No traces match these filters."));
      } else {
        const total = page.total_capped ? `${int(page.total)}+` : int(page.total);
        const prev = el("button", { type: "button", id: "prev", disabled: state.offset === 0 }, "← Newer");
        const next = el("button", { type: "button", id: "next", disabled: !page.has_more }, "Older →");
        prev.addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE_SIZE); load(); });
        next.addEventListener("click", () => { state.offset += PAGE_SIZE; load(); });
        results.replaceChildren(
          el("section", { class: "panel" },
            el("table", { id: "traces" },
              el("thead", {}, el("tr", {},
                el("th", {}, "Start"), el("th", {}, "Root span"), el("th", {}, "Service"), el("th", { class: "num" }, "Spans"),
                el("th", { class: "num" }, "Duration"), el("th", { class: "num" }, "GenAI calls"), el("th", { class: "num" }, "Cost"),
                el("th", {}, "Status"))),
              el("tbody", {}, page.items.map(row))),
            el("div", { class: "pager" },
              el("span", { id: "range", dataset: { total: String(page.total) } },
                `${int(state.offset + 1)}–${int(state.offset + page.items.length)} of ${total}`),
              prev, next)));
      }
      if (results.isConnected) document.body.dataset.ready = "1";  // the first load: app.js marks it
    } catch (error) {
      results.replaceChildren(errorBanner(error));
      if (results.isConnected) document.body.dataset.ready = "error";
    }
  }

  for (const name of ["service", "model", "status"]) {
    toolbar.querySelector(`select[name=${name}]`).addEventListener("change", (event) => {
      state[name] = event.target.value;
      state.offset = 0;
      load();
    });
  }
  await load();
  return [heading, toolbar, results];
}
