"""What prompts cost: resolving a label at run creation, `prompts.run` over a bare completion,
and a compare-and-set label move.

    .venv/bin/python benchmarks/prompts.py                 # SQLite file, 400 calls per case
    .venv/bin/python benchmarks/prompts.py --quick         # 50 calls (CI; numbers not judged)
    .venv/bin/python benchmarks/prompts.py --database-url \
        "postgresql+asyncpg://postgres@127.0.0.1/test?search_path=bench"   # an empty schema

It writes what it measures (a prompt, two assistants, a thread and run per creation) into the
database it is given: give it an empty one (a SQLite file in a temporary folder by default).

Each case runs in the in-process `AsyncClient` without a worker (run creation only), with the
built-in `test` model answering completions; the table shows the median and p95 of each call
in microseconds and the ratio of each prompt case to its plain counterpart, measured in the
same process, interleaved so that both see the same machine load:

- `create_and_run`: an assistant with literal instructions against one whose instructions come
  from a prompt's `prod` label (one extra point read of the label and its version, rendering);
- `chat.completions.create` with rendered messages against `prompts.run` of the same template;
- `labels.set` with `expected_version` (the compare-and-set, history row included).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

# As a script, this file's directory heads sys.path, and benchmarks/store.py would shadow the
# `store` package: put the repository root first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistants import AsyncClient


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


async def _pair(
    n: int, plain: Callable[[int], Awaitable[object]], prompt: Callable[[int], Awaitable[object]]
) -> tuple[list[float], list[float]]:
    """`n` timed calls of each, interleaved, after a few untimed warm-up calls."""
    for i in range(5):
        await plain(-i - 1)
        await prompt(-i - 1)
    a: list[float] = []
    b: list[float] = []
    for i in range(n):
        for fn, out in ((plain, a), (prompt, b)):
            start = time.perf_counter()
            await fn(i)
            out.append((time.perf_counter() - start) * 1e6)
    return a, b


async def main(database_url: str, n: int) -> None:
    async with AsyncClient(database_url=database_url, worker=False) as client:
        await client.prompts.create(name="bench")
        template = [
            {"role": "system", "content": "You help {{customer}} with {{product}}."},
            {"role": "user", "content": "Question {{n}}"},
        ]
        await client.prompts.versions.create("bench", messages=template, model="test")
        await client.prompts.versions.create("bench", messages=template, model="test")
        await client.prompts.labels.set("bench", label="prod", version=1)
        literal = await client.assistants.create(
            model="test", instructions="You help {{customer}} with {{product}}."
        )
        backed = await client.assistants.create(
            model="test", prompt={"name": "bench", "label": "prod"}
        )
        variables = {"customer": "Ada", "product": "routers", "n": "1"}

        def run_of(assistant_id: str) -> Callable[[int], Awaitable[object]]:
            async def create(i: int) -> object:
                return await client.threads.create_and_run(
                    assistant_id=assistant_id, variables=variables
                )

            return create

        runs = await _pair(n, run_of(literal.id), run_of(backed.id))

        async def chat(i: int) -> object:
            return await client.chat.completions.create(
                model="test",
                messages=[
                    {"role": "system", "content": "You help Ada with routers."},
                    {"role": "user", "content": f"Question {i}"},
                ],
            )

        async def prompt_run(i: int) -> object:
            return await client.prompts.run("bench", input_variables={**variables, "n": str(i)})

        calls = await _pair(n, chat, prompt_run)
        moves: list[float] = []
        current = 1
        for _ in range(n):
            target = 3 - current
            start = time.perf_counter()
            await client.prompts.labels.set(
                "bench", label="prod", version=target, expected_version=current
            )
            moves.append((time.perf_counter() - start) * 1e6)
            current = target

    where = database_url.split("?", maxsplit=1)[0]
    print(f"database: {where}, {n} calls per case, cpus {os.cpu_count()}")
    print(f"{'case':<44} {'median us':>10} {'p95 us':>10} {'ratio':>7}")
    for name, (plain, prompt) in (
        (("create_and_run, literal instructions", "create_and_run, instructions from prod"), runs),
        (("chat.completions.create", "prompts.run (same template)"), calls),
    ):
        p_med, p95 = _stats(plain)
        q_med, q95 = _stats(prompt)
        print(f"{name[0]:<44} {p_med:>10.0f} {p95:>10.0f} {'':>7}")
        print(f"{name[1]:<44} {q_med:>10.0f} {q95:>10.0f} {q_med / p_med:>7.2f}")
    m_med, m95 = _stats(moves)
    print(f"{'labels.set with expected_version':<44} {m_med:>10.0f} {m95:>10.0f} {'':>7}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 calls per case")
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
        asyncio.run(main(url, 50 if args.quick else args.calls))
