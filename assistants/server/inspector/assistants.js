// Assistants and their settings.

import { get, listAll } from "./api.js";
import { fields, formatTime, h, idChip, jsonBlock, replace, textBlock } from "./dom.js";

function assistantCard(a) {
  return h(
    "section",
    { class: "card", id: a.id, "data-assistant": a.id },
    h("h2", {}, a.name || "(unnamed)", " ", idChip(a.id)),
    fields([
      ["model", a.model],
      ["created", formatTime(a.created_at)],
      ["temperature", a.temperature === null ? null : String(a.temperature)],
      ["top_p", a.top_p === null ? null : String(a.top_p)],
      ["description", a.description],
    ]),
    h("div", { class: "label" }, "instructions"),
    textBlock(a.instructions || ""),
    h("details", {}, h("summary", {}, `tools (${a.tools.length})`), jsonBlock(a.tools)),
    h(
      "details",
      {},
      h("summary", {}, "response format, tool resources, metadata"),
      jsonBlock({ response_format: a.response_format, tool_resources: a.tool_resources, metadata: a.metadata })
    )
  );
}

export async function assistantsView(root, assistantId) {
  const assistants = assistantId ? [await get(`/assistants/${assistantId}`)] : await listAll("/assistants");
  replace(
    root,
    h(
      "div",
      { class: "assistants-view" },
      h("h1", {}, assistantId ? "Assistant" : `Assistants (${assistants.length})`),
      assistants.length ? assistants.map(assistantCard) : h("p", { class: "muted" }, "no assistants")
    )
  );
  return () => {};
}
