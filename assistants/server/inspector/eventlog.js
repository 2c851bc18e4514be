// A run's raw event log (seq, type, payload), a page at a time, with a filter on the type.
// Long logs stay responsive: only one page (100 events) is ever in the page.

import { get, query } from "./api.js";
import { errorBox, h, jsonBlock, replace } from "./dom.js";

const PAGE = 100;
const END = Number.MAX_SAFE_INTEGER; // `before` past any sequence number: the newest page

export function eventLog(runId) {
  const filter = h("input", {
    type: "search",
    id: "event-filter",
    placeholder: "filter by type, e.g. step.delta",
    "aria-label": "Filter events by type",
  });
  const info = h("span", { class: "muted", role: "status" });
  const body = h("tbody");
  const buttons = {};
  const nav = h(
    "div",
    { class: "pager" },
    [
      ["first", "« first"],
      ["prev", "‹ previous"],
      ["next", "next ›"],
      ["last", "last »"],
    ].map(([name, label]) => (buttons[name] = h("button", { type: "button", "data-page": name, onclick: () => go(name) }, label)))
  );
  const element = h(
    "div",
    { class: "event-log" },
    h("div", { class: "row" }, filter, " ", info),
    nav,
    h(
      "table",
      { class: "events" },
      h("thead", {}, h("tr", {}, h("th", {}, "seq"), h("th", {}, "type"), h("th", {}, "payload"))),
      body
    )
  );

  let page = null;
  let atEnd = true;
  let newest = 0;
  let timer = null;
  let generation = 0; // each request's number: an answer to an older one is dropped

  async function fetchPage(params) {
    const mine = ++generation;
    const name = filter.value.trim();
    const found = await get(`/inspector/runs/${runId}/events${query({ ...params, limit: PAGE, event: name })}`);
    if (mine !== generation) return false;
    page = found;
    newest = Math.max(newest, page.run_last_seq);
    render();
    return true;
  }

  function render() {
    const rows = page.data.map((e) =>
      h(
        "tr",
        { "data-seq": e.seq },
        h("td", { class: "num" }, String(e.seq)),
        h("td", {}, h("code", {}, e.event), h("div", { class: "muted small" }, new Date(e.at * 1000).toISOString())),
        h("td", {}, h("details", {}, h("summary", {}, summaryOf(e)), jsonBlock(e.data)))
      )
    );
    replace(body, rows.length ? rows : h("tr", {}, h("td", { colspan: 3, class: "muted" }, "no events")));
    const first = page.first_seq ?? "—";
    const last = page.last_seq ?? "—";
    info.textContent = `events ${first}–${last} of ${newest}`;
    element.dataset.total = String(newest);
    const hasOlder = page.data.length > 0 && page.first_seq > 1;
    buttons.first.disabled = buttons.prev.disabled = !hasOlder;
    buttons.next.disabled = buttons.last.disabled = atEnd;
  }

  async function go(where) {
    try {
      if (where === "first") {
        atEnd = false;
        if (await fetchPage({ after: 0 })) atEnd = !page.has_more;
      } else if (where === "prev") {
        atEnd = false;
        await fetchPage({ before: page.first_seq });
      } else if (where === "next") {
        atEnd = false;
        if (await fetchPage({ after: page.last_seq })) atEnd = !page.has_more;
      } else {
        atEnd = true;
        await fetchPage({ before: END });
      }
      if (page) render(); // the buttons follow `atEnd`
    } catch (error) {
      replace(body, h("tr", {}, h("td", { colspan: 3 }, errorBox(error))));
    }
  }

  let debounce = null;
  filter.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => go("last"), 250);
  });

  return {
    element,
    load: () => go("last"),
    /** The run's log grew to `seq`: refresh the newest page (at most every 500 ms). */
    live(seq) {
      newest = Math.max(newest, seq);
      if (!atEnd) {
        if (page) render();
        return;
      }
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        if (atEnd) fetchPage({ before: END }).catch(() => {});
      }, 500);
    },
  };
}

function summaryOf(event) {
  const data = event.data || {};
  if (data.delta?.content) {
    const text = data.delta.content.map((c) => c.text?.value || "").join("");
    return text ? `“${text.slice(0, 80)}”` : "delta";
  }
  if (data.delta?.step_details) return "tool call delta";
  if (data.object && data.status) return `${data.object} ${data.status}`;
  return data.object || "";
}
