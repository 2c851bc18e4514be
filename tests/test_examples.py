"""Every example under examples/ runs (the README's snippets are these files)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py"))
# Examples that need a service the test machine does not run, and what they must say without it.
NEEDS_SERVICE = {"ollama.py": "No Ollama server answered"}
EXPECTED = {
    "file_search.py": "run: completed\ncited 【0:0†handbook.pdf】 -> handbook.pdf\n"
    "answer: Tool results: 【0:0†handbook.pdf】 Returns are accepted within 30 days",
    "quickstart.py": "assistant: Tool results: 18°C and sunny",
    "async_quickstart.py": "assistant: Tool results: -3°C and snowing",
    "python_tools.py": "unknown timezone",
    "readme.py": "Tool results: 18°C and sunny",
    "openai_sdk_client.py": "assistant: Tool results: 19°C, overcast",
    "streaming.py": "Tool results: 27°C, clear skies\nrun: completed",
    "completions.py": "tool call: get_weather({'location': 'example'})\n"
    "answer: Tool results: 22°C and sunny\nYou said: Write a story.\n"
    "streamed: You said: Write a story.",
    "completions_fallbacks.py": "answer: You said: hello\nprovider: test | model: test\n"
    "failed first: ollama/llama3.2 (provider_error)\ncost: $0.0000033",
    "local_server_client.py": "LLM Response: You said: Explain quantum entanglement.\n"
    "Streamed: You said: What is the capital of Japan?\nUnknown model: 400 model_not_found",
    "prompts.py": "v1: You said: Reply to: The light blinks red.\nversion: 1 | label: prod\n"
    "You said: Reply kindly to: The light blinks red.\n"
    "v2 blueprint: Reply kindly to: The light blinks red.\n"
    "refused: The label 'prod' of prompt 'support-reply' moved: it points at version 2, not 1.",
    "prompt_assistant.py": "run completed: version 1 -> Greet Ms. Lovelace formally.\n"
    "run completed: version 2 -> Greet Ms. Lovelace warmly.",
    "tracing.py": "tool: execute_tool get_weather completed\n"
    "  model: chat test completed, 15 tokens, $0.0000058\n"
    "completion: completed by test after ollama/llama3.2 failed\nsession_abc: 5 spans",
    "providers.py": "run: completed, answered by test: You said: What is the capital of France?\n"
    "  failed first: ollama/llama3.2 (server_error)",
}


def _run(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs(name: str, tmp_path: Path) -> None:
    """The example exits 0 and prints what it promises (or explains the missing service)."""
    env = {**os.environ, "ASSISTANTS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/ex.db"}
    if name in NEEDS_SERVICE:
        env["OLLAMA_BASE_URL"] = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
        result = _run(name, env)
        assert result.returncode == 1
        assert NEEDS_SERVICE[name] in result.stderr
        return
    result = _run(name, env)
    assert result.returncode == 0, result.stderr
    assert EXPECTED.get(name, "") in result.stdout
    assert "Traceback" not in result.stderr


def test_every_example_is_covered() -> None:
    """A new example gets an expectation here (or a service note), so CI checks its output."""
    assert set(EXAMPLES) <= set(EXPECTED) | set(NEEDS_SERVICE)


def test_readme_python_blocks_are_example_files() -> None:
    """Each Python block of the README stands verbatim in one of the example files CI runs."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sources = [p.read_text(encoding="utf-8") for p in (ROOT / "examples").glob("*.py")]
    blocks = readme.split("```python\n")[1:]
    assert blocks
    for block in blocks:
        code = block.split("```", 1)[0]
        assert any(code in source for source in sources), code
