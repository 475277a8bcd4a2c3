"""The HTML report in headless Chromium (the system browser, driven by playwright).

One browser per module; each test opens the report from file:// in a fresh page and fails
on any console error, page error, CSP violation, dialog or network request.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from passline.report import build_report
from passline.report._chunks import read_cases
from passline.report._synthetic import write_synthetic_runs

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing on CI: the report's browser tests must run there "
                    "(apt-get install chromium)", pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests of "
                "the HTML report skipped locally", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

WATCH = """
window.__events = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__events.push('csp ' + e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-runs")
    return write_synthetic_runs(root, n_cases=120, trials=2, n_regressed=8, n_improved=4,
                                n_flaky=2, n_errored=1, hostile=True)


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    paths = build_report(runs.baseline, runs.candidate, tmp_path_factory.mktemp("out"))
    html = paths.index_html.read_text(encoding="utf-8")
    data = re.search(r'<script type="application/json" id="cases">(.*?)</script>', html, re.S)
    assert data
    return paths.index_html, json.loads(data.group(1))["cases"]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Watched:
    """A page plus everything it did that a safe offline report must never do."""

    def __init__(self, browser, url: str) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.set_default_timeout(5000)
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page.add_init_script(WATCH)
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"),
                                          d.dismiss()))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = url
        self.page.goto(url)
        self.page.wait_for_selector("html[data-rendered-ms]")

    def ids(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "#case-list > li", "els => els.map(e => e.getAttribute('data-case-id'))")

    def check_clean(self) -> None:
        events = self.page.evaluate("window.__events")
        assert self.page.evaluate("typeof window.__xss") == "undefined"
        assert self.page.evaluate("typeof parent.__xss") == "undefined"
        assert events == [] and self.problems == []
        assert self.requests == [self.url]  # the file itself, nothing else

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def page(browser, report):
    w = Watched(browser, report[0].resolve().as_uri())
    yield w
    w.check_clean()
    w.close()


def _expand_all_pages(w: Watched) -> int:
    opened = 0
    while True:
        opened += w.page.evaluate("""() => {
            const rows = document.querySelectorAll('#case-list .case-row');
            rows.forEach(b => b.click());
            document.querySelectorAll('#case-list details').forEach(d => { d.open = true; });
            return rows.length; }""")
        if w.page.is_disabled("#page-next"):
            return opened
        w.page.click("#page-next")


def test_opens_offline_and_the_xss_corpus_sets_nothing(page, report):
    assert page.page.inner_text("#verdict-status") == "REGRESSED"
    assert _expand_all_pages(page) == len(report[1])  # every case rendered, hostile ones too
    assert page.page.locator(".detail").count() >= 20
    assert page.page.evaluate("document.querySelectorAll('img, iframe, #case-list script')"
                              ".length") == 0
    # check_clean (in the fixture) asserts no __xss, dialogs, errors, CSP events, requests


def test_filter_regressed_shows_exactly_the_regressed_cases(page, runs):
    page.page.focus("button.filter[data-filter=regressed]")
    page.page.keyboard.press("Enter")  # buttons, so the keyboard works
    assert page.page.get_attribute("button.filter[data-filter=regressed]",
                                   "aria-pressed") == "true"
    assert sorted(page.ids()) == sorted(runs.regressed)
    assert page.page.inner_text("[data-count=regressed]") == str(len(runs.regressed))
    page.page.click("button.filter[data-filter=improved]")
    assert sorted(page.ids()) == sorted(runs.improved)
    page.page.click("button.filter[data-filter=error]")
    assert page.ids() == list(runs.errored)


