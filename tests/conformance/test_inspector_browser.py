"""The inspector in a real browser: Debian's headless Chromium, driven by selenium, against
`assistants serve` started as users start it, with runs driven by the official openai SDK.

Screenshots of the thread view and the run view (light, dark, narrow) are written to
`ASSISTANTS_TEST_ARTIFACTS` (default: a pytest temporary directory) for a person to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import pytest

from tests.conformance.support import WEATHER
from tests.store.test_inspection import ROUND_TRIP_STATUSES

pytest.importorskip("selenium")
import warnings

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Debian's chromium and chromium-driver are not installed (CI installs them: .ci/run)",
)

ROOT = Path(__file__).resolve().parents[2]
KEYS = "key-a,key-b"
XSS = '<img src=x onerror="window.__xss=1">'
T = TypeVar("T")
CLI = (sys.executable, "-m", "assistants.cli", "serve")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Serve:
    """`assistants serve` in a subprocess on one port and one SQLite file; restartable."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANTS_")}
        env.update(PYTHONPATH=str(ROOT), ASSISTANTS_API_KEYS=KEYS)
        database = f"sqlite+aiosqlite:///{self.directory / 'inspector.db'}"
        with (self.directory / "serve.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [*CLI, "--port", str(self.port), "--database-url", database],
                cwd=self.directory,
                env=env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.directory / "serve.log").read_text()
            try:
                if httpx.get(f"{self.root}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("assistants serve did not answer /health within 60 s")

    def kill(self) -> None:
        """Stop at once (SIGKILL): every open connection drops, as in a crash."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)

    def sdk(self, key: str = "key-a") -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.root}/v1", api_key=key, max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("ASSISTANTS_TEST_ARTIFACTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    serve = Serve(tmp_path_factory.mktemp("serve"))
    serve.start()
    try:
        yield serve
    finally:
        serve.stop()


def _browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    assert CHROMIUM is not None
    assert CHROMEDRIVER is not None
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800"):
        options.add_argument(argument)
    options.add_argument("--disable-dev-shm-usage")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # the page's requests
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    viewport(driver, 1280, 800)
    return driver


def viewport(driver: webdriver.Chrome, width: int, height: int) -> None:
    """The page's size in CSS pixels, whatever the window around it."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = _browser()
    try:
        yield driver
    finally:
        driver.quit()


def wait(
    driver: webdriver.Chrome, check: Callable[[webdriver.Chrome], T], timeout: float = 30
) -> T:
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05).until(check)
    except TimeoutException:
        text = driver.find_element(By.TAG_NAME, "body").text
        raise AssertionError(f"the page never got there; it shows:\n{text[:3000]}") from None


def css(driver: webdriver.Chrome, selector: str) -> WebElement:
    return wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, selector))


def sign_in(driver: webdriver.Chrome, server: Serve, key: str) -> None:
    driver.get(f"{server.root}/inspector/")
    box = css(driver, "#api-key")
    box.send_keys(key, Keys.ENTER)
    css(driver, "#thread-search")


def open_run(driver: webdriver.Chrome, server: Serve, thread_id: str, run_id: str) -> WebElement:
    driver.get(f"{server.root}/inspector/#/threads/{thread_id}/runs/{run_id}")
    return css(driver, f".run-view[data-run='{run_id}']")


def run_status(driver: webdriver.Chrome) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, ".run-view").get_attribute("data-status"))


def paused_run(sdk: openai.OpenAI, content: str) -> tuple[str, str, str]:
    """A run waiting for one tool output: (thread id, run id, call id)."""
    assistant = sdk.beta.assistants.create(model="test", tools=[WEATHER], name="Weather")
    thread = sdk.beta.threads.create(
        messages=[{"role": "user", "content": content}], metadata={"case": "browser"}
    )
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    assert run.required_action is not None
    return thread.id, run.id, run.required_action.submit_tool_outputs.tool_calls[0].id


