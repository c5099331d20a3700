// Shared helpers of the dashboard pages: the JSON API, DOM building, number formats, empty states.

export const API = "/api/v1";

/** GET an API endpoint; `params` with null/undefined/"" values are left out. Throws an Error with the API's detail. */
export async function getJSON(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
  }
  const url = API + path + (query.toString() ? "?" + query : "");
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const body = await response.json();
      detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    } catch { /* not JSON */ }
    const error = new Error(`${url}: ${response.status} ${detail}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

/** An element: el("td", {class: "num", dataset: {value: 3}}, "text", child, …). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style" && typeof value === "object") Object.assign(node.style, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// -- formats ---------------------------------------------------------------------------------------------

/** USD, the one money rule of every surface (otel_ai/money.py `format_usd` in Python): "$" and two
 * decimals from $1 up ($1,234.50); below $1 four significant digits, trailing zeros dropped down to two
 * decimals ($0.50, $0.0006187, $0.00006825), never "0.0000"; zero is $0.00. */
export function usd(value) {
  if (value === null || value === undefined) return "—";
  const abs = Math.abs(value);
  const sign = value < 0 ? "-$" : "$";
  if (abs === 0) return "$0.00";
  if (abs < 1) {
    const decimals = Math.min(20, Math.max(2, 3 - Math.floor(Math.log10(abs))));
    const text = abs.toFixed(decimals);
    if (Number(text) < 1) {
      const [whole, fraction] = text.split(".");
      return sign + whole + "." + fraction.replace(/0+$/, "").padEnd(2, "0");
    }
  }
  return sign + abs.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export function int(value) {
  return value === null || value === undefined ? "—" : Number(value).toLocaleString("en-US");
}

export function pct(value) {
  return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%";
}

export function ms(value) {
  if (value === null || value === undefined) return "—";
  if (value >= 1000) return (value / 1000).toFixed(2) + " s";
  if (value >= 10) return value.toFixed(0) + " ms";
  return value.toFixed(1) + " ms";
}

export function time(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** A group key as shown: '' (the calls did not record it) as "(none)". */
export function key(value) {
  return value === "" || value === null || value === undefined ? "(none)" : value;
}

// -- page furniture -----------------------------------------------------------------------------------------

export function card(label, text, { id, value, note } = {}) {
  return el("div", { class: "card" },
    el("div", { class: "label" }, label),
    el("div", { class: "value", id, dataset: value === undefined ? undefined : { value: String(value) } }, text),
    note ? el("div", { class: "note" }, note) : null);
}

export function panel(title, ...children) {
  return el("section", { class: "panel" }, title ? el("h2", {}, title) : null, ...children);
}

/** The message an empty store shows on every page instead of charts and tables. */
export function emptyStore(what = "No data yet") {
  return el("div", { class: "empty", id: "empty" },
    el("strong", {}, what),
    "Nothing has been received yet. Run the app under the agent (",
    el("code", {}, "opentelemetry-instrument python app.py"),
    ") with its OTLP endpoint on this server, then reload.");
}

export function emptyNote(text) {
  return el("div", { class: "empty" }, el("strong", {}, text));
}

export function errorBanner(error) {
  return el("div", { class: "error-banner", role: "alert" }, "Could not load the data: ", error.message || String(error));
}

/** Query-string state of a page (filters, range, paging). */
export function params() {
  return new URLSearchParams(window.location.search);
}

export function setParams(values) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== null && v !== undefined && v !== "" && v !== 0) query.set(k, v);
  const url = window.location.pathname + (query.toString() ? "?" + query : "");
  window.history.replaceState(null, "", url);
}

export function select(name, label, options, current) {
  return el("label", {}, label,
    el("select", { name, id: "f-" + name },
      options.map(([value, text]) => el("option", { value, selected: value === current }, text))));
}

/** The time ranges the report pages offer (`since`). */
export const RANGES = [["", "All time"], ["24h", "Last 24 hours"], ["7d", "Last 7 days"], ["30d", "Last 30 days"]];

// -- charts (Chart.js, vendored: /static/vendor/chart.umd.js) ------------------------------------------------

export const PALETTE = ["#3559e0", "#7a4ee0", "#12805c", "#e08a1e", "#d92d20", "#0e9bb0", "#a3479b", "#5b6b8c"];

export function chart(canvas, config) {
  const Chart = window.Chart;
  if (!Chart) throw new Error("Chart.js did not load (/static/vendor/chart.umd.js)");
  Chart.defaults.animation = false;
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.color = "#667085";
  Chart.defaults.maintainAspectRatio = false;
  return new Chart(canvas, config);
}

export function chartBox(id, small = false) {
  const canvas = el("canvas", { id, role: "img" });
  return [el("div", { class: small ? "chart small" : "chart" }, canvas), canvas];
}
