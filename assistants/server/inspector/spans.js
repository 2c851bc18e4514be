// A run's trace as a span tree: the run, its model calls and tool calls, each with its
// duration, drawn as a bar on the trace's timeline.

import { get } from "./api.js";
import { badge, errorBox, h, jsonBlock, replace } from "./dom.js";

function duration(span) {
  return span.duration_ms === null || span.duration_ms === undefined
    ? "open"
    : `${span.duration_ms.toFixed(1)} ms`;
}

function spanNode(span, start, total) {
  const bar = h("span", { class: "span-bar" });
  // CSSOM, not a style attribute: the page's policy allows no inline styles.
  const offset = total > 0 ? ((span.started_at - start) * 1000) / total : 0;
  const width = total > 0 && span.duration_ms ? span.duration_ms / total : 0;
  bar.style.marginLeft = `${Math.min(Math.max(offset, 0), 1) * 100}%`;
  bar.style.width = `${Math.max(width * 100, 0.5)}%`;
  const usage = span.usage ? `${span.usage.total_tokens} tokens` : null;
  const details = [
    span.model ? `model ${span.model}` : null,
    usage,
    span.cost !== null && span.cost !== undefined ? `$${Number(span.cost).toFixed(6)}` : null,
    span.time_to_first_token_ms ? `first token ${span.time_to_first_token_ms.toFixed(1)} ms` : null,
    span.retries ? `${span.retries} retries` : null,
  ].filter(Boolean);
  const children = span.children || [];
  return h(
    "li",
    { class: "span", "data-span": span.id, "data-kind": span.kind },
    h(
      "details",
      { open: true },
      h(
        "summary",
        {},
        h("span", { class: "span-name" }, h("code", {}, span.kind), " ", span.name),
        " ",
        badge(span.status),
        " ",
        h("span", { class: "span-duration" }, duration(span)),
        details.length ? h("span", { class: "muted small" }, ` · ${details.join(" · ")}`) : null
      ),
      h("div", { class: "span-track" }, bar),
      span.error ? jsonBlock(span.error) : null,
      span.input || span.output
        ? h("details", {}, h("summary", {}, "input and output"), jsonBlock({ input: span.input, output: span.output }))
        : null,
      children.length ? h("ul", { class: "span-tree" }, children.map((c) => spanNode(c, start, total))) : null
    )
  );
}

/**
 * Render the spans of `runId` into `container`. Spans are written in the background, a moment
 * after what they record: with `settle`, ask again (every second, up to ten times) until the
 * run's span has ended.
 */
export async function spanTree(container, runId, settle = false) {
  for (let attempt = 0; ; attempt += 1) {
    const ended = await renderOnce(container, runId);
    if (ended || !settle || attempt >= 10 || !container.isConnected) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function renderOnce(container, runId) {
  try {
    const roots = await get(`/spans?run_id=${encodeURIComponent(runId)}&kind=run&limit=1`);
    if (!roots.data.length) {
      replace(container, h("p", { class: "muted" }, "No spans recorded for this run yet."));
      return false;
    }
    const trace = await get(`/traces/${roots.data[0].trace_id}`);
    const start = trace.started_at ?? roots.data[0].started_at;
    const total = trace.duration_ms ?? 0;
    replace(
      container,
      h(
        "p",
        { class: "muted small" },
        `trace ${trace.id} · ${trace.span_count} spans · ${total ? total.toFixed(1) : "—"} ms`,
        trace.truncated ? " · truncated" : ""
      ),
      h("ul", { class: "span-tree", "data-trace": trace.id }, trace.spans.map((s) => spanNode(s, start, total)))
    );
    return roots.data[0].ended_at !== null;
  } catch (error) {
    replace(container, errorBox(error));
    return true;
  }
}
