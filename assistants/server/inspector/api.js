// Talking to the server: the API key (kept in this tab's session storage), JSON requests, and
// a run's resumable event stream (SSE over fetch, so that it can carry the key).

const KEY_ITEM = "assistants-inspector-key";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The server answered ${status}.`);
    this.status = status;
    this.code = error.code || null;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY_ITEM) || "";
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_ITEM, key);
  else sessionStorage.removeItem(KEY_ITEM);
}

function headers(extra) {
  const out = { ...extra };
  const key = apiKey();
  if (key) out.authorization = `Bearer ${key}`;
  return out;
}

export async function request(method, path, body) {
  const init = { method, headers: headers({ accept: "application/json" }) };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/v1${path}`, init);
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) throw new ApiError(response.status, payload);
  return payload;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body ?? {});

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Every item of a `/v1` list, following `has_more` (at most `max` items). */
export async function listAll(path, params = {}, max = 1000) {
  const items = [];
  let after;
  for (;;) {
    const page = await get(path + query({ ...params, limit: 100, after }));
    items.push(...page.data);
    if (!page.has_more || items.length >= max || page.data.length === 0) return items;
    after = page.last_id;
  }
}

/** Parse an SSE byte stream into `{id, event, data}` records (data joined, not parsed). */
async function* sseRecords(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let record = { id: null, event: "message", data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
      if (line === "") {
        if (record.data.length) yield { ...record, data: record.data.join("\n") };
        record = { id: null, event: "message", data: [] };
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let text = colon < 0 ? "" : line.slice(colon + 1);
      if (text.startsWith(" ")) text = text.slice(1);
      if (field === "id") record.id = text;
      else if (field === "event") record.event = text;
      else if (field === "data") record.data.push(text);
    }
  }
}

/**
 * Follow a run's events after sequence `after` until the run ends or `signal` aborts.
 *
 * `onEvent(seq, event, data)` sees each event once, in order: after a dropped connection the
 * stream is opened again after the last sequence number applied, and anything at or before it
 * is skipped. `onState(state)` hears "live", "reconnecting" and "ended".
 */
export async function followRun(threadId, runId, after, { onEvent, onState, signal }) {
  let last = after;
  let delay = 250;
  while (!signal.aborted) {
    try {
      const url = `/v1/threads/${threadId}/runs/${runId}/events${query({ after: last })}`;
      const response = await fetch(url, {
        headers: headers({ accept: "text/event-stream" }),
        signal,
      });
      if (!response.ok) {
        let payload = null;
        try {
          payload = await response.json();
        } catch {
          payload = null;
        }
        throw new ApiError(response.status, payload);
      }
      onState("live");
      for await (const record of sseRecords(response.body)) {
        if (record.event === "done") {
          onState("ended");
          return last;
        }
        if (record.event === "error") {
          throw new ApiError(500, JSON.parse(record.data));
        }
        const seq = Number(record.id);
        if (!Number.isInteger(seq) || seq <= last) continue;
        last = seq;
        delay = 250;
        onEvent(seq, record.event, JSON.parse(record.data));
      }
    } catch (error) {
      if (signal.aborted) return last;
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) throw error;
    }
    if (signal.aborted) return last;
    onState("reconnecting");
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 4000);
  }
  return last;
}
