"""Python functions as tools, executed for you: `function_tool` + `create_and_run_tools`.

Run: python examples/python_tools.py

The schema comes from the signatures and docstrings; the runtime calls the functions the model
asks for (in parallel when it asks for several) and submits their outputs until the run ends.
A function that raises is reported to the model as an error output.
"""

from __future__ import annotations

from typing import Literal

from assistants import Client, function_tool
from assistants.logs import configure_logging


@function_tool
def get_weather(city: str, unit: Literal["c", "f"] = "c") -> dict[str, object]:
    """Current weather for a city."""
    return {"city": city, "temperature": 21 if unit == "c" else 70, "unit": unit}


@function_tool
async def get_time(timezone: str) -> str:
    """The local time in an IANA timezone."""
    if "/" not in timezone:
        raise ValueError(f"unknown timezone {timezone!r}")
    return "14:05"


def main() -> None:
    configure_logging("warning")
    with Client(database_url="sqlite+aiosqlite:///:memory:") as client:
        assistant = client.assistants.create(model="test", tools=[get_weather, get_time])
        thread = client.threads.create(
            messages=[{"role": "user", "content": "Use get_weather and get_time for Lisbon."}]
        )
        run = client.threads.runs.create_and_run_tools(
            thread.id, assistant_id=assistant.id, functions=[get_weather, get_time]
        )
        print("run:", run.status)
        answer = client.threads.messages.list(thread.id, run_id=run.id).data[0]
        print("assistant:", answer.content[0].text.value)  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
