// One run: status and its history, models, usage, cost and latency per step, tool calls, the
// messages it wrote (growing live), actions (cancel, submit tool outputs) and the event log.

import { RunState } from "./accumulate.js";
import { followRun, get, listAll, post } from "./api.js";
import { eventLog } from "./eventlog.js";
import {
  badge,
  errorBox,
  fields,
  formatTime,
  h,
  idChip,
  jsonBlock,
  pretty,
  replace,
  section,
  textBlock,
} from "./dom.js";
import { messageBody } from "./messages.js";
import { spanTree } from "./spans.js";

const ACTIVE = new Set(["queued", "in_progress", "requires_action", "cancelling"]);

function usageText(usage) {
  if (!usage) return null;
  return `${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion = ${usage.total_tokens} tokens`;
}

function costText(cost) {
  return cost === undefined || cost === null ? null : `$${Number(cost).toFixed(6)}`;
}

function toolCall(call) {
  const fn = call.function || {};
  const body = [h("div", { class: "call-head" }, h("strong", {}, fn.name || call.type), " ", idChip(call.id))];
  if (call.type === "function") {
    body.push(h("div", { class: "label" }, "arguments"), textBlock(pretty(fn.arguments)));
    body.push(h("div", { class: "label" }, "output"));
    body.push(
      fn.output === null || fn.output === undefined
        ? h("p", { class: "muted" }, "no output yet")
        : textBlock(fn.output, "output")
    );
  } else {
    body.push(jsonBlock(call));
  }
  return h("div", { class: "tool-call", "data-call": call.id }, body);
}

function stepCard(step, messages) {
  const details = step.step_details || {};
  const parts = [
    h(
      "div",
      { class: "step-head" },
      badge(step.status),
      " ",
      h("strong", {}, step.type === "tool_calls" ? "tool calls" : "message"),
      " ",
      idChip(step.id)
    ),
    fields([
      ["model", step.model ?? null],
      ["latency", step.latency_ms === undefined ? null : `${step.latency_ms} ms`],
      ["usage", usageText(step.usage)],
      ["cost", costText(step.cost)],
      ["created", formatTime(step.created_at)],
      ["completed", step.completed_at ? formatTime(step.completed_at) : null],
    ]),
  ];
  if (details.type === "tool_calls") {
    parts.push((details.tool_calls || []).map(toolCall));
  } else if (details.type === "message_creation") {
    const message = messages.get(details.message_creation.message_id);
    parts.push(message ? messageBody(message) : h("p", { class: "muted" }, "message not loaded"));
  }
  if (step.last_error) parts.push(h("div", { class: "label" }, "last_error"), jsonBlock(step.last_error));
  return h("article", { class: "step", "data-step": step.id, "data-type": step.type }, parts);
}

function transitionsTable(transitions) {
  let previous = null;
  const rows = transitions.map((t) => {
    const delta = previous === null ? "" : `+${((t.at - previous) * 1000).toFixed(0)} ms`;
    previous = t.at;
    return h(
      "tr",
      {},
      h("td", {}, String(t.seq)),
      h("td", {}, badge(t.status)),
      h("td", {}, new Date(t.at * 1000).toISOString()),
      h("td", { class: "num" }, delta)
    );
  });
  return h(
    "table",
    { class: "transitions" },
    h("thead", {}, h("tr", {}, h("th", {}, "seq"), h("th", {}, "status"), h("th", {}, "at (UTC)"), h("th", {}, "after"))),
    h("tbody", {}, rows)
  );
}

/** The form for a run waiting in `requires_action`: one output box per call. */
function outputsForm(threadId, run, onError) {
  const calls = run.required_action?.submit_tool_outputs?.tool_calls || [];
  const boxes = calls.map((call) => {
    const id = `output-${call.id}`;
    return h(
      "div",
      { class: "output-field" },
      h("label", { for: id }, `Output of ${call.function.name} (${call.id})`),
      h("div", { class: "label" }, "arguments"),
      textBlock(pretty(call.function.arguments)),
      h("textarea", { id, rows: 3, "data-call": call.id, spellcheck: "false" })
    );
  });
  const status = h("span", { class: "muted", role: "status" });
  const submit = h("button", { type: "submit", class: "primary" }, "Submit tool outputs");
  const form = h(
    "form",
    {
      class: "outputs",
      "aria-label": "Submit tool outputs",
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        status.textContent = "submitting…";
        const outputs = [...form.querySelectorAll("textarea")].map((area) => ({
          tool_call_id: area.dataset.call,
          output: area.value,
        }));
        try {
          await post(`/threads/${threadId}/runs/${run.id}/submit_tool_outputs`, {
            tool_outputs: outputs,
          });
          status.textContent = "submitted";
        } catch (error) {
          submit.disabled = false;
          status.textContent = "";
          onError(error);
        }
      },
    },
    boxes,
    h("div", { class: "row" }, submit, " ", status)
  );
  form.dataset.calls = calls.map((c) => c.id).join(",");
  return form;
}

