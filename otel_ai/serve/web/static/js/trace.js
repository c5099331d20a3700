// One trace as a waterfall: a bar per span, placed by its start and duration, indented by depth; a click
// shows the span's attributes and events; the trace's logs below.
import { el, getJSON, int, ms, time, usd } from "./lib.js";

function value(v) {
  if (v === null || v === undefined) return "";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

// The GenAI details event carries its content in attributes and no body: structured values from current
// agents, JSON strings from older ones (which also sent the messages as the body).
const CONTENT = ["gen_ai.system_instructions", "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.definitions"];

function parsed(v) {
  if (typeof v !== "string") return v;
  try { return JSON.parse(v); } catch { return v; }
}

/** What the logs table shows for a record: its body, else its event name and content attributes. */
export function logText(log) {
  if (log.body !== null && log.body !== undefined) return value(log.body);
  const attributes = log.attributes || {};
  const content = Object.fromEntries(CONTENT.filter((k) => k in attributes).map((k) => [k, parsed(attributes[k])]));
  return [log.event_name || "", Object.keys(content).length ? JSON.stringify(content) : ""].filter(Boolean).join(" ");
}

function attrTable(attributes, id) {
  const keys = Object.keys(attributes || {}).sort();
  if (keys.length === 0) return el("p", { class: "muted" }, "none");
  return el("table", { class: "attrs", id },
    el("tbody", {}, keys.map((k) => el("tr", { dataset: { key: k } }, el("td", { class: "mono" }, k), el("td", { class: "mono" }, value(attributes[k]))))));
}

// Spans that carry gen_ai.operation.name but are units of work, not calls (otel_ai/serve/store/convert.py
// UNIT_OF_WORK_OPERATIONS): coloured as units of work, never as GenAI calls.
const UNIT_OF_WORK = new Set(["invoke_workflow", "invoke_agent", "execute_tool"]);

/** "error", "genai", "unit" or "other": what a span's bar colour says (one rule for bar and legend). */
export function spanClass(span) {
  if (span.status_code === "ERROR") return "error";
  const operation = span.attributes?.["gen_ai.operation.name"];
  if (!operation) return "other";
  return UNIT_OF_WORK.has(operation) ? "unit" : "genai";
}

/** The span selected when the page opens: the first failed one, else the first GenAI call, else the root. */
function firstToShow(spans) {
  const isCall = (s) => { const op = s.attributes?.["gen_ai.operation.name"]; return Boolean(op) && !UNIT_OF_WORK.has(op); };
  return spans.find((s) => s.status_code === "ERROR") ?? spans.find(isCall) ?? spans[0];
}

function offsetMs(ns, startNs) {
  return (ns - startNs) / 1e6;
}

function spanDetail(span, startNs) {
  const isError = span.status_code === "ERROR";
  return el("div", { class: "detail", id: "span-detail", dataset: { spanId: span.span_id } },
    el("h2", {}, span.name),
    el("dl", {},
      el("dt", {}, "Span"), el("dd", { class: "mono" }, span.span_id),
      el("dt", {}, "Parent"), el("dd", { class: "mono" }, span.parent_span_id ?? "—"),
      el("dt", {}, "Kind"), el("dd", {}, span.kind),
      el("dt", {}, "Service"), el("dd", {}, span.service ?? "—"),
      el("dt", {}, "Start"), el("dd", {}, `+${ms(offsetMs(span.start_ns, startNs))}`),
      el("dt", {}, "Duration"), el("dd", {}, ms(span.duration_ms)),
      el("dt", {}, "Status"), el("dd", {}, el("span", { class: isError ? "badge error" : "badge" }, span.status_code),
        span.status_message ? " " + span.status_message : ""),
      el("dt", {}, "Scope"), el("dd", {}, [span.scope?.name, span.scope?.version].filter(Boolean).join(" ") || "—")),
    el("h3", {}, "Attributes"), attrTable(span.attributes, "span-attributes"),
    el("h3", {}, `Events (${span.events.length})`),
    span.events.length === 0 ? el("p", { class: "muted" }, "none")
      : el("div", { id: "span-events" }, span.events.map((e) => el("div", { class: "event" },
        el("p", {}, el("strong", {}, e.name), el("span", { class: "muted" }, ` +${ms(offsetMs(e.time_ns, startNs))}`)),
        attrTable(e.attributes)))),
    el("details", {}, el("summary", {}, "Resource"), attrTable(span.resource)));
}

/** One page of the trace: spans from `offset`, log records from `logOffset` (the API answers at most 1,000 of each). */
function page(traceId, offset = 0, logOffset = 0) {
  return getJSON(`/traces/${encodeURIComponent(traceId)}`, { offset: offset || null, log_offset: logOffset || null });
}

export async function render([traceId]) {
  document.title = "Trace · otel-ai";
  const heading = el("h1", {}, "Trace", el("span", { class: "sub mono" }, traceId));
  let trace;
  try {
    trace = await page(traceId);
  } catch (error) {
    if (error.status === 404 || error.status === 422) {
      return [heading, el("div", { class: "empty", id: "empty" }, el("strong", {}, "No such trace in the store"),
        "It may not have arrived yet, or retention removed it. ", el("a", { href: "/traces" }, "All traces"))];
    }
    throw error;
  }
  document.title = `${trace.name} · Trace · otel-ai`;
  // The axis spans the whole trace (the summary's start and duration), not only the spans loaded so far.
  const startNs = trace.start_ns;
  const totalMs = Math.max(trace.duration_ms, 1e-6);
  const position = (ns) => Math.min(100, Math.max(0, (offsetMs(ns, startNs) / totalMs) * 100));
  const spanTotal = trace.span_total ?? trace.spans.length;

  const header = el("div", { class: "cards" },
    el("div", { class: "card" }, el("div", { class: "label" }, "Root span"), el("div", { class: "value", id: "trace-name", style: { fontSize: "16px" } }, trace.name)),
    el("div", { class: "card" }, el("div", { class: "label" }, "Service"), el("div", { class: "value", style: { fontSize: "16px" } }, trace.service ?? "—")),
    el("div", { class: "card" }, el("div", { class: "label" }, "Started"), el("div", { class: "value", style: { fontSize: "16px" } }, time(trace.start))),
    el("div", { class: "card" }, el("div", { class: "label" }, "Duration"), el("div", { class: "value", id: "trace-duration" }, ms(trace.duration_ms))),
    el("div", { class: "card" }, el("div", { class: "label" }, "Spans"), el("div", { class: "value", id: "trace-spans" }, int(spanTotal))),
    el("div", { class: "card" }, el("div", { class: "label" }, "Cost"), el("div", { class: "value", id: "trace-cost", dataset: { value: String(trace.cost_usd ?? 0) } }, usd(trace.cost_usd ?? 0))),
    el("div", { class: "card" }, el("div", { class: "label" }, "Errors"), el("div", { class: "value", id: "trace-errors" }, int(trace.error_count))));

  const detail = el("section", { class: "panel", id: "detail-panel" }, el("p", { class: "muted" }, "Click a span to see its attributes and events."));
  const rows = new Map(); // span id -> [span, row], for the spans loaded so far
  const select = (span, row) => {
    for (const [, r] of rows.values()) r.classList.toggle("selected", r === row);
    detail.replaceChildren(spanDetail(span, startNs));
  };
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => el("span", { style: { left: `${f * 100}%` } }, ms(totalMs * f)));
  const waterfall = el("div", { class: "waterfall", id: "waterfall" },
    el("div", { class: "wf-row head" }, el("div", { class: "wf-name" }, "Span"), el("div", { class: "wf-axis" }, ticks)));
  const addSpans = (spans) => {
    for (const span of spans) {
      const left = position(span.start_ns);
      const width = Math.max(position(span.end_ns) - left, 0.3);
      const kind = spanClass(span);
      const isError = kind === "error";
      const durLeft = left + width > 80 ? { right: `${100 - left + 0.5}%` } : { left: `calc(${left + width}% + 6px)` };
      const row = el("div", {
        class: "wf-row span", role: "button", tabindex: "0",
        dataset: { spanId: span.span_id, parentId: span.parent_span_id ?? "", depth: String(span.depth), colour: kind },
        title: `${span.name} · ${ms(span.duration_ms)}`,
      },
      el("div", { class: "wf-name", style: { paddingLeft: `${8 + Math.min(span.depth, 40) * 18}px` } },
        span.depth > 0 ? el("span", { class: "twig" }, "└ ") : null,
        el("span", { class: "span-name" }, span.name),
        el("span", { class: "kind" }, span.kind),
        isError ? el("span", { class: "badge error", style: { marginLeft: "6px" } }, "error") : null),
      el("div", { class: "wf-track" },
        el("div", { class: `wf-bar${kind === "other" ? "" : " " + kind}`, style: { left: `${left}%`, width: `${width}%` } }),
        el("span", { class: "wf-dur", style: durLeft }, ms(span.duration_ms))));
      row.addEventListener("click", () => select(span, row));
      row.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(span, row); } });
      rows.set(span.span_id, [span, row]);
      waterfall.append(row);
    }
  };
  addSpans(trace.spans);

  // Further pages of spans on demand: a trace can hold 100,000 of them.
  let nextOffset = trace.next_offset ?? null;
  const spansShown = el("span", { id: "spans-shown" });
  const moreSpans = el("button", { type: "button", id: "more-spans" }, "Load more spans");
  const spansMore = el("div", { class: "more", id: "spans-more" }, spansShown, moreSpans);
  const updateSpans = () => {
    spansShown.textContent = `${int(rows.size)} of ${int(spanTotal)} spans shown`;
    spansMore.hidden = nextOffset === null;
  };
  moreSpans.addEventListener("click", async () => {
    moreSpans.disabled = true;
    try {
      const next = await page(traceId, nextOffset, 0);
      addSpans(next.spans);
      nextOffset = next.next_offset ?? null;
    } catch (error) {
      spansShown.textContent = `Could not load more spans: ${error.message}`;
    } finally {
      moreSpans.disabled = false;
      updateSpans();
    }
  });
  updateSpans();

  const swatch = (kind, text) => el("span", { class: "legend-item", dataset: { colour: kind } }, el("span", { class: `swatch ${kind}` }), text, "  ");
  const legend = el("p", { class: "muted", id: "legend", style: { marginTop: "8px", fontSize: "12px" } },
    "Bars: ", swatch("genai", "GenAI call"), swatch("unit", "workflow, agent or tool"), swatch("other", "other span"),
    swatch("error", "failed"));

  const logTotal = trace.log_total ?? trace.logs.length;
  let nextLogOffset = trace.next_log_offset ?? null;
  let logsShown = 0;
  const logBody = el("tbody", {});
  const addLogs = (logs) => {
    for (const log of logs) {
      const loaded = rows.get(log.span_id);
      logBody.append(el("tr", { class: "log" },
        el("td", { class: "num muted" }, `+${ms(offsetMs(log.time_ns, startNs))}`),
        el("td", { class: `sev-${log.severity_text || ""}` }, log.severity_text || String(log.severity_number)),
        el("td", { class: "body" }, logText(log)),
        el("td", {}, loaded ? el("a", { href: "#", onclick: (e) => { e.preventDefault(); const [span, row] = rows.get(log.span_id); select(span, row); } }, loaded[0].name)
          : el("span", { class: "mono muted" }, log.span_id ?? "—"))));
    }
    logsShown += logs.length;
  };
  addLogs(trace.logs);
  const logsCount = el("span", { id: "logs-shown" });
  const moreLogs = el("button", { type: "button", id: "more-logs" }, "Load more log records");
  const logsMore = el("div", { class: "more", id: "logs-more" }, logsCount, moreLogs);
  const updateLogs = () => {
    logsCount.textContent = `${int(logsShown)} of ${int(logTotal)} log records shown`;
    logsMore.hidden = nextLogOffset === null;
  };
  moreLogs.addEventListener("click", async () => {
    moreLogs.disabled = true;
    try {
      const next = await getJSON(`/traces/${encodeURIComponent(traceId)}`, { limit: 1, log_offset: nextLogOffset });
      addLogs(next.logs);
      nextLogOffset = next.next_log_offset ?? null;
    } catch (error) {
      logsCount.textContent = `Could not load more log records: ${error.message}`;
    } finally {
      moreLogs.disabled = false;
      updateLogs();
    }
  });
  updateLogs();
  const logs = logTotal === 0
    ? el("p", { class: "muted", id: "no-logs" }, "No log records in this trace.")
    : el("div", {}, el("table", { id: "logs" },
      el("thead", {}, el("tr", {}, el("th", {}, "Time"), el("th", {}, "Severity"), el("th", {}, "Message"), el("th", {}, "Span"))),
      logBody), logsMore);

  if (trace.spans.length > 0) {
    const first = firstToShow(trace.spans);
    select(first, rows.get(first.span_id)[1]);
  }
  return [
    heading, header,
    el("div", { class: "grid2 align-start row-gap", style: { gridTemplateColumns: "minmax(0, 3fr) minmax(0, 2fr)" } },
      el("section", { class: "panel" }, el("h2", {}, "Waterfall"), waterfall, spansMore, legend),
      detail),
    el("section", { class: "panel" }, el("h2", {}, `Logs (${int(logTotal)})`), logs),
    el("p", {}, el("a", { href: "/traces" }, "← All traces")),
  ];
}
