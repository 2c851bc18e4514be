// The unmodified openai Node SDK against our server.
//
// Usage: OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 OPENAI_API_KEY=sk-local \
//          node conformance.mjs [polling] [streaming] [pagination] [errors] [chat]
// (no section names: run them all, in that order).
//
// Exercises polling helpers, the AssistantStream helper (event emitters, finalRun,
// submitToolOutputsStream), cursor auto-pagination, error mapping and chat completions. Exits 0 when every check
// passes; on the first mismatch it prints what was expected and what came back, and exits 1.

import OpenAI from 'openai';

const baseURL = process.env.OPENAI_BASE_URL;
const apiKey = process.env.OPENAI_API_KEY;
if (!baseURL || !apiKey) {
  console.error('OPENAI_BASE_URL and OPENAI_API_KEY must be set');
  process.exit(2);
}

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000 });

class Mismatch extends Error {}

function check(condition, message, actual) {
  if (!condition) {
    const shown = actual === undefined ? '' : `\n  got: ${JSON.stringify(actual, null, 2)}`;
    throw new Mismatch(`${message}${shown}`);
  }
}

function textOf(message) {
  return message.content
    .filter((part) => part.type === 'text')
    .map((part) => part.text.value)
    .join('');
}

const WEATHER = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city.',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    },
  },
};

async function step(name, fn) {
  const started = Date.now();
  await fn();
  console.log(`ok   ${name} (${Date.now() - started} ms)`);
}

// (1) createAndPoll → requires_action → submitToolOutputsAndPoll → completed.
async function pollingRoundTrip() {
  const assistant = await client.beta.assistants.create({ model: 'test', tools: [WEATHER] });
  const thread = await client.beta.threads.create({
    messages: [{ role: 'user', content: 'What is the weather? Use get_weather.' }],
  });
  let run = await client.beta.threads.runs.createAndPoll(
    thread.id,
    { assistant_id: assistant.id },
    { pollIntervalMs: 50 },
  );
  check(run.status === 'requires_action', 'createAndPoll: expected status requires_action', run);
  check(run.thread_id === thread.id, 'createAndPoll: run.thread_id is the thread', run.thread_id);
  const calls = run.required_action?.submit_tool_outputs?.tool_calls ?? [];
  check(calls.length === 1, 'createAndPoll: expected exactly one required tool call', run);
  const call = calls[0];
  check(call.type === 'function', 'required tool call type is function', call);
  check(call.function.name === 'get_weather', 'required tool call names get_weather', call);
  const args = JSON.parse(call.function.arguments);
  check(typeof args.city === 'string', 'tool call arguments carry a string city', args);

  run = await client.beta.threads.runs.submitToolOutputsAndPoll(
    run.id,
    { thread_id: thread.id, tool_outputs: [{ tool_call_id: call.id, output: 'sunny, 21C' }] },
    { pollIntervalMs: 50 },
  );
  check(run.status === 'completed', 'submitToolOutputsAndPoll: expected status completed', run);
  check(run.required_action === null, 'completed run has required_action null', run);

  const messages = await client.beta.threads.messages.list(thread.id, { order: 'desc' });
  const last = messages.data[0];
  check(last?.role === 'assistant', 'newest message is the assistant reply', last);
  check(last.run_id === run.id, 'assistant reply carries the run id', last);
  check(
    textOf(last).includes('sunny, 21C'),
    'final message text contains the tool output',
    textOf(last),
  );
}