def background(driver: webdriver.Chrome, selector: str = "body") -> tuple[int, ...]:
    value = driver.execute_script(
        "return getComputedStyle(document.querySelector(arguments[0])).backgroundColor", selector
    )
    return tuple(int(float(p)) for p in str(value)[str(value).index("(") + 1 : -1].split(",")[:3])


def luminance(rgb: tuple[int, ...]) -> float:
    return sum(rgb) / (3 * 255)


def event_total(server: Serve, key: str, run_id: str) -> int:
    page = httpx.get(
        f"{server.root}/v1/inspector/runs/{run_id}/events",
        params={"before": 10**9, "limit": 1},
        headers={"authorization": f"Bearer {key}"},
    ).json()
    return int(page["run_last_seq"])


def message_text(sdk: openai.OpenAI, thread_id: str, run_id: str) -> str:
    messages = sdk.beta.threads.messages.list(thread_id, run_id=run_id)
    block = messages.data[0].content[0]
    assert block.type == "text"
    return block.text.value


def page_text(driver: webdriver.Chrome, message_id: str) -> str:
    """The message's text as the page shows it, whole (a long one's "Show all" clicked)."""
    return str(
        driver.execute_script(
            """
            const body = document.querySelector(`.message-body[data-message='${arguments[0]}']`);
            if (!body) return null;
            body.querySelectorAll("button.more").forEach((button) => button.click());
            return [...body.querySelectorAll("pre")].map((p) => p.textContent).join("");
            """,
            message_id,
        )
    )


# --- the tool round trip, from the page -----------------------------------------------------------


def test_round_trip__outputs_from_the_page_complete_the_run_live(
    server: Serve, browser: webdriver.Chrome, artifacts: Path
) -> None:
    """The page shows the paused run's call, submits its output, and follows the run to
    `completed` live (text arriving as deltas); HTML in messages and outputs stays text."""
    with server.sdk() as sdk:
        thread_id, run_id, call_id = paused_run(sdk, f"Weather in Paris? {XSS}")
        sign_in(browser, server, "key-a")
        open_run(browser, server, thread_id, run_id)
        wait(browser, lambda d: run_status(d) == "requires_action")
        form = css(browser, "form.outputs")
        assert "get_weather" in form.text
        assert call_id in form.text
        assert '"city"' in form.text  # the arguments, pretty-printed
        assert css(browser, ".live").get_attribute("data-state") == "live"
        output = f"sunny, 21C {XSS.replace('__xss=1', '__xss=2')}"
        box = browser.find_element(By.CSS_SELECTOR, f"textarea[data-call='{call_id}']")
        box.send_keys(output)
        browser.save_screenshot(str(artifacts / "run-requires-action.png"))
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

        wait(browser, lambda d: run_status(d) == "completed")
        view = browser.find_element(By.CSS_SELECTOR, ".run-view")
        assert int(str(view.get_attribute("data-deltas"))) > 1  # the text streamed in
        assert browser.execute_script("return window.__xss") is None
        answer = message_text(sdk, thread_id, run_id)
        assert output in answer
        message_id = sdk.beta.threads.messages.list(thread_id, run_id=run_id).data[0].id
        wait(browser, lambda d: page_text(d, message_id) == answer)
        wait(browser, lambda d: transition_statuses(d) == ROUND_TRIP_STATUSES)
        tool_output = browser.find_element(
            By.CSS_SELECTOR, f".tool-call[data-call='{call_id}'] pre.output"
        )
        assert tool_output.text == output
        assert not browser.find_elements(By.CSS_SELECTOR, "main img")
        total = str(event_total(server, "key-a", run_id))
        log = css(browser, ".event-log")
        wait(browser, lambda d: log.get_attribute("data-total") == total)
        # The run's trace: the run, its two model calls and the tool call, each with a duration.
        wait(browser, lambda d: span_kinds(d) == ["run", "model", "tool", "model"])
        durations = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".span-duration")]
        assert all(t.endswith(" ms") for t in durations), durations
        browser.save_screenshot(str(artifacts / "run-completed.png"))

        # The thread: the conversation with the call and its output folded in.
        browser.get(f"{server.root}/inspector/#/threads/{thread_id}")
        conversation = css(browser, ".conversation")
        assert XSS in conversation.text
        assert "get_weather(…)" in conversation.text
        assert output in conversation.text
        assert browser.execute_script("return window.__xss") is None
        assert not browser.find_elements(By.CSS_SELECTOR, "main img")
        browser.save_screenshot(str(artifacts / "thread.png"))

        # Everything the page asked for came from this server.
        requested = requested_urls(browser)
        assert any(url.endswith("/inspector/app.js") for url in requested)
        assert [u for u in requested if not u.startswith((server.root, "data:"))] == []

        # Search by metadata, and "/" to get there from the keyboard.
        browser.find_element(By.TAG_NAME, "body").send_keys("/")
        search = browser.switch_to.active_element
        assert search.get_attribute("id") == "thread-search"
        search.send_keys("BROWSER")
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"li[data-thread='{thread_id}']"))


