// Building the page: elements from data, always as text (never parsed as HTML).

export const TRUNCATE_AT = 4000;

/** An element: `h("a", {href: "#x", class: "id"}, "text", child, ...)`. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function formatTime(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const date = new Date(seconds * 1000);
  return date.toLocaleString(undefined, { hour12: false });
}

export function formatBytes(count) {
  if (count < 1024) return `${count} B`;
  if (count < 1024 * 1024) return `${(count / 1024).toFixed(1)} KB`;
  return `${(count / 1024 / 1024).toFixed(1)} MB`;
}

export function pretty(value) {
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

/** A `<pre>` of `text`, cut at `TRUNCATE_AT` characters with a button to show it whole. */
export function textBlock(text, cls = "") {
  const pre = h("pre", { class: `block ${cls}` });
  if (text.length <= TRUNCATE_AT) {
    pre.textContent = text;
    return pre;
  }
  pre.textContent = text.slice(0, TRUNCATE_AT);
  const size = formatBytes(new TextEncoder().encode(text).length);
  const more = h(
    "button",
    {
      type: "button",
      class: "more",
      onclick: () => {
        pre.textContent = text;
        more.remove();
      },
    },
    `Show all (${size}, ${text.length.toLocaleString()} characters)`
  );
  return h("div", { class: "truncated" }, pre, more);
}

export function jsonBlock(value) {
  return textBlock(pretty(value), "json");
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = h("textarea", { class: "offscreen", readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

/** An id with a button that copies it. */
export function idChip(id, href) {
  const label = href ? h("a", { href, class: "id" }, id) : h("code", { class: "id" }, id);
  const button = h(
    "button",
    {
      type: "button",
      class: "copy",
      title: `Copy ${id}`,
      "aria-label": `Copy ${id}`,
      "data-copy": id,
      onclick: async () => {
        try {
          await copyText(id);
          button.textContent = "copied";
        } catch {
          button.textContent = "copy failed";
        }
        setTimeout(() => (button.textContent = "copy"), 1200);
      },
    },
    "copy"
  );
  return h("span", { class: "chip" }, label, button);
}

export function badge(status) {
  return h("span", { class: `badge status-${status}`, "data-status": status }, status);
}

export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

export function fields(pairs) {
  return h(
    "dl",
    { class: "fields" },
    pairs
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => [
        h("dt", {}, name),
        h("dd", {}, value === null || value === "" ? "—" : value),
      ])
  );
}

export function errorBox(error) {
  return h("div", { class: "error", role: "alert" }, error.message || String(error));
}
