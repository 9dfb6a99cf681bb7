"""Real-browser tests: Debian's chromium driven by Playwright (sync API)
against the app served by a live werkzeug server in a thread.

One server and one browser for the whole tests/browser package (seeding the
demo district takes seconds); a fresh browser context per test, so no cookie
or language choice leaks from one test into another. A module that needs the
present era serves the demo again (demo_server) from a database of its own."""
from __future__ import annotations

import os
import random
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from helpers import dispose_engines, pdf_of
from werkzeug.serving import make_server

from tests.conftest import ROOT, build_app
from workflow_app.extensions import db
from workflow_app.services.admin.demo import DEMO_PASSWORD, seed_demo

from .pageguard import PageGuard

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 360, "height": 740}
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PORTS = range(20000, 30000)  # below the kernel's ephemeral range, unlike port 0
AXE = ROOT / ".cache" / "axe-core" / "axe.min.js"  # scripts/fetch_axe.sh (pinned, from npm)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Also run from axe's best practices: headings in order, one h1, one main landmark.
AXE_EXTRA_RULES = ["heading-order", "page-has-heading-one", "landmark-one-main"]
MIN_TARGET = 44  # px, both sides: buttons, fields, standalone links


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: real-browser tests (Debian chromium via Playwright)")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="package")
def chromium():
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        reason = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
        if _in_ci():
            pytest.fail(f"{reason}; CI must run the browser tests.", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def axe_source() -> str:
    """axe-core's source, downloaded once by scripts/fetch_axe.sh (make test runs it too)."""
    run = subprocess.run(["bash", str(ROOT / "scripts" / "fetch_axe.sh")], check=False, capture_output=True, text=True)
    if run.returncode or not AXE.is_file():
        reason = f"axe-core is missing ({AXE}): scripts/fetch_axe.sh said: {run.stderr.strip() or run.stdout.strip()}"
        if _in_ci():
            pytest.fail(f"{reason}; CI must run the accessibility checks.", pytrace=False)
        pytest.skip(reason)
    return AXE.read_text(encoding="utf-8")


# The tap-target rule, in one place. A target is a visible a[href], button,
# input (not hidden), select, textarea or summary inside <main>; it must be at
# least MIN_TARGET px wide and high. A checkbox or radio button is measured by
# its label (clicking the label is clicking the box). Exempt, as in WCAG 2.5.8:
# a link inside running text, i.e. a link laid out inline whose nearest
# non-inline ancestor holds other words (a letter or a digit; a separator such
# as "·" is not a word) that are not themselves in a link or a control.
SMALL_TARGETS_JS = """(min) => {
  const main = document.querySelector('main');
  if (!main) return [];
  const isInline = (el) => ['inline', 'contents'].includes(getComputedStyle(el).display);
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const inRunningText = (a) => {
    if (!isInline(a)) return false;
    let block = a.parentElement;
    while (block !== main && isInline(block)) block = block.parentElement;
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (/[\\p{L}\\p{N}]/u.test(n.textContent)
          && !n.parentElement.closest('a, button, select, textarea, label, summary')) return true;
    }
    return false;
  };
  const name = (el) => {
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '').trim();
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.type && el.tagName !== 'BUTTON' ? `[type=${el.type}]` : '')
      + (text ? ` "${text.slice(0, 40)}"` : '');
  };
  const small = [];
  for (const el of main.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    if (!shown(el) || (el.tagName === 'A' && inRunningText(el))) continue;
    const target = el.matches('[type=checkbox], [type=radio]') && el.labels && el.labels.length ? el.labels[0] : el;
    const r = target.getBoundingClientRect();
    if (r.width < min - 0.5 || r.height < min - 0.5) {
      small.push(`${name(el)} ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return small;
}"""

AXE_RUN_JS = """async ([tags, extra]) => {
  const rules = Object.fromEntries(extra.map((id) => [id, {enabled: true}]));
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, rules, resultTypes: ['violations']});
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}; `
    + v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ')
    + (v.nodes.length > 4 ? ` (+${v.nodes.length - 4})` : ''));
}"""


MIN_CHART_TEXT = 12  # px, as drawn: a chart may shrink to the screen, its words may not

SMALL_CHART_TEXT_JS = """(min) => [...document.querySelectorAll('main svg.chart')].flatMap((svg) => {
  const scale = svg.getScreenCTM() ? svg.getScreenCTM().a : 1;
  return [...svg.querySelectorAll('text')]
    .map((t) => [t.textContent.trim(), parseFloat(getComputedStyle(t).fontSize) * scale])
    .filter(([, px]) => px < min - 0.05)
    .slice(0, 3).map(([text, px]) => `#${svg.id} "${text.slice(0, 30)}" ${px.toFixed(1)} px`);
})"""


def small_chart_text(page) -> list[str]:
    return page.evaluate(SMALL_CHART_TEXT_JS, MIN_CHART_TEXT)


def skip_link_problem(page) -> str | None:
    """The first focusable element must be a link into <main>, visible once focused."""
    found = page.evaluate("""() => {
      const focusable = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
      const first = document.querySelector(focusable);
      if (!first || !first.matches('a.skip')) return {first: first ? first.outerHTML.slice(0, 80) : null};
      first.focus();
      const r = first.getBoundingClientRect(), target = document.getElementById(first.hash.slice(1));
      const ok = r.top >= 0 && r.height > 0 && !!(target && target.closest('main'));
      first.blur();
      return ok ? null : {shown: r.top >= 0 && r.height > 0, target: first.hash};
    }""")
    return f"no visible skip link into <main> first: {found}" if found else None


def overflow(page) -> int | None:
    """How far the page scrolls sideways, or None when it does not."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return width - inner if width > inner else None


def small_targets(page) -> list[str]:
    return page.evaluate(SMALL_TARGETS_JS, MIN_TARGET)


def axe_violations(page, source: str) -> list[str]:
    """axe-core's WCAG 2.0/2.1 A and AA violations (and AXE_EXTRA_RULES') on the page as shown. The
    source is evaluated, not added as a <script>: the app's Content-Security-Policy
    forbids inline scripts, and stays as strict under test."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    return page.evaluate(AXE_RUN_JS, [AXE_TAGS, AXE_EXTRA_RULES])