def test_search_narrows_by_id_input_and_answer(page, report, runs):
    cases = report[1]

    def expected(q: str) -> list[str]:
        def text(c: dict) -> str:
            answers = [t["a"] for side in (c["b"], c["c"]) if side for t in side["tr"]]
            return "\n".join([c["id"], c["in"] or "", *answers]).lower()
        return [c["id"] for c in cases if q.lower() in text(c)][:50]

    for query in (runs.case_ids[57], "ORD-10100", "could not find a refund"):
        page.page.fill("#case-search", query)
        # (no wait_for_function: it evaluates strings, which the report's CSP forbids)
        sync_api.expect(page.page.locator("#case-status")).to_contain_text(query.lower())
        assert page.ids() == expected(query), query
    assert len(expected(runs.case_ids[57])) == 1
    page.page.fill("#case-search", "no such text anywhere")
    sync_api.expect(page.page.locator("#case-status")).to_contain_text("No case matches")
    assert page.ids() == []


def test_expanding_a_case_shows_answers_trajectory_and_trace(page, runs):
    page.page.click("button.filter[data-filter=regressed]")
    target = next(i for i in runs.regressed if i not in runs.errored + runs.flaky)
    item = page.page.locator("#case-list > li").filter(
        has=page.page.locator(f".cid:text-is('{target}')"))
    item.locator(".case-row").click()
    assert item.locator(".case-row").get_attribute("aria-expanded") == "true"
    detail = item.locator(".detail")
    panes = detail.locator(".pair").first.locator(".pane")
    assert panes.count() == 2
    assert "baseline" in panes.nth(0).inner_text() and "candidate" in panes.nth(1).inner_text()
    assert detail.locator("del").count() > 0 and detail.locator("ins").count() > 0
    assert "could not find" in detail.locator("ins").all_inner_texts().__str__()
    assert detail.locator("table.traj tr.mismatch").count() >= 1
    assert detail.locator("table.traj .argdiff").count() >= 1
    traces = detail.locator("details.trace")
    assert traces.count() == 2
    traces.nth(1).locator("summary").click()
    rows = traces.nth(1).locator("table.spans tbody tr")
    assert rows.count() == 7
    assert rows.nth(0).locator(".kind").inner_text().strip() == "agent"
    pad = [float(rows.nth(i).locator("td.sname").evaluate("e => parseFloat(e.style.paddingLeft)"))
           for i in range(3)]
    assert pad[0] < pad[1]  # children are indented under their parent
    assert detail.locator(".trials button").count() == 2  # two trials to switch between
    detail.locator(".trials button").nth(1).click()
    assert item.locator(".trials button").nth(1).get_attribute("aria-pressed") == "true"
    item.locator(".case-row").click()
    assert item.locator(".detail").count() == 0


def test_pagination_moves_through_pages(page, report):
    cases = report[1]
    assert page.page.inner_text("#page-info") == "page 1 of 3"
    assert page.page.is_disabled("#page-prev")
    assert page.ids() == [c["id"] for c in cases[:50]]
    page.page.click("#page-next")
    assert page.page.inner_text("#page-info") == "page 2 of 3"
    assert page.ids() == [c["id"] for c in cases[50:100]]
    page.page.click("#page-next")
    assert page.ids() == [c["id"] for c in cases[100:]]
    assert page.page.is_disabled("#page-next")
    page.page.click("#page-prev")
    assert page.page.inner_text("#page-info") == "page 2 of 3"


def test_regression_link_opens_that_case(page, runs):
    link = page.page.locator("li.change-regression button.case-link").nth(2)
    case_id = link.inner_text()
    link.click()
    expanded = page.page.locator("#case-list .case-row[aria-expanded=true]")
    assert expanded.count() == 1
    assert expanded.locator(".cid").inner_text() == case_id
    assert case_id in runs.regressed


# ---- a large report: the case list in a compressed index, each case's detail in a chunk ----

BLOCK = re.compile(r'<script type="application/octet-stream" id="([a-z0-9-]+)">([^<]*)</script>')


@pytest.fixture(scope="module")
def chunked(runs, tmp_path_factory):
    """The same runs as a large report would be written (thresholds lowered so that 120
    cases make a compressed index and 8 chunks of 16 cases)."""
    from passline.report import _chunks

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_chunks, "INLINE_MAX_CASES", 10)
        mp.setattr(_chunks, "CHUNK_CASES", 16)
        paths = build_report(runs.baseline, runs.candidate, tmp_path_factory.mktemp("chunked"))
    return paths.index_html, paths.index_html.read_text(encoding="utf-8")


