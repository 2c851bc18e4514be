"""The openai 1.x SDK against a running server: a plain script, no pytest, no project imports.

    python run_openai1.py http://127.0.0.1:8000/v1 [API_KEY]

Runs create_and_poll with a tool round trip, a stream through an `AssistantEventHandler`,
auto-pagination, and a 400 error check, with strict response validation on. Prints one line per
check and exits 1 if any check fails (2 on a crash), 0 otherwise.
"""

from __future__ import annotations

import json
import sys
import traceback
import warnings
from typing import Any

warnings.simplefilter("ignore", DeprecationWarning)

import openai  # noqa: E402
from openai import AssistantEventHandler  # noqa: E402

WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}

failures: list[str] = []


def check(condition: bool, what: str) -> None:
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def first_text(message: Any) -> str:
    part = message.content[0]
    return str(part.text.value) if part.type == "text" else ""


def tool_round_trip(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="test", tools=[WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "get_weather"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    check(
        run.status == "requires_action", f"create_and_poll stops at requires_action ({run.status})"
    )
    if run.required_action is None:
        check(False, "requires_action carries required_action")
        return
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    check(call.function.name == "get_weather", "the tool call names get_weather")
    check("city" in json.loads(call.function.arguments), "the arguments follow the schema")
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}],
    )
    check(run.status == "completed", f"submit_tool_outputs_and_poll completes ({run.status})")
    reply = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    check(
        first_text(reply) == "Tool results: sunny",
        f"the reply uses the output ({first_text(reply)!r})",
    )


class Recorder(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.deltas: list[str] = []
        self.done_texts: list[str] = []
        self.ended = False

    def on_event(self, event: Any) -> None:
        self.events.append(event.event)

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.deltas.append(delta.value or "")

    def on_text_done(self, text: Any) -> None:
        self.done_texts.append(text.value)

    def on_end(self) -> None:
        self.ended = True


def collapse(events: list[str]) -> list[str]:
    out: list[str] = []
    for event in events:
        if not (event.endswith(".delta") and out and out[-1] == event):
            out.append(event)
    return out


def stream(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="test")
    handler = Recorder()
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "stream this"}]},
        event_handler=handler,
    ) as manager:
        manager.until_done()
    expected = [
        "thread.created",
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    check(collapse(handler.events) == expected, f"stream events in order ({handler.events})")
    text = "You said: stream this"
    check("".join(handler.deltas) == text, "text deltas join to the reply")
    check(handler.done_texts == [text], "on_text_done gets the whole reply")
    check(handler.ended, "on_end is called")
    check(handler.get_final_run().status == "completed", "get_final_run is completed")
    messages = handler.get_final_messages()
    check([first_text(m) for m in messages] == [text], "get_final_messages has the reply")


def pagination(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    created = [
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content=f"m{i}").id
        for i in range(12)
    ]
    asc = [
        m.id for m in client.beta.threads.messages.list(thread_id=thread.id, limit=5, order="asc")
    ]
    check(asc == created, "auto-pagination ascending yields each message once, in order")
    desc = [m.id for m in client.beta.threads.messages.list(thread_id=thread.id, limit=5)]
    check(desc == created[::-1], "auto-pagination descending (the default) is the reverse")
    page = client.beta.threads.messages.list(thread_id=thread.id, limit=5)
    check(page.has_more is True, "a first page of 5 out of 12 has more")


def bad_request(client: openai.OpenAI) -> None:
    try:
        client.beta.assistants.create(model="test", temperature=3)
    except openai.BadRequestError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        check(exc.status_code == 400, "temperature=3 is a 400")
        check(exc.param == "temperature", f"param is temperature ({exc.param})")
        check(
            exc.code == "decimal_above_max_value", f"code is decimal_above_max_value ({exc.code})"
        )
        check(
            str(body.get("message", "")).startswith("Invalid 'temperature'"),
            f"OpenAI's wording ({body})",
        )
        check(exc.request_id is not None, "request_id comes from x-request-id")
    else:
        check(False, "temperature=3 raises BadRequestError")


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    print(f"openai {openai.__version__}")
    client = openai.OpenAI(
        base_url=argv[1],
        api_key=argv[2] if len(argv) > 2 else "sk-local",
        max_retries=0,
        _strict_response_validation=True,
    )
    try:
        for section in (tool_round_trip, stream, pagination, bad_request):
            print(f"# {section.__name__}")
            section(client)
    except Exception:
        traceback.print_exc()
        return 2
    finally:
        client.close()
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
