// Messages as a conversation: each message's content, with each run's tool calls and their
// outputs folded in where the run made them (in the order of the run's steps).

import { badge, h, idChip, jsonBlock, pretty, textBlock } from "./dom.js";

export function messageBody(message) {
  const parts = (message.content || []).map((part) => {
    if (part.type === "text") return textBlock(part.text?.value ?? "", "text");
    if (part.type === "refusal") return textBlock(part.refusal ?? "", "refusal");
    return jsonBlock(part);
  });
  return h(
    "div",
    { class: "message-body", "data-message": message.id, "data-status": message.status },
    parts.length ? parts : h("p", { class: "muted" }, message.status === "in_progress" ? "…" : "(empty)")
  );
}

function messageBubble(message) {
  return h(
    "article",
    { class: `message role-${message.role}` },
    h("div", { class: "message-head" }, h("strong", {}, message.role), " ", idChip(message.id)),
    messageBody(message)
  );
}

function toolCallsBubble(step) {
  const calls = step.step_details.tool_calls || [];
  return h(
    "article",
    { class: "message role-tool" },
    h("div", { class: "message-head" }, h("strong", {}, "tool calls"), " ", badge(step.status)),
    calls.map((call) => {
      const fn = call.function || {};
      return h(
        "div",
        { class: "tool-call", "data-call": call.id },
        h("div", { class: "call-head" }, h("code", {}, `${fn.name || call.type}(…)`), " ", idChip(call.id)),
        textBlock(pretty(fn.arguments ?? call)),
        fn.output === null || fn.output === undefined
          ? h("p", { class: "muted" }, "no output yet")
          : [h("div", { class: "label" }, "output"), textBlock(fn.output, "output")]
      );
    })
  );
}

function runMarker(threadId, run) {
  return h(
    "div",
    { class: "run-marker" },
    "run ",
    h("a", { href: `#/threads/${threadId}/runs/${run.id}` }, run.id),
    " ",
    badge(run.status)
  );
}

/** The thread's messages in order, each run's steps emitted where its first message is. */
export function conversation(threadId, messages, runs, stepsByRun) {
  const byId = new Map(messages.map((m) => [m.id, m]));
  const runById = new Map(runs.map((r) => [r.id, r]));
  const shown = new Set();
  const doneRuns = new Set();
  const out = [];
  const emitRun = (runId) => {
    doneRuns.add(runId);
    const run = runById.get(runId);
    if (run) out.push(runMarker(threadId, run));
    for (const step of stepsByRun.get(runId) || []) {
      if (step.type === "tool_calls") out.push(toolCallsBubble(step));
      else {
        const id = step.step_details.message_creation.message_id;
        const message = byId.get(id);
        if (message && !shown.has(id)) {
          shown.add(id);
          out.push(messageBubble(message));
        }
      }
    }
  };
  for (const message of messages) {
    if (shown.has(message.id)) continue;
    if (message.run_id && !doneRuns.has(message.run_id) && stepsByRun.has(message.run_id)) {
      emitRun(message.run_id);
      if (shown.has(message.id)) continue;
    }
    shown.add(message.id);
    out.push(messageBubble(message));
  }
  const rest = runs.filter((r) => !doneRuns.has(r.id)).sort((a, b) => a.created_at - b.created_at);
  for (const run of rest) emitRun(run.id);
  return out;
}
