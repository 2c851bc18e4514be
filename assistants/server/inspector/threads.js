// The thread list (newest first, searchable by id and metadata) and one thread's view.

import { get, listAll, query } from "./api.js";
import { badge, errorBox, fields, formatTime, h, idChip, jsonBlock, replace, section } from "./dom.js";
import { conversation } from "./messages.js";

const RUNS_WITH_STEPS = 20;

export function threadList(container) {
  const search = h("input", {
    type: "search",
    id: "thread-search",
    placeholder: "search id or metadata  ( / )",
    "aria-label": "Search threads by id or metadata",
  });
  const list = h("ul", { class: "thread-list", "aria-label": "Threads" });
  const more = h("button", { type: "button", class: "more", hidden: true }, "Load more");
  replace(container, h("h2", {}, "Threads"), search, list, more);

  let after = null;
  let pages = 0;
  let generation = 0;

  async function load(reset) {
    const mine = reset ? ++generation : generation;
    if (reset) after = null;
    try {
      const page = await get(`/inspector/threads${query({ q: search.value.trim(), after, limit: 30 })}`);
      if (mine !== generation) return;
      if (reset) list.replaceChildren();
      for (const thread of page.data) list.append(threadItem(thread));
      if (reset && !page.data.length) list.append(h("li", { class: "muted" }, "no threads"));
      after = page.last_id;
      pages = reset ? 1 : pages + 1;
      more.hidden = !page.has_more;
    } catch (error) {
      replace(list, h("li", {}, errorBox(error)));
    }
  }

  let debounce = null;
  search.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => load(true), 250);
  });
  more.addEventListener("click", () => load(false));
  return {
    load: () => load(true),
    /** Reload the first page (statuses move) unless more pages were loaded by hand. */
    refresh: () => (pages <= 1 ? load(true) : null),
    focus: () => search.focus(),
  };
}

function threadItem(thread) {
  const meta = Object.entries(thread.metadata || {})
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  return h(
    "li",
    { "data-thread": thread.id },
    h(
      "a",
      { href: `#/threads/${thread.id}` },
      h("code", {}, thread.id),
      h("span", { class: "muted small" }, formatTime(thread.created_at)),
      meta ? h("span", { class: "small meta" }, meta) : null,
      thread.last_run ? badge(thread.last_run.status) : null
    )
  );
}

export async function threadView(root, threadId) {
  const base = `/threads/${threadId}`;
  const [thread, messages, runs] = await Promise.all([
    get(base),
    listAll(`${base}/messages`, { order: "asc" }),
    listAll(`${base}/runs`, { order: "desc" }, 100),
  ]);
  const withSteps = runs.slice(0, RUNS_WITH_STEPS);
  const steps = await Promise.all(withSteps.map((r) => listAll(`${base}/runs/${r.id}/steps`, { order: "asc" })));
  const stepsByRun = new Map(withSteps.map((r, i) => [r.id, steps[i]]));
  const runRows = runs.map((r) =>
    h(
      "tr",
      { "data-run": r.id },
      h("td", {}, h("a", { href: `#/threads/${threadId}/runs/${r.id}` }, r.id)),
      h("td", {}, badge(r.status)),
      h("td", {}, r.model),
      h("td", {}, formatTime(r.created_at)),
      h("td", { class: "num" }, r.usage ? String(r.usage.total_tokens) : "—")
    )
  );
  replace(
    root,
    h(
      "div",
      { class: "thread-view", "data-thread": threadId },
      h("h1", {}, "Thread ", idChip(threadId)),
      fields([
        ["created", formatTime(thread.created_at)],
        ["messages", String(messages.length)],
        ["runs", String(runs.length)],
      ]),
      Object.keys(thread.metadata || {}).length ? [h("div", { class: "label" }, "metadata"), jsonBlock(thread.metadata)] : null,
      section(
        "Runs",
        runs.length
          ? h(
              "table",
              { class: "runs" },
              h("thead", {}, h("tr", {}, ["run", "status", "model", "created", "tokens"].map((t) => h("th", {}, t)))),
              h("tbody", {}, runRows)
            )
          : h("p", { class: "muted" }, "no runs")
      ),
      section("Conversation", h("div", { class: "conversation" }, conversation(threadId, messages, runs, stepsByRun)))
    )
  );
  return () => {};
}