export async function runView(root, threadId, runId) {
  const base = `/threads/${threadId}/runs/${runId}`;
  const run = await get(base);
  const [steps, messages, transitions] = await Promise.all([
    listAll(`${base}/steps`, { order: "asc" }),
    listAll(`/threads/${threadId}/messages`, { order: "asc", run_id: runId }),
    get(`/inspector/runs/${runId}/transitions`),
  ]);
  const state = new RunState(run, steps, messages);
  let history = transitions.data;

  const liveBadge = h("span", { class: "live", role: "status", "aria-live": "polite" });
  const head = h("div", { class: "run-head" });
  const actionArea = h("div", { class: "actions" });
  const problems = h("div", { class: "problems" });
  const summary = h("div");
  const historyArea = h("div");
  const stepsArea = h("div", { class: "steps" });
  const spansArea = h("div", { class: "spans" });
  const log = eventLog(runId);
  const view = h(
    "div",
    { class: "run-view", "data-run": runId },
    h("h1", {}, "Run ", idChip(runId), " ", liveBadge),
    head,
    actionArea,
    problems,
    section("Summary", summary),
    section("Status history", historyArea),
    section("Steps", stepsArea),
    section("Spans", spansArea),
    section("Event log", log.element)
  );
  replace(root, view);

  let form = null;
  const showError = (error) => replace(problems, errorBox(error));

  function render() {
    const r = state.run;
    view.dataset.status = r.status;
    view.dataset.applied = String(state.applied);
    view.dataset.deltas = String(state.deltas);
    view.dataset.lastSeq = String(state.lastSeq);
    replace(
      head,
      badge(r.status),
      " thread ",
      idChip(r.thread_id, `#/threads/${r.thread_id}`),
      " assistant ",
      idChip(r.assistant_id, `#/assistants/${r.assistant_id}`)
    );
    renderActions(r);
    const answered = [...new Set([...state.steps.values()].map((s) => s.model).filter(Boolean))];
    const latency = [...state.steps.values()].reduce((sum, s) => sum + (s.latency_ms || 0), 0);
    replace(
      summary,
      fields([
        ["model asked for", r.model],
        ["answered by", answered.join(", ") || null],
        ["usage", usageText(r.usage)],
        ["cost", costText(r.cost)],
        ["model latency", latency ? `${latency} ms` : null],
        ["created", formatTime(r.created_at)],
        ["started", formatTime(r.started_at)],
        ["completed", r.completed_at ? formatTime(r.completed_at) : null],
        ["failed", r.failed_at ? formatTime(r.failed_at) : null],
        ["cancelled", r.cancelled_at ? formatTime(r.cancelled_at) : null],
        ["expires", r.expires_at ? formatTime(r.expires_at) : null],
      ]),
      r.last_error ? [h("div", { class: "label" }, "last_error"), jsonBlock(r.last_error)] : null,
      r.incomplete_details
        ? [h("div", { class: "label" }, "incomplete_details"), jsonBlock(r.incomplete_details)]
        : null,
      h("details", {}, h("summary", {}, "Instructions and tools"),
        h("div", { class: "label" }, "instructions"), textBlock(r.instructions || ""),
        h("div", { class: "label" }, "tools"), jsonBlock(r.tools))
    );
    replace(historyArea, transitionsTable(history));
    const ordered = [...state.steps.values()].sort((a, b) => a.created_at - b.created_at);
    replace(
      stepsArea,
      ordered.length ? ordered.map((s) => stepCard(s, state.messages)) : h("p", { class: "muted" }, "no steps yet")
    );
  }

  const cancelHolder = h("div");
  const formHolder = h("div");
  actionArea.append(cancelHolder, formHolder);

  async function cancel(event) {
    event.target.disabled = true;
    try {
      state.run = await post(`${base}/cancel`);
      schedule();
    } catch (error) {
      event.target.disabled = false;
      showError(error);
    }
  }

  function renderActions(r) {
    const cancellable = ACTIVE.has(r.status) && r.status !== "cancelling";
    if (!cancellable) cancelHolder.replaceChildren();
    else if (!cancelHolder.firstChild) {
      cancelHolder.append(h("button", { type: "button", class: "danger", onclick: cancel }, "Cancel run"));
    }
    if (r.status !== "requires_action") {
      form = null;
      formHolder.replaceChildren();
      return;
    }
    // Rebuilt only when the calls change, so that what was typed in it stays.
    const calls = (r.required_action?.submit_tool_outputs?.tool_calls || []).map((c) => c.id).join(",");
    if (!form || form.dataset.calls !== calls) {
      form = outputsForm(threadId, r, showError);
      replace(formHolder, form);
    }
  }

  let pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      render();
    });
  }

  render();
  spanTree(spansArea, runId, !ACTIVE.has(run.status));
  await log.load();

  if (!ACTIVE.has(run.status)) {
    replace(liveBadge, "");
    return () => {};
  }
  const controller = new AbortController();
  let refreshing = null;
  let stale = false; // a status changed while a refresh was in flight: it may have read too early
  const refreshHistory = async () => {
    if (refreshing) {
      stale = true;
      return;
    }
    refreshing = (async () => {
      try {
        do {
          stale = false;
          history = (await get(`/inspector/runs/${runId}/transitions`)).data;
          schedule();
        } while (stale);
      } finally {
        refreshing = null;
      }
    })();
  };
  followRun(threadId, runId, 0, {
    signal: controller.signal,
    onEvent(seq, event, data) {
      state.apply(seq, event, data);
      if (state.statusChanged) {
        state.statusChanged = false;
        refreshHistory();
      }
      log.live(seq);
      schedule();
    },
    onState(value) {
      liveBadge.dataset.state = value;
      liveBadge.textContent = value === "ended" ? "" : value === "live" ? "● live" : "reconnecting…";
      if (value === "ended") {
        refreshHistory();
        spanTree(spansArea, runId, true);
        get(base)
          .then((fresh) => {
            state.run = fresh;
            schedule();
          })
          .catch(showError);
        log.live(state.lastSeq);
      }
    },
  }).catch(showError);
  return () => controller.abort();
}
