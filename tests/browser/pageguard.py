"""A guard attached to every browser page: records every request to a host
other than the test server, and what each page load (document, styles,
scripts, images) transferred, so a test can assert the CONTRACT's "no CDN,
no external fonts or scripts" and the light-page budget; and what the browser
complained about: a console error (a Content-Security-Policy violation is one),
an uncaught script error, or a style, script or image that failed to load.
A page answered with an error status (a 403 or 404 the test asks for) is not a
complaint: the browser logs it, the test checks the page.

Downloads (responses sent as attachments) are not page loads and are left
out of the budget."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

PAGE_BUDGET = 200 * 1024  # bytes per page load, headers included
LOCAL_SCHEMES = {"data", "blob", "about"}  # never leave the browser
# Chromium's console line for any response with an error status; the statuses
# themselves are checked per request (subresources) or by the test (pages).
FAILED_LOAD = "Failed to load resource: the server responded with a status of"


@dataclass
class PageLoad:
    url: str
    resources: list[tuple[str, int]] = field(default_factory=list)
    download: bool = False
    previous: PageLoad | None = None

    @property
    def size(self) -> int:
        return sum(n for _, n in self.resources)

    def describe(self) -> str:
        parts = ", ".join(f"{u} {n} B" for u, n in sorted(self.resources, key=lambda r: -r[1])[:5])
        return f"{self.url}: {self.size} B ({parts})"


class PageGuard:
    def __init__(self, page, base_url: str, budget: int = PAGE_BUDGET) -> None:
        origin = urlsplit(base_url)
        self.scheme, self.host = origin.scheme, origin.netloc
        self.page, self.budget = page, budget
        self.foreign: list[str] = []
        self.loads: list[PageLoad] = []
        self._current: PageLoad | None = None
        self._load_of: dict = {}  # request -> the page load it belongs to
        self._downloads: set = set()
        self._checked = 0
        self.complaints: list[str] = []
        page.on("request", self._on_request)
        page.on("response", self._on_response)
        page.on("requestfinished", self._on_finished)
        page.on("requestfailed", self._on_failed)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.complaints.append(f"script error on {page.url}: {error}"))

    # -- events ---------------------------------------------------------
    def _on_request(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in LOCAL_SCHEMES:
            return
        if (parts.scheme, parts.netloc) != (self.scheme, self.host):
            self.foreign.append(request.url)
        if request.is_navigation_request() and request.frame.parent_frame is None:
            origin = request.redirected_from
            load = self._load_of.get(origin) if origin is not None else None
            if load is None:  # a new page; a redirect hop stays in the same load
                load = PageLoad(request.url, previous=self._current)
                self.loads.append(load)
                self._current = load
            else:
                load.url = request.url
        else:
            load = self._current
        if load is not None:
            self._load_of[request] = load

    def _on_console(self, message) -> None:
        text = message.text
        if (message.type == "error" and not text.startswith(FAILED_LOAD)) or "Content Security Policy" in text:
            self.complaints.append(f"console {message.type} on {self.page.url}: {text}")

    def _on_failed(self, request) -> None:
        # Aborted: the page was left before it finished loading (a quick click), no fault;
        # a missing file answers >= 400 and a blocked one logs a CSP error, both caught.
        if not request.is_navigation_request() and request.failure != "net::ERR_ABORTED":
            self.complaints.append(f"{request.resource_type} {request.url} failed: {request.failure}")

    def _on_response(self, response) -> None:
        if response.status >= 400 and not response.request.is_navigation_request():
            self.complaints.append(f"{response.request.resource_type} {response.url} answered {response.status}")
        if "attachment" not in response.headers.get("content-disposition", "").lower():
            return
        request = response.request
        self._downloads.add(request)
        load = self._load_of.get(request)
        if load is not None and request.is_navigation_request():
            # Clicking a download link starts a navigation that never replaces
            # the page: the page shown is still the previous load.
            load.download = True
            if self._current is load:
                self._current = load.previous

    def _on_finished(self, request) -> None:
        load = self._load_of.get(request)  # kept: a redirect's next hop looks it up
        if load is None or request in self._downloads:
            return
        sizes = request.sizes()
        load.resources.append((request.url, sizes["responseHeadersSize"] + sizes["responseBodySize"]))

    # -- checks ---------------------------------------------------------
    def pages(self) -> list[PageLoad]:
        return [load for load in self.loads if not load.download]

    def problems(self) -> list[str]:
        out = [f"request to another host: {url}" for url in self.foreign]
        out += self.complaints
        out += [f"page over {self.budget // 1024} KB: {load.describe()}"
                for load in self.pages() if load.size > self.budget]
        return out

    def assert_clean(self) -> None:
        self._checked = len(self.loads) + len(self.complaints)
        problems = self.problems()
        assert not problems, "page guard:\n  " + "\n  ".join(problems)

    @property
    def unchecked(self) -> bool:
        return len(self.loads) + len(self.complaints) > self._checked