@pytest.fixture
def chunked_page(browser, chunked):
    w = Watched(browser, chunked[0].resolve().as_uri())
    yield w
    w.check_clean()
    w.close()


def _open(item) -> None:
    """Expand a case and wait for its detail (unpacked from its chunk, asynchronously)."""
    item.locator(".case-row").click()
    item.locator(".detail .pair").first.wait_for()


def test_chunked_report_holds_every_case_in_base64_blocks(report, chunked):
    html = chunked[1]
    names = [name for name, _ in BLOCK.findall(html)]
    assert names == ["cases-index"] + [f"chunk-{k}" for k in range(8)]
    assert read_cases(html) == report[1]  # nothing lost or changed on the way
    assert "could not find" not in html  # answers are only inside the compressed chunks
    # the same strict CSP as a small report: the blocks are data, never scripts
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp and csp.group(1).startswith("default-src 'none'; style-src 'sha256-")
    assert html.count("<script>") == 1


def test_chunked_report_lists_filters_and_pages_cases(chunked_page, report, runs):
    page, cases = chunked_page, report[1]
    assert page.page.inner_text("#verdict-status") == "REGRESSED"
    assert page.ids() == [c["id"] for c in cases[:50]]
    assert page.page.inner_text("[data-count=regressed]") == str(len(runs.regressed))
    page.page.click("#page-next")
    assert page.ids() == [c["id"] for c in cases[50:100]]
    page.page.click("button.filter[data-filter=regressed]")
    assert sorted(page.ids()) == sorted(runs.regressed)


def test_chunked_case_expands_from_its_chunk_with_values_as_text(chunked_page, report):
    page, cases = chunked_page, report[1]
    page.page.click("#page-next")
    page.page.click("#page-next")  # cases 100-119: the last two chunks
    hostile = next(c for c in cases[100:] if "<" in (c["in"] or "") or any(
        "<" in t["a"] for side in (c["b"], c["c"]) if side for t in side["tr"]))
    for c in (cases[101], hostile):
        item = page.page.locator(f"#case-list > li >> nth={cases.index(c) - 100}")
        _open(item)
        detail = item.locator(".detail")
        assert detail.locator("pre").first.inner_text() == (c["in"] or "(input not recorded)")
        answers = detail.locator(".pair").first.inner_text()
        assert c["c"]["tr"][0]["a"].split()[0] in answers
        assert detail.locator("details.trace").count() == 2
    assert page.page.evaluate("document.querySelectorAll('#case-list script, img, iframe')"
                              ".length") == 0


def test_chunked_report_expands_every_case_of_the_xss_corpus(chunked_page, report):
    page = chunked_page
    opened = 0
    while True:
        items = page.page.locator("#case-list > li")
        for k in range(items.count()):
            _open(items.nth(k))
            opened += 1
        if page.page.is_disabled("#page-next"):
            break
        page.page.click("#page-next")
    assert opened == len(report[1])
    # check_clean (in the fixture): no __xss, dialog, console error, CSP event or request


def test_chunked_search_unpacks_the_details_it_searches(chunked_page, report):
    page, cases = chunked_page, report[1]

    def expected(q: str) -> list[str]:
        def text(c: dict) -> str:
            answers = [t["a"] for side in (c["b"], c["c"]) if side for t in side["tr"]]
            return "\n".join([c["id"], c["in"] or "", *answers]).lower()
        return [c["id"] for c in cases if q.lower() in text(c)][:50]

    for query in ("could not find a refund", "ORD-10100"):
        page.page.fill("#case-search", query)
        sync_api.expect(page.page.locator("#case-status")).to_contain_text(query.lower())
        assert page.ids() == expected(query), query
    assert expected("could not find a refund")
