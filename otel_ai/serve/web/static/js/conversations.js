// Conversations (gen_ai.conversation.id) and users (user.id / user.hash): one row each with its turns, cost,
// tokens, errors and latency; sortable by the column headers (highest first, server-side) and paged.
import { RANGES, el, emptyNote, emptyStore, errorBanner, getJSON, int, ms, params, select, setParams, time, usd } from "./lib.js";

const PAGE_SIZE = 25;
const VIEWS = { conversations: "Conversations", users: "Users" };

// [sort key or null, header, numeric]
const COLUMNS = {
  conversations: [[null, "Conversation"], [null, "User"], ["calls", "Turns", true], ["errors", "Errors", true],
    ["tokens", "Tokens (in / out)", true], ["cost", "Cost", true], ["latency", "Mean latency", true], ["recent", "Last seen"]],
  users: [[null, "User"], [null, "Conversations", true], ["calls", "Calls", true], ["errors", "Errors", true],
    ["tokens", "Tokens (in / out)", true], ["cost", "Cost", true], ["latency", "Mean latency", true], ["recent", "Last seen"]],
};
const DEFAULT_SORT = { conversations: "recent", users: "cost" };

const num = (text, cls = "", value) => el("td", { class: `num ${cls}`, dataset: value === undefined ? undefined : { value: String(value) } }, text);
const tokens = (r) => num(`${int(r.input_tokens)} / ${int(r.output_tokens)}`, "tokens", r.input_tokens + r.output_tokens);
const cost = (r) => num(usd(r.cost_usd) + (r.unpriced_calls ? " *" : ""), "cost", r.cost_usd);

function conversationRow(c) {
  const user = c.user ?? (c.users > 1 ? `${int(c.users)} users` : "—");
  return el("tr", { class: "conversation", dataset: { conversation: c.conversation_id } },
    el("td", { class: "mono" }, el("a", { href: `/conversations/${encodeURIComponent(c.conversation_id)}` }, c.conversation_id)),
    el("td", { class: "user" }, c.user ? el("a", { href: `/conversations?user=${encodeURIComponent(c.user)}` }, user) : user),
    num(int(c.calls), "calls", c.calls), num(int(c.errors), c.errors ? "errors has-errors" : "errors", c.errors), tokens(c), cost(c),
    num(ms(c.mean_latency_ms), "latency", c.mean_latency_ms ?? 0), el("td", { class: "muted last-seen", dataset: { value: c.last_at ?? "" } }, time(c.last_at)));
}

function userRow(u) {
  return el("tr", { class: "user-row", dataset: { user: u.user } },
    el("td", {}, el("a", { href: `/conversations?user=${encodeURIComponent(u.user)}` }, u.user)),
    num(int(u.conversations), "conversations", u.conversations), num(int(u.calls), "calls", u.calls),
    num(int(u.errors), "errors", u.errors), tokens(u), cost(u), num(ms(u.mean_latency_ms), "latency", u.mean_latency_ms ?? 0),
    el("td", { class: "muted last-seen" }, time(u.last_at)));
}

export async function render() {
  document.title = "Conversations · otel-ai";
  const query = params();
  const view = query.get("view") === "users" ? "users" : "conversations";
  const sorts = COLUMNS[view].map(([key]) => key).filter(Boolean);
  const state = {
    view: view === "users" ? "users" : "", user: view === "users" ? "" : (query.get("user") || ""), since: query.get("since") || "",
    sort: sorts.includes(query.get("sort")) ? query.get("sort") : DEFAULT_SORT[view],
    offset: Math.max(0, parseInt(query.get("offset") || "0", 10) || 0),
  };
  const heading = el("h1", {}, "Conversations", el("span", { class: "sub" }, "the calls of each conversation (gen_ai.conversation.id) and each user"));
  const first = await getJSON("/conversations", { limit: 1 });
  if (first.total === 0 && (await getJSON("/users", { limit: 1 })).items.length === 0) {
    return [heading, emptyStore("No conversations yet: wrap the calls in otel_ai.conversation(id=..., user=...)")];
  }
  const tabs = el("nav", { class: "tabs", id: "views" }, Object.entries(VIEWS).map(([key, label]) =>
    el("a", { href: key === "users" ? "/conversations?view=users" : "/conversations", class: key === view ? "active" : "", dataset: { view: key } }, label)));
  const toolbar = el("form", { class: "toolbar", id: "filters", onsubmit: (e) => e.preventDefault() }, select("since", "Range", RANGES, state.since),
    state.user ? el("span", { class: "badge filter", id: "user-filter" }, `user ${state.user} `,
      el("a", { href: "/conversations" + (state.since ? `?since=${encodeURIComponent(state.since)}` : ""), title: "all users" }, "×")) : null);
  const results = el("div", { id: "results" }, el("p", { class: "loading" }, "Loading…"));

  async function load() {
    setParams({ ...state, sort: state.sort === DEFAULT_SORT[view] ? "" : state.sort });
    if (results.isConnected) document.body.dataset.ready = "";
    try {
      const page = await getJSON(view === "users" ? "/users" : "/conversations",
        { user: state.user, since: state.since, sort: state.sort, limit: PAGE_SIZE, offset: state.offset });
      if (page.items.length === 0) {
        results.replaceChildren(emptyNote(state.offset > 0 ? `No more ${view}.` : `No ${view} in this range.`));
      } else {
        const head = COLUMNS[view].map(([key, label, numeric]) => {
          if (!key) return el("th", { class: numeric ? "num" : "" }, label);
          const active = key === state.sort;
          const button = el("button", { type: "button", class: "sort", dataset: { sort: key } }, label, active ? " ▼" : "");
          button.addEventListener("click", () => { state.sort = key; state.offset = 0; load(); });
          return el("th", { class: numeric ? "num" : "", "aria-sort": active ? "descending" : null }, button);
        });
        const total = page.total === undefined ? null : page.total_capped ? `${int(page.total)}+` : int(page.total);
        const prev = el("button", { type: "button", id: "prev", disabled: state.offset === 0 }, "← Previous");
        const next = el("button", { type: "button", id: "next", disabled: !page.has_more }, "Next →");
        prev.addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE_SIZE); load(); });
        next.addEventListener("click", () => { state.offset += PAGE_SIZE; load(); });
        results.replaceChildren(el("section", { class: "panel" },
          el("table", { id: view }, el("thead", {}, el("tr", {}, head)),
            el("tbody", {}, page.items.map(view === "users" ? userRow : conversationRow))),
          page.items.some((r) => r.unpriced_calls) ? el("p", { class: "muted" }, "* some calls had usage but no price: not in the cost") : null,
          el("div", { class: "pager" },
            el("span", { id: "range", dataset: { total: String(page.total ?? "") } },
              `${int(state.offset + 1)}–${int(state.offset + page.items.length)}` + (total ? ` of ${total}` : "")),
            prev, next)));
      }
      if (results.isConnected) document.body.dataset.ready = "1";
    } catch (error) {
      results.replaceChildren(errorBanner(error));
      if (results.isConnected) document.body.dataset.ready = "error";
    }
  }

  toolbar.querySelector("select[name=since]").addEventListener("change", (event) => {
    state.since = event.target.value;
    state.offset = 0;
    load();
  });
  await load();
  return [heading, tabs, toolbar, results];
}