@dataclass
class LiveServer:
    url: str
    app: object

    def run(self, fn, *args, **kw):
        """Call fn inside the app's context and commit (set-up and look-ups
        that are not what the test is about)."""
        with self.app.app_context():
            try:
                result = fn(*args, **kw)
                db.session.commit()
                return result
            finally:
                db.session.remove()


def _buffered(app):
    """The app with each answer read whole and its body closed before a byte is
    sent. A browser that drops a connection mid-answer (it navigated on) makes
    werkzeug's development server skip closing the body, which leaves a static
    file open and fails the test on a ResourceWarning; gunicorn, which users
    get, always closes it."""

    def wsgi(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return wsgi


def _serve(app):
    ports = list(PORTS)
    start = random.randrange(len(ports))  # two runs at once rarely collide
    for port in ports[start:] + ports[:start]:
        try:
            return make_server("127.0.0.1", port, _buffered(app), threaded=True), port
        except OSError:
            continue
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@contextmanager
def demo_server(storage: Path, pg_url: str | None) -> Iterator[LiveServer]:
    """The app with the demo seeded, served by werkzeug in a thread, at whatever
    the clock says while the server runs."""
    app = build_app(storage, pg_url)
    # The browser sends real CSRF tokens: test with the protection users get.
    app.config["WTF_CSRF_ENABLED"] = True
    with app.app_context():
        seed_demo()
        db.session.commit()
        db.session.remove()
    server, port = _serve(app)
    thread = threading.Thread(target=server.serve_forever, name=f"live-server-{port}", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            dispose_engines()


@pytest.fixture(scope="package")
def live_server(chromium, tmp_path_factory, pg_database):
    with demo_server(tmp_path_factory.mktemp("browser"), pg_database) as server:
        yield server


def tiny_pdf(text: str) -> bytes:
    """PDF 1.4 with one page of Helvetica text and a correct xref table."""
    safe = text.encode("ascii", "replace").replace(b"\\", b"").replace(b"(", b"").replace(b")", b"")
    content = b"BT /F1 14 Tf 20 60 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 120] /Contents 4 0 R"
         b" /Resources << /Font << /F1 5 0 R >> >> >>"),
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return pdf_of(*objects)


class Web:
    """Pages for one test: each new page has its own context (cookies) and a
    PageGuard; screenshots and the UI log-in / log-out the tests share."""

    def __init__(self, browser, server: LiveServer, prefix: str, tmp: Path) -> None:
        self.browser, self.server, self.prefix, self.tmp = browser, server, prefix, tmp
        self.contexts, self.guards = [], []

    def new_page(self, viewport: dict = PHONE):
        context = self.browser.new_context(viewport=viewport, base_url=self.server.url, accept_downloads=True)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        self.guards.append(PageGuard(page, self.server.url))
        return page

    def shot(self, page, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{self.prefix}-{name}.png"), full_page=True)

    def login(self, page, username: str, password: str = DEMO_PASSWORD) -> None:
        if "/login" not in page.url:
            page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.locator("main button[type=submit]").click()  # "Đăng nhập" or "Sign in"
        page.wait_for_url(lambda url: "/login" not in url)

    def logout(self, page) -> None:
        page.get_by_role("button", name="Đăng xuất").click()
        page.wait_for_url("**/login**")
        assert page.locator(".flash").first.inner_text() == "Bạn đã đăng xuất."

    def submit(self, page, button) -> None:
        """Click a button that posts a form and wait for the page it leads to."""
        with page.expect_navigation():
            button.click()

    def fire(self, page, event: str, comment: str | None = None) -> None:
        """Use the form of one workflow event on the dossier page, as a user does:
        reason, the confirmation box, the button."""
        box = page.locator(f"#event-{event}")
        if comment is not None:
            box.locator("textarea[name=comment]").fill(comment)
        box.get_by_role("checkbox").check()
        self.submit(page, box.locator("button[type=submit]"))

    def pdf(self, name: str, text: str) -> Path:
        """A small but well-formed one-page PDF on disk, to upload."""
        path = self.tmp / name
        path.write_bytes(tiny_pdf(text))
        return path

    def assert_guards(self) -> None:
        for guard in self.guards:
            guard.assert_clean()

    def close(self) -> None:
        for context in self.contexts:
            context.close()


DESKTOP = {"width": 1280, "height": 800}
FORMS = {"self-assessment": r"/dossiers/\d+/self-assessment$", "appraisal": r"/dossiers/\d+/appraisal$",
         "fields": r"/dossiers/\d+/fields$"}
# Pages that are not in the top bar, by name.
EXTRA = {"monthly": "/reports/monthly", "batch": "/decisions/batch", "committee-office": "/committee/office",
         "admin-committee": "/admin/committee"}
NAV = {  # top-bar link -> page name; every role visits each of these it is offered
    "/": "queue", "/dossiers": "list", "/dossiers/new": "new", "/decisions": "register", "/dashboard": "dashboard",
    "/committee": "committee", "/outbox": "outbox", "/admin/users": "admin-users", "/password": "password",
}
STATES = ("draft", "submitted", "returned", "appraised", "recognized", "rejected", "revoked")
_photographed_wide: set[tuple[str, str]] = set()  # one 1280 px picture per page name (and prefix) is enough


class Visit:
    """The pages one person visits, and what was wrong on each: sideways scrolling
    at 360 and 1280 px, small tap targets, small chart text, the skip link, axe."""

    def __init__(self, web, page, who: str, axe: str) -> None:
        self.web, self.page, self.who, self.axe = web, page, who, axe
        self.seen: dict[str, str] = {}  # page name -> url
        self.problems: list[str] = []

    def check(self, name: str, url: str, status: int = 200) -> None:
        page, where = self.page, f"{self.who} {name} {url}"
        response = page.goto(url)
        self.seen[name] = url
        if response.status != status:
            self.problems.append(f"{where}: answered {response.status}, expected {status}")
        if (extra := overflow(page)) is not None:
            self.problems.append(f"{where}: scrolls sideways by {extra} px at 360")
        self.problems += [f"{where}: tap target under 44 px: {t}" for t in small_targets(page)]
        self.problems += [f"{where}: chart text under 12 px: {t}" for t in small_chart_text(page)]
        if skipped := skip_link_problem(page):
            self.problems.append(f"{where}: {skipped}")
        self.problems += [f"{where}: axe: {v}" for v in axe_violations(page, self.axe)]
        shot = f"{self.who.replace('.', '-')}-{name}"
        self.web.shot(page, f"{shot}-360")
        page.set_viewport_size(DESKTOP)
        if (extra := overflow(page)) is not None:
            self.problems.append(f"{where}: scrolls sideways by {extra} px at 1280")
        if (self.web.prefix, name) not in _photographed_wide:
            _photographed_wide.add((self.web.prefix, name))
            self.web.shot(page, f"{shot}-1280")
        page.set_viewport_size(PHONE)

    def hrefs(self, selector: str) -> list[str]:
        return [urlsplit(h).path + (f"?{urlsplit(h).query}" if urlsplit(h).query else "")
                for h in self.page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))")]

    def role_pages(self, wanted: set[str]) -> None:
        """Every top-bar page the person is offered, the EXTRA pages in `wanted`,
        then the dossier pages and forms in `wanted`."""
        nav = set(self.hrefs("header a[href]"))
        for path, name in NAV.items():
            if path in nav:
                self.check(name, path)
        for name, path in EXTRA.items():
            if name in wanted:
                self.check(name, path)
        self.dossier_pages(wanted)

    def dossier_pages(self, wanted: set[str]) -> None:
        """The dossier pages and forms the role must reach, found through its dossier
        list: "dossier-<state>" is the first dossier in that state, a form name the
        first such form any of the dossiers links to."""
        forms = {name for name in FORMS if name in wanted}
        for state in STATES:
            if f"dossier-{state}" not in wanted and not forms:
                continue
            self.page.goto(f"/dossiers?state={state}")
            for n, link in enumerate(self.hrefs("main table a[href^='/dossiers/']")):
                if n == 0 and f"dossier-{state}" in wanted:
                    self.check(f"dossier-{state}", link)
                elif forms:
                    self.page.goto(link)
                else:
                    break
                for href in self.hrefs("main a[href]"):
                    name = next((f for f in forms if re.search(FORMS[f], href)), None)
                    if name:
                        forms.discard(name)
                        self.check(name, href)
                        self.page.goto(link)

    def assert_clean(self, wanted: set[str]) -> None:
        missing = wanted - set(self.seen)
        if missing:
            self.problems.append(f"{self.who} did not reach {sorted(missing)}; saw {sorted(self.seen)}")
        assert not self.problems, f"{len(self.problems)} problems:\n  " + "\n  ".join(self.problems)


@pytest.fixture
def web(chromium, live_server, request, tmp_path):
    prefix = request.node.name.removeprefix("test_").split("_")[0]  # village, town, other, ...
    w = Web(chromium, live_server, prefix, tmp_path)
    yield w
    try:
        # The tests assert their guards at the end; pages they opened after
        # that (or a test that forgot) are checked here.
        if not getattr(request.node, "browser_failed", False) and any(g.unchecked for g in w.guards):
            w.assert_guards()
    finally:
        w.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.browser_failed = True
    return report
