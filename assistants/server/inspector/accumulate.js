// Folding stream deltas into snapshots, by the rules the official SDKs follow: strings are
// concatenated, numbers added, objects merged, entries of lists that carry `index` merged by
// position, `index` and `type` overwritten, and missing or null keys set.

export function accumulate(snapshot, delta) {
  for (const [key, value] of Object.entries(delta)) {
    const current = snapshot[key];
    if (key === "index" || key === "type" || current === undefined || current === null) {
      snapshot[key] = structuredClone(value);
    } else if (typeof current === "string" && typeof value === "string") {
      snapshot[key] = current + value;
    } else if (typeof current === "number" && typeof value === "number") {
      snapshot[key] = current + value;
    } else if (Array.isArray(current) && Array.isArray(value)) {
      for (const entry of value) {
        if (entry && typeof entry === "object" && Number.isInteger(entry.index)) {
          if (entry.index < current.length) accumulate(current[entry.index], entry);
          else current.push(structuredClone(entry));
        } else {
          current.push(structuredClone(entry));
        }
      }
    } else if (typeof current === "object" && value && typeof value === "object") {
      accumulate(current, value);
    } else {
      snapshot[key] = value;
    }
  }
  return snapshot;
}

const RUN_EVENT = /^thread\.run\.(?!step\.)/;

/**
 * A run's live state, built from its REST snapshot and then from its events: full-object
 * events replace snapshots (so replaying from the start is harmless), deltas accumulate.
 */
export class RunState {
  constructor(run, steps, messages) {
    this.run = run;
    this.steps = new Map(steps.map((s) => [s.id, s]));
    this.messages = new Map(messages.map((m) => [m.id, m]));
    this.lastSeq = 0;
    this.applied = 0;
    this.deltas = 0;
    this.statusChanged = false;
  }

  apply(seq, event, data) {
    this.lastSeq = seq;
    this.applied += 1;
    if (event === "thread.run.step.delta") {
      const step = this.steps.get(data.id);
      if (step) accumulate(step, data.delta);
      this.deltas += 1;
    } else if (event === "thread.message.delta") {
      const message = this.messages.get(data.id);
      if (message) accumulate(message, data.delta);
      this.deltas += 1;
    } else if (event.startsWith("thread.run.step.")) {
      // Keep what the event does not carry (the answering model, latency, cost).
      this.steps.set(data.id, { ...this.steps.get(data.id), ...data });
    } else if (event.startsWith("thread.message.")) {
      this.messages.set(data.id, data);
    } else if (RUN_EVENT.test(event)) {
      this.run = data;
      this.statusChanged = true;
    }
  }
}
