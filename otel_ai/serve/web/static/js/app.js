// The dashboard's entry point: picks the page from the path, renders it into <main id="app">, and marks
// <body data-ready> once done (data-ready="error" when the API failed).
import { errorBanner } from "./lib.js";

const ROUTES = [
  [/^\/$/, "overview", "./overview.js"],
  [/^\/traces\/?$/, "traces", "./traces.js"],
  [/^\/traces\/([0-9a-fA-F]{32})\/?$/, "traces", "./trace.js"],
  [/^\/traces\/(.+)$/, "traces", "./trace.js"],
  [/^\/costs\/?$/, "costs", "./costs.js"],
  [/^\/errors\/?$/, "errors", "./errors.js"],
  [/^\/evaluations\/?$/, "evaluations", "./evals.js"],
  [/^\/conversations\/?$/, "conversations", "./conversations.js"],
  [/^\/conversations\/(.+)$/, "conversations", "./conversation.js"],
];

async function main() {
  const main = document.getElementById("app");
  const path = window.location.pathname;
  const route = ROUTES.find(([pattern]) => pattern.test(path)) || ROUTES[0];
  const [pattern, name, module] = route;
  for (const link of document.querySelectorAll("nav a[data-page]")) {
    link.classList.toggle("active", link.dataset.page === name);
  }
  const match = path.match(pattern);
  try {
    const page = await import(module);
    const content = await page.render(match ? match.slice(1) : []);
    main.replaceChildren(...[content].flat());
    await page.after?.();
    document.body.dataset.ready = "1";
  } catch (error) {
    main.replaceChildren(errorBanner(error));
    document.body.dataset.ready = "error";
  }
}

main();