def test_dark_mode_and_narrow_window(
    server: Serve, browser: webdriver.Chrome, artifacts: Path
) -> None:
    """Dark when the system is (and light when chosen over it); one column on a narrow window
    with nothing wider than the window."""
    with server.sdk() as sdk:
        thread_id, run_id, _ = paused_run(sdk, "dark?")
    sign_in(browser, server, "key-a")
    open_run(browser, server, thread_id, run_id)
    wait(browser, lambda d: run_status(d) == "requires_action")
    light = background(browser)
    assert luminance(light) > 0.8
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )
    dark = background(browser)
    assert luminance(dark) < 0.2
    text = browser.execute_script("return getComputedStyle(document.body).color")
    assert luminance(tuple(int(p) for p in str(text)[4:-1].split(","))) > 0.7
    browser.save_screenshot(str(artifacts / "run-dark.png"))
    theme = browser.find_element(By.ID, "theme-button")
    theme.click()  # auto -> light, over the system's dark
    assert theme.text == "theme: light"
    assert luminance(background(browser)) > 0.8
    theme.click()  # -> dark
    assert luminance(background(browser)) < 0.2

    viewport(browser, 420, 800)
    wait(browser, lambda d: d.execute_script("return innerWidth") == 420)
    sidebar = browser.find_element(By.ID, "sidebar").rect
    main = browser.find_element(By.ID, "main").rect
    assert main["y"] >= sidebar["y"] + sidebar["height"] - 1  # stacked, not side by side
    assert abs(main["width"] - sidebar["width"]) < 2
    assert browser.execute_script("return document.documentElement.scrollWidth <= innerWidth"), (
        "the page is wider than a narrow window"
    )
    assert css(browser, "form.outputs").is_displayed()
    browser.save_screenshot(str(artifacts / "run-narrow-dark.png"))
    theme.click()  # -> auto


def test_cancel_copy_and_assistants(server: Serve, browser: webdriver.Chrome) -> None:
    """Copy puts an id on the clipboard; cancel moves the run to `cancelled` live; the
    assistants view shows each assistant's settings."""
    with server.sdk() as sdk:
        thread_id, run_id, _ = paused_run(sdk, "cancel me")
    sign_in(browser, server, "key-a")
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": server.root, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    open_run(browser, server, thread_id, run_id)
    wait(browser, lambda d: run_status(d) == "requires_action")
    copy = css(browser, f"h1 button.copy[data-copy='{run_id}']")
    copy.click()
    wait(browser, lambda d: copy.text == "copied")
    pasted = browser.execute_async_script(
        "navigator.clipboard.readText().then(arguments[0], (e) => arguments[0](String(e)))"
    )
    assert pasted == run_id

    css(browser, ".actions button.danger").click()
    wait(browser, lambda d: run_status(d) == "cancelled")
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, ".actions button, form.outputs"))
    wait(browser, lambda d: transition_statuses(d)[-2:] == ["cancelling", "cancelled"])

    browser.get(f"{server.root}/inspector/#/assistants")
    card = css(browser, ".assistants-view .card")
    assert "Weather" in card.text
    assert "test" in card.text
    card.find_element(By.TAG_NAME, "summary").click()
    assert "get_weather" in card.text


