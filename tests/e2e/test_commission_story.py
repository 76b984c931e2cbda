"""The health commission's day in a real browser, on the demo: the commission's account starts
from its desk, where the periods without an evaluation wait; it opens the demo network's
second half of last year, runs the evaluation against the 15 criteria, reads what the data
proves, and scores two criteria by hand with their evidence, first in Chinese, then in
English. No Chinese page shows English text or a raw error body."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.web.test_untranslated import ENGLISH, _visible

from caregrid import clock

PASSWORD = "demo commission correct horse"
YEAR = clock.today().year - 1  # the demo's synthetic year of activity
# Each language's story evaluates a half year of its own: the second half, then the first.
PERIODS = {"zh-CN": f"{YEAR}H2", "en": f"{YEAR}H1"}
LOAD = f"""
from caregrid.auth import service as auth
from caregrid.auth.roles import SYSTEM
from caregrid.cli import demo
from caregrid.config import get_settings
from caregrid.db.migrate import upgrade
from caregrid.db.session import get_engine, session_scope
from caregrid.registry import importer
from caregrid.synth.city import generate

upgrade(get_engine())
checked = [importer.load(p) for p in demo.shipped_layouts()]
with session_scope() as s:
    for one in checked:
        importer.apply(s, one, actor=SYSTEM, purpose="demo load")
    n = demo._demo_network(s)
    demo.load_network(s, n)
    auth.set_password(s, SYSTEM, auth.get_by_username(s, "commission"), {PASSWORD!r})
    code = n.code
generate("jinhua", 3000, {YEAR}, 1, get_settings().effective_facts_dir)
print(code)
"""
# The verdicts in each language (the pages' labels of indicators.evaluation.VERDICTS), and
# what the data can say of a criterion besides.
VERDICTS = {"zh-CN": ("达标", "部分达标", "未达标"), "en": ("Met", "Partly met", "Not met")}
AUTOMATIC = {"zh-CN": ("无法判定",), "en": ("Not evaluable",)}


@dataclass(frozen=True)
class Demo:
    base_url: str
    network: str


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo's steps and a small synthetic year on a fresh SQLite file, served by uvicorn
    in a process of its own."""
    folder = tmp_path_factory.mktemp("demo-commission")
    env = {
        **os.environ,
        "CAREGRID_DATABASE_URL": f"sqlite:///{folder / 'demo.db'}",
        "CAREGRID_AUDIT_HEAD_FILE": str(folder / "audit-head.json"),
        "CAREGRID_FACTS_DIR": str(folder / "facts"),
    }
    loaded = subprocess.run(
        [sys.executable, "-c", LOAD], env=env, capture_output=True, text=True, timeout=300
    )
    assert loaded.returncode == 0, loaded.stderr
    network = loaded.stdout.strip().splitlines()[-1]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "caregrid.web.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off",
         "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if server.poll() is not None:
                    pytest.fail("the demo server exited")
                time.sleep(0.1)
        else:
            pytest.fail("the demo server did not answer within 20 s")
        yield Demo(base, network)
    finally:
        server.terminate()
        server.wait(timeout=10)


class Reader:
    """Reads every page the story reaches in Chinese for English text and raw error bodies."""

    def __init__(self, page: Page, zh: bool) -> None:
        self.page, self.zh, self.found = page, zh, dict[str, list[str]]()

    def check(self) -> None:
        html = self.page.content()
        hits = ENGLISH.findall(_visible(html)) if self.zh else []
        if '"type": "about:blank"' in html or "Traceback" in html or '{"detail"' in html:
            hits.append("raw error body")
        if hits:
            self.found[self.page.url] = sorted(set(hits))


def _score(page: Page, row: str, verdict: str, note: str) -> None:
    form = page.locator(f"{row} form")
    form.locator("select[name=verdict]").select_option(verdict)
    form.locator("input[name=note]").fill(note)
    form.locator("button[type=submit]").click()