// (2) runs.stream with event emitters, finalRun, submitToolOutputsStream.
async function streamingRoundTrip() {
  const assistant = await client.beta.assistants.create({ model: 'test', tools: [WEATHER] });
  const thread = await client.beta.threads.create({
    messages: [{ role: 'user', content: 'Stream it: get_weather for Paris.' }],
  });

  const seen = [];
  const created = [];
  const argumentDeltas = [];
  const stream = client.beta.threads.runs
    .stream(thread.id, { assistant_id: assistant.id })
    .on('event', (event) => seen.push(event.event))
    // Snapshots are live objects the stream keeps mutating: copy them as they arrive.
    .on('toolCallCreated', (toolCall) => created.push(structuredClone(toolCall)))
    .on('toolCallDelta', (delta) => {
      if (delta.type === 'function' && delta.function?.arguments) {
        argumentDeltas.push(delta.function.arguments);
      }
    });
  const paused = await stream.finalRun();
  check(paused.status === 'requires_action', 'stream finalRun(): expected requires_action', paused);
  check(seen[0] === 'thread.run.created', 'first stream event is thread.run.created', seen);
  check(
    seen.at(-1) === 'thread.run.requires_action',
    'last stream event is thread.run.requires_action',
    seen,
  );
  for (const name of ['thread.run.queued', 'thread.run.in_progress', 'thread.run.step.created']) {
    check(seen.includes(name), `stream carried ${name}`, seen);
  }
  check(created.length === 1, "exactly one 'toolCallCreated'", created);
  check(created[0].type === 'function', 'created tool call is a function call', created[0]);
  check(created[0].function.name === 'get_weather', 'created tool call is get_weather', created);

  const required = paused.required_action.submit_tool_outputs.tool_calls;
  check(required.length === 1, 'paused run requires one tool call', required);
  check(required[0].id === created[0].id, 'toolCallCreated id matches required_action', {
    created: created[0].id,
    required: required[0].id,
  });
  // The first fragment arrives with toolCallCreated; the rest as toolCallDelta.
  const streamedArgs = (created[0].function.arguments ?? '') + argumentDeltas.join('');
  check(
    streamedArgs === required[0].function.arguments,
    'streamed argument fragments add up to the required arguments',
    { streamed: streamedArgs, required: required[0].function.arguments },
  );

  const textDeltas = [];
  const continuationEvents = [];
  const doneTexts = [];
  const continuation = client.beta.threads.runs
    .submitToolOutputsStream(paused.id, {
      thread_id: thread.id,
      tool_outputs: [{ tool_call_id: required[0].id, output: 'rain in Paris' }],
    })
    .on('event', (event) => continuationEvents.push(event.event))
    .on('textDelta', (delta) => textDeltas.push(delta.value ?? ''))
    .on('textDone', (text) => doneTexts.push(text.value));
  const finished = await continuation.finalRun();
  check(finished.status === 'completed', 'submitToolOutputsStream finalRun(): completed', finished);
  check(finished.id === paused.id, 'the continuation finishes the same run', finished.id);
  check(
    continuationEvents[0] === 'thread.run.step.completed',
    'the continuation starts with thread.run.step.completed',
    continuationEvents,
  );
  check(
    !continuationEvents.includes('thread.run.created'),
    'the continuation has no thread.run.created',
    continuationEvents,
  );
  const collected = textDeltas.join('');
  check(collected.includes('rain in Paris'), "collected 'textDelta's hold the output", collected);
  check(textDeltas.length > 1, 'text arrived in several deltas', textDeltas);
  check(doneTexts.length === 1 && doneTexts[0] === collected, "'textDone' equals the deltas", {
    doneTexts,
    collected,
  });
  const messages = await continuation.finalMessages();
  check(messages.length === 1, 'one message in the continuation', messages);
  check(textOf(messages[0]) === collected, 'finalMessages() text equals the deltas', messages);
}

// (3) Auto-pagination over 5 assistants with limit 2.
async function autoPagination() {
  const marker = `page-${process.pid}-${Date.now()}`;
  const made = [];
  for (let i = 0; i < 5; i++) {
    const a = await client.beta.assistants.create({
      model: 'test',
      name: `${marker}-${i}`,
      metadata: { marker },
    });
    made.push(a.id);
  }
  const firstPage = await client.beta.assistants.list({ limit: 2 });
  check(firstPage.data.length === 2, 'limit 2 gives a page of 2', firstPage.data);
  check(firstPage.hasNextPage(), 'the first page has a next page', firstPage);

  const listed = [];
  for await (const assistant of client.beta.assistants.list({ limit: 2 })) {
    listed.push(assistant.id);
    if (listed.length > 1000) break;
  }
  check(new Set(listed).size === listed.length, 'auto-pagination yields no duplicates', listed);
  const ours = listed.filter((id) => made.includes(id));
  check(ours.length === 5, 'auto-pagination yields all 5 new assistants', { made, listed });
  // Default order is desc by creation: newest first.
  check(
    JSON.stringify(ours) === JSON.stringify([...made].reverse()),
    'auto-pagination yields newest first (order desc)',
    { made, ours },
  );

  const ascending = [];
  for await (const assistant of client.beta.assistants.list({ limit: 2, order: 'asc' })) {
    if (made.includes(assistant.id)) ascending.push(assistant.id);
  }
  check(
    JSON.stringify(ascending) === JSON.stringify(made),
    'order asc yields oldest first',
    { made, ascending },
  );
}

