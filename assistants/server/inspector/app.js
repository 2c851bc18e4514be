// The inspector's entry point: the API key, the theme, and the views by URL fragment:
//   #/threads/THREAD              a thread: its runs and the conversation
//   #/threads/THREAD/runs/RUN     a run, live while it is active
//   #/assistants[/ASSISTANT]      assistants and their settings

import { ApiError, apiKey, get, setApiKey } from "./api.js";
import { assistantsView } from "./assistants.js";
import { errorBox, h, replace } from "./dom.js";
import { runView } from "./run.js";
import { threadList, threadView } from "./threads.js";

const THEME_ITEM = "assistants-inspector-theme";
const main = document.getElementById("main");
const sidebar = document.getElementById("sidebar");
const keyButton = document.getElementById("key-button");
const themeButton = document.getElementById("theme-button");

let threads = null;
let leave = () => {};

// --- theme: follows the system unless chosen --------------------------------------------

function applyTheme(choice) {
  if (choice === "light" || choice === "dark") document.documentElement.dataset.theme = choice;
  else delete document.documentElement.dataset.theme;
  themeButton.textContent = `theme: ${choice || "auto"}`;
}

themeButton.addEventListener("click", () => {
  const order = ["auto", "light", "dark"];
  const current = localStorage.getItem(THEME_ITEM) || "auto";
  const next = order[(order.indexOf(current) + 1) % order.length];
  localStorage.setItem(THEME_ITEM, next);
  applyTheme(next);
});
applyTheme(localStorage.getItem(THEME_ITEM));

// --- the API key ----------------------------------------------------------------------------

function keyForm(message) {
  const input = h("input", {
    type: "password",
    id: "api-key",
    autocomplete: "off",
    required: true,
    "aria-describedby": "key-help",
  });
  const form = h(
    "form",
    {
      class: "card key-form",
      onsubmit: (event) => {
        event.preventDefault();
        setApiKey(input.value.trim());
        start();
      },
    },
    h("h1", {}, "API key"),
    message ? h("div", { class: "error", role: "alert" }, message) : null,
    h("label", { for: "api-key" }, "This server needs an API key. You will see only that key's objects."),
    input,
    h("p", { id: "key-help", class: "muted small" }, "Kept in this tab's session storage until the tab closes."),
    h("button", { type: "submit", class: "primary" }, "Use key")
  );
  sidebar.replaceChildren();
  replace(main, form);
  input.focus();
}

keyButton.addEventListener("click", () => {
  setApiKey("");
  keyForm(null);
});

// --- views ----------------------------------------------------------------------------------

async function route() {
  leave();
  leave = () => {};
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  replace(main, h("p", { class: "muted" }, "loading…"));
  threads?.refresh();
  try {
    if (parts[0] === "threads" && parts.length === 2) leave = await threadView(main, parts[1]);
    else if (parts[0] === "threads" && parts[2] === "runs" && parts.length === 4) {
      leave = await runView(main, parts[1], parts[3]);
    } else if (parts[0] === "assistants") leave = await assistantsView(main, parts[1]);
    else replace(main, h("div", { class: "card" }, h("h1", {}, "Inspector"), h("p", {}, "Pick a thread on the left, or look at the assistants.")));
    main.focus({ preventScroll: true });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) keyForm(error.message);
    else replace(main, errorBox(error));
  }
}

async function start() {
  try {
    await get("/inspector/threads?limit=1");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      keyForm(apiKey() ? `That key was refused: ${error.message}` : null);
      return;
    }
    replace(main, errorBox(error));
    return;
  }
  keyButton.hidden = !apiKey();
  threads = threadList(sidebar);
  await route();
}

window.addEventListener("hashchange", route);
document.addEventListener("keydown", (event) => {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName || "");
  if (event.key === "/" && !typing && threads) {
    event.preventDefault();
    threads.focus();
  }
});
start();
