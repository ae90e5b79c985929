"""The web page in a real browser: headless Chromium (the Debian packages chromium and
chromium-driver) driven by selenium, two browser sessions and a script on one host.

Log in; enable and disable a plugin, order and remove plugins, install one by upload, edit a
setting; watch events arrive (and filter them); call exported methods from the form; a
plugin's own UI in its sandboxed frame, and a broken one that cannot break the page; every
change made in one browser shows in the other without a reload; both browsers and the
script see the same events in the same order. Screenshots go to each test's tmp_path.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from pyhost.abi.paths import sample_plugin, sample_plugins
from pyhost.client import Client
from extension_helpers import PYTHON, pack
from server_helpers import PASSWORD, Served

selenium = pytest.importorskip("selenium", reason="selenium is in the test extra")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
    pytest.skip("needs Debian's chromium and chromium-driver (/usr/bin/chromium, "
                "/usr/bin/chromedriver)", allow_module_level=True)

C_GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee0000c1}"
NOTES_GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000504}"
BROKEN_GUID = "{5e1c7a0e-bad0-4c1f-9a57-c0ffee00b0b0}"
UPLOADED_GUID = "{5e1c7a0e-up10-4c1f-9a57-c0ffee00a11d}"
WAIT = 15  # seconds: a bound for the browser to show something, not a speed target

BROKEN_UI = {
    "__init__.py": f'''
        from pyhost.plugin import Plugin, export
        plugin = Plugin(guid="{BROKEN_GUID}", name="Broken UI", version=1.0)

        @export
        def ping():
            return "pong"
    ''',
    "ui/index.html": '''
        <!doctype html><title>loading</title>
        <script>
          try { parent.document.body.textContent = "taken over"; }
          catch (e) { document.title = "blocked: " + e.name; }
          try { window.top.location = "about:blank"; } catch (e) {}
          document.write("<p id=note>broken on purpose</p>");
          throw new Error("this plugin UI is broken on purpose");
        </script>
    ''',
}
UPLOADED = f'''
from pyhost.plugin import Plugin, export
plugin = Plugin(guid="{UPLOADED_GUID}", name="Uploaded", version=1.0)

@export
def hello(name="world"):
    return f"hello {{name}}"
'''


def make_driver(profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--window-size=1280,1600"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class Browser:
    def __init__(self, driver: webdriver.Chrome, root: str, name: str):
        self.driver, self.root, self.name = driver, root, name

    def wait(self, condition, timeout: float = WAIT, what: str = ""):
        """Until condition() is true; elements the page re-renders meanwhile are looked up
        again (the tables are rebuilt on every event)."""
        return WebDriverWait(self.driver, timeout, ignored_exceptions=(
            StaleElementReferenceException, NoSuchElementException)).until(
                lambda d: condition(), what)

    def find(self, selector: str):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def finds(self, selector: str):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def row(self, guid: str):
        rows = self.finds(f'#plugins-table tr[data-guid="{guid}"]')
        return rows[0] if rows else None

    def status(self, guid: str):
        row = self.row(guid)
        return row.get_attribute("data-status") if row is not None else None

    def click(self, guid: str, button: str) -> None:
        def done():
            self.row(guid).find_element(By.CSS_SELECTOR, f"button.{button}").click()
            return True
        self.wait(done, what=f"{button} of {guid}")

    def shot(self, directory: Path, name: str) -> None:
        self.driver.save_screenshot(str(directory / f"{self.name}-{name}.png"))

    def login(self, user: str = "admin", password: str = PASSWORD) -> None:
        self.driver.get(self.root)
        self.wait(lambda: self.find("#login").is_displayed())
        self.find("#login-user").clear()
        self.find("#login-user").send_keys(user)
        self.find("#login-password").send_keys(password)
        self.find("#login-submit").click()

    def ready(self) -> None:
        self.wait(lambda: self.find("body").get_attribute("data-ready") == "1",
                  what="the page to log in and listen")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("web-ui")
    served = Served(base / "home")
    host = served.host
    host.install(sample_plugin("rpc_demo"))
    host.install(sample_plugins()["notes"], kind="python")
    broken = base / "broken_ui"
    for name, text in BROKEN_UI.items():
        (broken / name).parent.mkdir(parents=True, exist_ok=True)
        (broken / name).write_text(textwrap.dedent(text))
    host.install(str(broken), kind="python")
    root = served.url.replace("/api/v1/", "/")
    drivers, browsers = [], []
    try:
        for name in ("a", "b"):
            profile = Path(tempfile.mkdtemp(prefix=f"chromium-{name}-", dir=base))
            drivers.append(make_driver(profile))
            browsers.append(Browser(drivers[-1], root, name))
        script = Client(served.url, username="admin", password=PASSWORD)
        yield {"served": served, "a": browsers[0], "b": browsers[1], "script": script,
               "base": base}
        script.close()
    finally:
        for driver in drivers:
            driver.quit()
        served.close()
        shutil.rmtree(base / "home", ignore_errors=True)


def test_01_log_in(world, tmp_path):
    a, b = world["a"], world["b"]
    a.login(password="wrong")
    a.wait(lambda: a.find("#login-error").text != "")
    assert a.find("#login-error").text == "Invalid username or password."
    a.shot(tmp_path, "refused")
    a.login()
    b.login()
    a.ready()
    b.ready()
    assert a.find("#whoami").text == "admin" and a.find("#status").text == "online"
    a.wait(lambda: a.status(NOTES_GUID) == "loaded")
    b.wait(lambda: b.status(C_GUID) == "loaded")
    a.driver.refresh()                      # the tab keeps its session over a reload
    a.ready()
    assert not a.find("#login").is_displayed()
    a.shot(tmp_path, "logged-in")


def test_02_enable_disable_shows_in_the_other_browser(world, tmp_path):
    a, b, host = world["a"], world["b"], world["served"].host
    a.click(NOTES_GUID, "toggle")
    b.wait(lambda: b.status(NOTES_GUID) == "disabled", what="B to see the disable")
    assert not host.is_loaded(NOTES_GUID)
    b.shot(tmp_path, "sees-disabled")
    b.click(NOTES_GUID, "toggle")
    a.wait(lambda: a.status(NOTES_GUID) == "loaded", what="A to see the enable")
    assert host.is_loaded(NOTES_GUID)
    # Order: B moves Notes up; A sees it first.
    b.wait(lambda: b.row(NOTES_GUID).find_element(By.CSS_SELECTOR, "button.up").is_enabled())
    b.click(NOTES_GUID, "up")
    a.wait(lambda: a.finds("#plugins-table tbody tr")[0].get_attribute("data-guid")
           == NOTES_GUID, what="A to see the new order")
    a.shot(tmp_path, "sees-order")


def test_03_edit_a_setting(world, tmp_path):
    a, b, host = world["a"], world["b"], world["served"].host
    for browser in (a, b):
        browser.click(NOTES_GUID, "settings")
        browser.wait(lambda br=browser: br.find("#settings-panel").is_displayed() and
                     br.finds('#settings-form input[name="greeting"]'))
    field = a.find('#settings-form input[name="greeting"]')
    assert field.get_attribute("value") == "Hello from the notes plugin"
    assert a.find('#settings-form input[name="max_notes"]').get_attribute("type") == "number"
    assert a.find('#settings-form input[name="upper"]').get_attribute("type") == "checkbox"
    field.clear()
    field.send_keys("Greetings from the browser")
    a.find("#settings-form button.save").click()
    a.wait(lambda: a.find("#settings-status").text == "Saved.")
    assert host.registry.settings(NOTES_GUID)["greeting"] == ("string",
                                                              "Greetings from the browser")
    b.wait(lambda: b.find('#settings-form input[name="greeting"]').get_attribute("value")
           == "Greetings from the browser", what="B's form to follow")
    assert world["script"].call("notes.stats")["greeting"] == "Greetings from the browser"
    number = a.find('#settings-form input[name="max_notes"]')
    number.clear()
    number.send_keys("3")
    a.find("#settings-form button.save").click()
    a.wait(lambda: host.registry.settings(NOTES_GUID).get("max_notes") == ("int", 3))
    b.shot(tmp_path, "setting-followed")


def test_04_watch_events_arrive_and_filter_them(world, tmp_path):
    a, script = world["a"], world["script"]
    script.call("notes.add", "from the script")
    item = '#events-list li[data-kind="plugin_event"]'
    a.wait(lambda: any("from the script" in li.text for li in a.finds(item)),
           what="the plugin's event in the stream")
    a.shot(tmp_path, "event-arrived")
    a.find('#events-filters input[value="PLUGIN"]').click()
    a.wait(lambda: all(not li.is_displayed() for li in a.finds(item)))
    a.find('#events-filters input[value="PLUGIN"]').click()
    a.wait(lambda: any(li.is_displayed() for li in a.finds(item)))


def test_05_call_exported_methods_from_the_form(world, tmp_path):
    a, b = world["a"], world["b"]

    def call(browser, name, params):
        Select(browser.find("#methods-select")).select_by_value(name)
        box = browser.find("#methods-params")
        box.clear()
        box.send_keys(params)
        browser.find("#methods-call").click()
        browser.wait(lambda: browser.find("#methods-result").get_attribute("data-state")
                     in ("ok", "error"))
        return browser.find("#methods-result").text

    a.wait(lambda: a.finds('#methods-select option[value="rpc_demo.add"]'))
    assert call(a, "rpc_demo.add", "[2, 3]") == "5"
    assert call(a, "rpc_demo.echo", '{"a": [1, "x"]}').replace(" ", "").replace("\n", "") \
        == '{"a":[1,"x"]}'
    assert call(a, "rpc_demo.fail", "[]") == "Error: rpc_demo failed on purpose"
    a.shot(tmp_path, "called")
    # The method list follows the plugins: B disables RPC demo, A's list loses its methods.
    b.click(C_GUID, "toggle")
    a.wait(lambda: not a.finds('#methods-select option[value="rpc_demo.add"]'))
    b.click(C_GUID, "toggle")
    a.wait(lambda: a.finds('#methods-select option[value="rpc_demo.add"]'))


def test_06_plugin_ui_in_its_sandboxed_frame(world, tmp_path):
    a, b, script = world["a"], world["b"], world["script"]
    a.wait(lambda: a.row(NOTES_GUID).find_elements(By.CSS_SELECTOR, "button.ui"))
    a.click(NOTES_GUID, "ui")
    frame = a.find(f'#frames .frame[data-guid="{NOTES_GUID}"] iframe')
    assert frame.get_attribute("sandbox") == "allow-scripts allow-forms"
    a.driver.switch_to.frame(frame)
    try:
        a.wait(lambda: a.find("#greeting").text == "Greetings from the browser")
        a.find("#text").send_keys("typed in the frame")
        a.find("#add button").click()
        a.wait(lambda: any(li.text == "typed in the frame" for li in a.finds("#notes li")))
        script.call("notes.add", "pushed by the script")   # the plugin's event reaches it
        a.wait(lambda: any(li.text == "pushed by the script" for li in a.finds("#notes li")))
        for reach in ("parent.document.title", "sessionStorage.length",   # no way to the
                      "document.cookie"):                                # page or its token
            assert a.driver.execute_script(f"try {{ return {reach} }} "
                                           "catch (e) { return e.name }") == "SecurityError"
    finally:
        a.driver.switch_to.default_content()
    assert "typed in the frame" in [n["text"] for n in script.call("notes.list")]
    a.shot(tmp_path, "plugin-frame")

    a.click(BROKEN_GUID, "ui")
    broken = a.find(f'#frames .frame[data-guid="{BROKEN_GUID}"] iframe')
    a.driver.switch_to.frame(broken)
    try:
        a.wait(lambda: a.finds("#note"))
        assert a.driver.execute_script("return document.title") == "blocked: SecurityError"
    finally:
        a.driver.switch_to.default_content()
    assert a.driver.current_url.rstrip("/") == a.root.rstrip("/")   # not navigated away
    assert a.find("#plugins-table").is_displayed() and a.status(C_GUID) == "loaded"
    Select(a.find("#methods-select")).select_by_value("rpc_demo.add")  # the page still works
    a.find("#methods-params").clear()
    a.find("#methods-params").send_keys("[20, 22]")
    a.find("#methods-call").click()
    a.wait(lambda: a.find("#methods-result").text == "42")
    a.shot(tmp_path, "broken-frame-contained")
    assert b.find("#plugins-table").is_displayed()


def test_07_install_by_upload_and_remove(world, tmp_path):
    a, b, host = world["a"], world["b"], world["served"].host
    bad = tmp_path / "not_a_plugin.py"
    bad.write_text("x = 1\n")
    a.find("#install-file").send_keys(str(bad))
    a.find("#install-button").click()
    a.wait(lambda: a.find("#install-status").text.startswith("Refused:"))
    assert "declares no plugin" in a.find("#install-status").text
    plugin = tmp_path / "uploaded.py"
    plugin.write_text(UPLOADED)
    a.find("#install-file").send_keys(str(plugin))
    a.find("#install-button").click()
    a.wait(lambda: a.find("#install-status").text.startswith("installed: Uploaded"))
    b.wait(lambda: b.status(UPLOADED_GUID) == "loaded", what="B to see the install")
    assert world["script"].call("uploaded.hello", "browser") == "hello browser"
    b.shot(tmp_path, "sees-install")
    b.click(UPLOADED_GUID, "remove")
    b.wait(lambda: b.driver.switch_to.alert)
    b.driver.switch_to.alert.accept()
    a.wait(lambda: a.row(UPLOADED_GUID) is None, what="A to see the removal")
    assert UPLOADED_GUID not in [r.guid for r in host.plugins()]


def test_08_extensions_install_start_settings_log_stop(world, tmp_path):
    a, b, script = world["a"], world["b"], world["script"]
    tgz = pack.pack(PYTHON, tmp_path / "packed")
    a.find("#install-file").send_keys(str(tgz))
    a.find("#install-button").click()
    a.wait(lambda: a.find("#install-status").text.startswith(f"installed: {PYTHON}"))
    row = f'#extensions-table tr[data-name="{PYTHON}"]'

    def state(browser):
        rows = browser.finds(row)
        return rows[0].find_element(By.CSS_SELECTOR, ".badge").text if rows else None

    b.wait(lambda: state(b) == "stopped", what="B to see the new extension")

    def click(browser, button):
        def done():
            browser.find(row).find_element(By.CSS_SELECTOR, f"button{button}").click()
            return True
        browser.wait(done, what=f"{button} of {PYTHON}")

    click(a, ".start")
    b.wait(lambda: state(b) == "running", timeout=30, what="B to see it running")
    click(a, ".settings")           # it defined its settings once connected
    a.wait(lambda: a.find('#extension-settings-form input[name="reply"]').get_attribute(
        "value") == "pong from python")
    reply = a.find('#extension-settings-form input[name="reply"]')
    reply.clear()
    reply.send_keys("pong from the browser")
    a.find("#extension-settings-form button.save").click()
    a.wait(lambda: a.find("#extension-status").text == "Saved.")
    assert script.request("GET", f"extensions/{PYTHON}/settings")["reply"] == \
        "pong from the browser"
    output = '.log[data-file="output.log"]'
    click(a, output)
    a.wait(lambda: "python extension ready" in a.find("#extension-log").text)
    a.wait(lambda: (click(a, output), "settings updated" in a.find("#extension-log").text)[1],
           what="the extension to log the new settings")
    a.shot(tmp_path, "extension")
    click(b, ".stop")
    a.wait(lambda: state(a) == "stopped", what="A to see it stopped")


def test_09_two_browsers_and_a_script_see_the_same_events_in_order(world, tmp_path):
    a, b, script = world["a"], world["b"], world["script"]
    host = world["served"].host
    script.listen("host_event")
    start = host.events.poll()  # drain; what comes next is compared
    floor = max([e.seq for e in start], default=0)
    a.click(NOTES_GUID, "toggle")
    b.wait(lambda: b.status(NOTES_GUID) == "disabled")
    b.click(NOTES_GUID, "toggle")
    for i in range(5):
        script.call("rpc_demo.add", i, i)
    script.request("POST", "events", {"text": "end of the comparison"})

    def seqs(browser):
        return [int(li.get_attribute("data-seq")) for li in browser.finds("#events-list li")]

    def caught_up(browser):
        got = seqs(browser)
        return got and any(li.get_attribute("data-kind") == "api_event_message"
                           for li in browser.finds("#events-list li"))

    a.wait(lambda: caught_up(a))
    b.wait(lambda: caught_up(b))
    from_script = []
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        event = script.next_event(timeout=WAIT)
        if event.name == "host_event" and event.data["seq"] > floor:
            from_script.append(event.data["seq"])
            if event.data["kind"] == "api_event_message":
                break
    in_a = [s for s in reversed(seqs(a)) if s > floor]   # the page shows the newest first
    in_b = [s for s in reversed(seqs(b)) if s > floor]
    assert in_a == in_b == from_script
    assert len(from_script) >= 5 + 5 + 4                 # adds, events, unload/load...
    a.shot(tmp_path, "events")
    b.shot(tmp_path, "events")