// (4) Errors: state conflict and malformed id → BadRequestError 400 with our message.
async function errors() {
  const assistant = await client.beta.assistants.create({ model: 'test', tools: [WEATHER] });
  const thread = await client.beta.threads.create({
    messages: [{ role: 'user', content: 'call get_weather' }],
  });
  const run = await client.beta.threads.runs.createAndPoll(
    thread.id,
    { assistant_id: assistant.id },
    { pollIntervalMs: 50 },
  );
  check(run.status === 'requires_action', 'errors: run paused at requires_action', run);

  let caught;
  try {
    await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'more?' });
  } catch (err) {
    caught = err;
  }
  check(caught !== undefined, 'adding a message during an active run throws');
  check(
    caught instanceof OpenAI.BadRequestError,
    'the error is an OpenAI.BadRequestError',
    { name: caught?.constructor?.name, message: caught?.message },
  );
  check(caught.status === 400, 'the error status is 400', caught.status);
  const expected = `Can't add messages to ${thread.id} while a run ${run.id} is active.`;
  check(caught.error?.message === expected, 'the error carries our message', caught.error);
  check(caught.message.includes(expected), 'err.message includes our message', caught.message);
  check(caught.type === 'invalid_request_error', 'err.type is invalid_request_error', caught.type);
  check(typeof caught.requestID === 'string' && caught.requestID.startsWith('req_'),
    'err.requestID comes from x-request-id', caught.requestID);

  caught = undefined;
  try {
    await client.beta.threads.retrieve('undefined');
  } catch (err) {
    caught = err;
  }
  check(caught instanceof OpenAI.BadRequestError, 'a malformed id is a BadRequestError', {
    name: caught?.constructor?.name,
    message: caught?.message,
  });
  check(caught.status === 400, 'the malformed-id status is 400', caught.status);
  check(
    caught.error?.message === "Invalid 'thread_id': 'undefined'. Expected an ID that begins with 'thread'.",
    'the malformed-id error carries our message',
    caught.error,
  );

  caught = undefined;
  try {
    await client.beta.assistants.retrieve('asst_doesnotexist');
  } catch (err) {
    caught = err;
  }
  check(caught instanceof OpenAI.NotFoundError, 'an unknown id is a NotFoundError', {
    name: caught?.constructor?.name,
    message: caught?.message,
  });
  check(caught.status === 404, 'the unknown-id status is 404', caught.status);

  await client.beta.threads.runs.cancel(run.id, { thread_id: thread.id });
}

// (5) chat.completions: a plain answer, a streamed one (chunks, usage last), the stream helper's
// final completion with a tool call, and a 400 for a model the server cannot route.
async function chatCompletions() {
  const answer = await client.chat.completions.create({
    model: 'test',
    messages: [{ role: 'user', content: 'Hello {{who}}' }],
    variables: { who: 'Node' },
  });
  check(answer.object === 'chat.completion', 'a chat.completion object', answer.object);
  check(answer.choices[0].message.content === 'You said: Hello Node', 'the answer, variables filled',
    answer.choices[0].message.content);
  check(answer.span_id?.startsWith('sp_') && answer.provider === 'test', 'the extensions', answer);

  const stream = await client.chat.completions.create({
    model: 'test',
    messages: [{ role: 'user', content: 'Stream me' }],
    stream: true,
  });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  check(chunks[0].choices[0].delta.role === 'assistant', 'the first chunk has the role', chunks[0]);
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  check(text === 'You said: Stream me', 'the streamed text', text);
  const last = chunks[chunks.length - 1];
  check(last.choices.length === 0 && last.usage?.total_tokens > 0, 'the usage chunk last', last);

  const runner = client.chat.completions.stream({
    model: 'test',
    messages: [{ role: 'user', content: 'weather?' }],
    tools: [WEATHER],
  });
  const final = await runner.finalChatCompletion();
  const call = final.choices[0].message.tool_calls?.[0];
  check(call?.function?.name === 'get_weather', 'the final completion has the tool call', final);
  check(JSON.parse(call.function.arguments).city === 'example', 'its arguments', call);

  let caught;
  try {
    await client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] });
  } catch (err) {
    caught = err;
  }
  check(caught instanceof OpenAI.BadRequestError && caught.status === 400,
    'an unroutable model is a BadRequestError', { name: caught?.constructor?.name, status: caught?.status });
  check(caught.code === 'model_not_found', 'its code', caught.code);
}

const SECTIONS = {
  polling: ['createAndPoll + submitToolOutputsAndPoll', pollingRoundTrip],
  streaming: ['stream + submitToolOutputsStream', streamingRoundTrip],
  pagination: ['auto-pagination', autoPagination],
  errors: ['errors', errors],
  chat: ['chat.completions', chatCompletions],
};

const chosen = process.argv.slice(2);
const unknown = chosen.filter((name) => !(name in SECTIONS));
if (unknown.length > 0) {
  console.error(`unknown section(s): ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}

try {
  for (const name of chosen.length > 0 ? chosen : Object.keys(SECTIONS)) {
    const [title, fn] = SECTIONS[name];
    await step(title, fn);
  }
  console.log('node conformance: all checks passed');
} catch (err) {
  if (err instanceof Mismatch) {
    console.error(`FAIL ${err.message}`);
  } else {
    console.error('FAIL unexpected error:', err);
  }
  process.exit(1);
}