@pytest.mark.e2e
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_commission_evaluates_a_networks_half_year(
    browser: Browser, demo_server: Demo, locale: str
) -> None:
    base, network = demo_server.base_url, demo_server.network
    zh, period = locale == "zh-CN", PERIODS[locale]
    url = f"{base}/networks/{network}/evaluations/{period}"
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    if not zh:
        context.add_cookies([{"name": "caregrid_lang", "value": "en", "url": base}])
    try:
        page = context.new_page()
        reader = Reader(page, zh)
        page.goto(f"{base}/login")
        page.locator("input[name=username]").fill("commission")
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form[action='/login'] button[type=submit]").click()
        expect(page).to_have_url(f"{base}/")
        reader.check()

        # The desk: every ended period of every network without an evaluation is one line.
        expect(page.locator("h1")).to_have_text("我的工作台" if zh else "My desk")
        tray = page.locator("#tray-evaluations")
        expect(tray.locator("h2")).to_contain_text(
            "尚未开展的考核" if zh else "Evaluations not yet run"
        )
        waiting = int(tray.get_attribute("data-total") or 0)
        assert waiting >= 2  # the two half years at least
        expect(tray.locator("li").first).to_contain_text("尚未考核" if zh else "Not yet evaluated")

        # The demo network's half year, from the tray's list of networks when it is not among
        # the first lines.
        line = tray.locator(f"li a[href='/networks/{network}/evaluations/{period}']")
        if line.count():
            line.click()
        else:
            page.goto(url)
        expect(page).to_have_url(url)
        reader.check()
        expect(page.locator("h1")).to_contain_text(period)
        expect(page.locator("#criteria")).to_have_count(0)
        run = page.locator("#run-evaluation")
        expect(run).to_have_text("开始评价" if zh else "Run the evaluation")
        run.click()
        expect(page).to_have_url(url)
        reader.check()

        # What the data proves, each result a word of the page's language, never a code.
        rows = page.locator("#criteria tbody tr")
        expect(rows).to_have_count(15)
        words = set(VERDICTS[locale] + AUTOMATIC[locale])
        shown = page.locator("#criteria td .status").all_inner_texts()
        assert shown and set(shown) <= words, shown
        assert not set(shown) & {"met", "partly", "not_met", "not-evaluable"}

        # Two criteria the evaluator scores by hand, each with its evidence.
        by_hand = page.locator("#criteria tbody tr[data-automatic='']")
        first, second = (f"#{n}" for n in by_hand.evaluate_all("r => r.map(x => x.id)")[:2])
        options = page.locator(f"{first} select[name=verdict] option").all_inner_texts()
        assert options == list(VERDICTS[locale])
        note = (
            "集团章程已印发，管委会按季度召开"
            if zh
            else "Charter issued; the board meets quarterly"
        )
        _score(page, first, "partly", note)
        expect(page).to_have_url(url + first)  # back at the row just scored
        reader.check()
        expect(page.locator(f"{first} strong.verdict")).to_have_text(VERDICTS[locale][1])
        expect(page.locator(first)).to_have_attribute("data-verdict", "partly")
        expect(page.locator(first)).to_contain_text(note)

        # Evidence left out: the form is shown again with the reason, in the page's language.
        _score(page, second, "met", " ")
        expect(page.locator(f"#error-criterion-{second[2:]}")).to_contain_text(
            "请说明结论依据的证据" if zh else "say what evidence the verdict rests on"
        )
        reader.check()
        _score(page, second, "met", "信息平台已互联" if zh else "The platforms are connected")
        expect(page).to_have_url(url + second)
        expect(page.locator(f"{second} strong.verdict")).to_have_text(VERDICTS[locale][0])

        # Refreshing what the data proves keeps the verdicts.
        page.locator("#run-evaluation").click()
        expect(page).to_have_url(url)
        reader.check()
        expect(page.locator(f"{first} strong.verdict")).to_have_text(VERDICTS[locale][1])
        expect(page.locator(f"{second} strong.verdict")).to_have_text(VERDICTS[locale][0])

        page.screenshot(path=f"var/e2e-commission-evaluation-{locale}.png", full_page=True)

        # Back on the desk the period no longer waits.
        page.goto(f"{base}/")
        reader.check()
        expect(page.locator("#tray-evaluations")).to_have_attribute("data-total", str(waiting - 1))
        page.screenshot(path=f"var/e2e-commission-desk-{locale}.png", full_page=True)
        assert reader.found == {}
        assert re.search(r"\bnot_met\b|\bpartly\b", _visible(page.content())) is None
    finally:
        context.close()