def test_keyboard_only__outputs_typed_and_submitted(
    server: Serve, browser: webdriver.Chrome
) -> None:
    """Tab reaches the output box and the submit button, Enter submits: no mouse needed."""
    with server.sdk() as sdk:
        thread_id, run_id, call_id = paused_run(sdk, "keys only")
    sign_in(browser, server, "key-a")
    open_run(browser, server, thread_id, run_id)
    wait(browser, lambda d: run_status(d) == "requires_action")
    css(browser, "form.outputs")

    def tab_to(selector: str) -> WebElement:
        for _ in range(60):
            browser.switch_to.active_element.send_keys(Keys.TAB)
            active = browser.switch_to.active_element
            if browser.execute_script(
                "return arguments[0].matches(arguments[1])", active, selector
            ):
                return active
        raise AssertionError(f"Tab never reached {selector}")

    tab_to(f"textarea[data-call='{call_id}']").send_keys("typed")
    tab_to("form.outputs button[type=submit]").send_keys(Keys.ENTER)
    wait(browser, lambda d: run_status(d) == "completed")
    with server.sdk() as sdk:
        assert "typed" in message_text(sdk, thread_id, run_id)


def test_html_in_tool_arguments_and_names__shown_as_text(
    server: Serve, browser: webdriver.Chrome
) -> None:
    """A call whose arguments carry markup (the `test` model fills an `enum` value) and an
    assistant named in markup are displayed as text in every view, and nothing of it runs; an
    unknown run of a real thread is OpenAI's 404 message."""
    markup = XSS.replace("__xss=1", "__xss=3")
    tool: Any = {
        "type": "function",
        "function": {
            "name": "render",
            "parameters": {
                "type": "object",
                "properties": {"html": {"type": "string", "enum": [markup]}},
                "required": ["html"],
            },
        },
    }
    with server.sdk() as sdk:
        assistant = sdk.beta.assistants.create(model="test", tools=[tool], name=XSS)
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "render it"}])
        run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "requires_action"
    sign_in(browser, server, "key-a")
    open_run(browser, server, thread.id, run.id)
    wait(browser, lambda d: run_status(d) == "requires_action")
    assert json.dumps(markup) in css(browser, "form.outputs").text  # pretty-printed JSON
    browser.get(f"{server.root}/inspector/#/threads/{thread.id}")
    assert json.dumps(markup) in css(browser, ".conversation").text
    browser.get(f"{server.root}/inspector/#/assistants/{assistant.id}")
    assert XSS in css(browser, ".assistants-view h2").text
    assert browser.execute_script("return window.__xss") is None
    assert not browser.find_elements(By.CSS_SELECTOR, "main img")

    browser.get(f"{server.root}/inspector/#/threads/{thread.id}/runs/run_nope")
    assert css(browser, "main .error").text == "No run found with id 'run_nope'."


def transition_statuses(driver: webdriver.Chrome) -> list[str]:
    found = driver.execute_script(
        "return [...document.querySelectorAll('.transitions .badge')].map((b) => b.dataset.status)"
    )
    return [str(status) for status in found]


# --- keys ------------------------------------------------------------------------------------------


def test_keys__a_wrong_key_sees_nothing_another_key_none_of_it(
    server: Serve, browser: webdriver.Chrome
) -> None:
    """A wrong key gets the server's message and no data; key-b sees none of key-a's threads,
    and key-a's run is a 404 to it."""
    with server.sdk() as sdk:
        thread_id, run_id, _ = paused_run(sdk, "private")
    browser.get(f"{server.root}/inspector/")
    css(browser, "#api-key").send_keys("key-wrong", Keys.ENTER)
    alert = css(browser, ".key-form .error")
    assert "That key was refused: Incorrect API key provided" in alert.text
    assert not browser.find_elements(By.CSS_SELECTOR, ".thread-list")

    browser.find_element(By.ID, "api-key").send_keys("key-b", Keys.ENTER)
    wait(browser, lambda d: "no threads" in d.find_element(By.CSS_SELECTOR, ".thread-list").text)
    browser.get(f"{server.root}/inspector/#/threads/{thread_id}/runs/{run_id}")
    error = css(browser, "main .error")
    assert error.text == f"No thread found with id '{thread_id}'." or "No run found" in error.text
    assert thread_id not in browser.find_element(By.ID, "sidebar").text

    browser.get(f"{server.root}/inspector/#/threads/thread_nope/runs/run_nope")
    assert "No thread found with id 'thread_nope'." in css(browser, "main .error").text


# --- large values ----------------------------------------------------------------------------------


def test_large_output__truncated_with_a_way_to_see_it_whole(
    server: Serve, browser: webdriver.Chrome
) -> None:
    """A 1 MB tool output (350,000 three-byte characters: the API takes at most 512,000) shows
    its first 4,000 characters and a button for the whole of it."""
    big = "€" * 350_000
    with server.sdk() as sdk:
        thread_id, run_id, call_id = paused_run(sdk, "big")
        run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run_id,
            thread_id=thread_id,
            tool_outputs=[{"tool_call_id": call_id, "output": big}],
        )
        assert run.status == "completed"
    sign_in(browser, server, "key-a")
    open_run(browser, server, thread_id, run_id)
    call = css(browser, f".tool-call[data-call='{call_id}']")
    shown = call.find_element(By.CSS_SELECTOR, "pre.output")
    assert len(str(shown.get_attribute("textContent"))) == 4000
    more = call.find_element(By.CSS_SELECTOR, "button.more")
    assert more.text.startswith("Show all (1.0 MB, 350,000 characters)")
    more.click()
    wait(browser, lambda d: len(str(shown.get_attribute("textContent"))) == len(big))
    total = event_total(server, "key-a", run_id)
    rows = wait(browser, lambda d: log_rows(d, "code"))  # a finished run: its newest page
    assert rows[-1] == (str(total), "thread.run.completed")
    assert len(rows) == min(total, 100)


def test_ten_thousand_events__followed_live_paged_log(
    server: Serve, browser: webdriver.Chrome
) -> None:
    """An output of 10,000 words streams back as 10,000 deltas: the page follows them all live
    (each applied once), keeps one page of the log at a time, and pages and filters it."""
    words = " ".join(f"w{i}" for i in range(10_000))
    with server.sdk() as sdk:
        thread_id, run_id, call_id = paused_run(sdk, "many")
        sign_in(browser, server, "key-a")
        open_run(browser, server, thread_id, run_id)
        wait(browser, lambda d: run_status(d) == "requires_action")
        box = browser.find_element(By.CSS_SELECTOR, f"textarea[data-call='{call_id}']")
        browser.execute_script("arguments[0].value = arguments[1]", box, words)
        browser.find_element(By.CSS_SELECTOR, "form.outputs button[type=submit]").click()
        wait(browser, lambda d: run_status(d) == "completed", timeout=120)
        total = event_total(server, "key-a", run_id)
        assert total > 10_000
        view = browser.find_element(By.CSS_SELECTOR, ".run-view")
        wait(browser, lambda d: view.get_attribute("data-last-seq") == str(total))
        assert view.get_attribute("data-applied") == str(total)
        answer = message_text(sdk, thread_id, run_id)
        message_id = sdk.beta.threads.messages.list(thread_id, run_id=run_id).data[0].id
        assert page_text(browser, message_id) == answer

    log = css(browser, ".event-log")
    wait(browser, lambda d: log.get_attribute("data-total") == str(total))
    newest = [str(seq) for seq in range(total - 99, total + 1)]
    wait(browser, lambda d: log_rows(d) == [(seq, "") for seq in newest] or None)
    log.find_element(By.CSS_SELECTOR, "button[data-page='first']").click()
    wait(browser, lambda d: log_rows(d)[0][0] == "1")
    log.find_element(By.CSS_SELECTOR, "button[data-page='next']").click()
    wait(browser, lambda d: [seq for seq, _ in log_rows(d)] == [str(n) for n in range(101, 201)])
    log.find_element(By.ID, "event-filter").send_keys("run.completed")
    wait(browser, lambda d: log_rows(d, "code") == [(str(total), "thread.run.completed")])


def requested_urls(driver: webdriver.Chrome) -> list[str]:
    """Every URL the page has requested so far (from the browser's network log)."""
    urls = []
    for entry in cast(Any, driver).get_log("performance"):  # selenium leaves it untyped
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(str(message["params"]["request"]["url"]))
    return urls


def span_kinds(driver: webdriver.Chrome) -> list[str]:
    kinds = driver.execute_script(
        "return [...document.querySelectorAll('.span')].map((s) => s.dataset.kind)"
    )
    return [str(kind) for kind in kinds]


def log_rows(driver: webdriver.Chrome, text_of: str = "") -> list[tuple[str, str]]:
    """(seq, text of `text_of` in it) for each row of the event log, read in one go."""
    rows = driver.execute_script(
        """return [...document.querySelectorAll(".events tbody tr")].map((row) => [
            row.dataset.seq || "",
            arguments[0] ? row.querySelector(arguments[0])?.textContent || "" : "",
        ]);""",
        text_of,
    )
    return [(str(seq), str(text)) for seq, text in rows]


# --- a dropped connection --------------------------------------------------------------------------


def test_live_view__reconnects_without_losing_or_repeating_events(
    tmp_path: Path, browser: webdriver.Chrome
) -> None:
    """The server dies while the page follows a paused run, and comes back: the page says it is
    reconnecting, resumes after the last event it applied, and follows the run to its end
    with every event applied exactly once."""
    serve = Serve(tmp_path)
    serve.start()
    try:
        with serve.sdk() as sdk:
            thread_id, run_id, call_id = paused_run(sdk, "reconnect")
        sign_in(browser, serve, "key-a")
        open_run(browser, serve, thread_id, run_id)
        wait(browser, lambda d: run_status(d) == "requires_action")
        live = css(browser, ".live")
        wait(browser, lambda d: live.get_attribute("data-state") == "live")
        before = int(
            str(browser.find_element(By.CSS_SELECTOR, ".run-view").get_attribute("data-applied"))
        )
        serve.kill()
        wait(browser, lambda d: live.get_attribute("data-state") == "reconnecting")
        serve.start()
        wait(browser, lambda d: live.get_attribute("data-state") == "live")
        with serve.sdk() as sdk:
            sdk.beta.threads.runs.submit_tool_outputs(
                run_id=run_id,
                thread_id=thread_id,
                tool_outputs=[{"tool_call_id": call_id, "output": "after the restart"}],
            )
            wait(browser, lambda d: run_status(d) == "completed", timeout=60)
            total = event_total(serve, "key-a", run_id)
            view = browser.find_element(By.CSS_SELECTOR, ".run-view")
            wait(browser, lambda d: view.get_attribute("data-last-seq") == str(total))
            assert int(str(view.get_attribute("data-applied"))) == total > before
            answer = message_text(sdk, thread_id, run_id)
            message_id = sdk.beta.threads.messages.list(thread_id, run_id=run_id).data[0].id
            assert "after the restart" in answer
            assert page_text(browser, message_id) == answer
    finally:
        serve.stop()
