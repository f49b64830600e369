"""`ell web` in a real browser: Debian's chromium driven by Playwright against the server run as
a subprocess on 127.0.0.1 (see conftest.LiveServer)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from web_repo import GREET_DOCS, XSS, add_invocation

pytestmark = pytest.mark.browser


def open_page(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => window.htmx !== undefined")  # our scripts are loaded


def test_click_through_home_lmp_diff_invocation(page: Any, live_server: Any, facts: dict[str, Any]) -> None:
    greet = facts["names"]["greet"]
    open_page(page, live_server.url + "/")
    page.locator("#lmp-table td.name a", has_text=re.compile(rf"^{re.escape(greet)}$")).click()
    page.wait_for_url(re.compile(r"/lmp/"))
    assert page.locator("h1").inner_text() == greet
    assert GREET_DOCS[-1] in page.locator("section.source > pre.code").inner_text()

    # Diff v1 → v3 with the history's radio buttons.
    page.locator("#history input[name=a][value=v1]").check()
    page.locator("#history input[name=b][value=v3]").check()
    page.locator("#history button[type=submit]").click()
    page.wait_for_url(re.compile(r"/diff\?"))
    assert parse_qs(urlsplit(page.url).query) == {"a": ["v1"], "b": ["v3"]}
    assert GREET_DOCS[0] in page.locator("#diff-source table.unified tr.del").first.inner_text()
    assert page.locator("ul.change-summary li").count() >= 1
    page.locator("#view-split").click()
    page.wait_for_url(re.compile(r"view=split"))
    row = page.locator("#diff-source table.split tr", has=page.locator("td.code.del")).first
    assert GREET_DOCS[0] in row.locator("td.code").nth(0).inner_text()
    assert GREET_DOCS[2] in row.locator("td.code").nth(1).inner_text()

    # Back to the LMP, open its newest invocation.
    page.locator("h1 a").click()
    page.wait_for_url(re.compile(r"/lmp/[^/]+$"))
    page.locator("#invocation-table tbody tr td.when a").first.click()
    page.wait_for_url(re.compile(r"/invocation/inv-"))
    assert page.locator("#chat .msg.role-system").inner_text().find(GREET_DOCS[-1]) >= 0
    assert page.locator("#chat .msg.output").count() >= 1
    assert not page.dialogs and not page.errors


def test_new_invocation_and_version_appear_live(page: Any, live_server: Any, facts: dict[str, Any],
                                                model_server_session: Any) -> None:
    greet = facts["names"]["greet"]
    open_page(page, f"{live_server.url}/lmp/{greet}")
    page.evaluate("() => { window.__noReload = true }")
    rows_before = page.locator("#invocation-table tbody tr").count()
    assert page.locator("#history tbody tr").count() == len(GREET_DOCS)

    add_invocation(live_server.repo, model_server_session, facts["src"], "Zelda Live")
    page.locator("#invocation-table tbody tr", has_text="Zelda Live").wait_for(timeout=15_000)
    assert page.locator("#invocation-table tbody tr").count() == rows_before + 1
    assert page.locator("#invocation-table tbody tr").first.inner_text().find("Zelda Live") >= 0

    # A new invocation leaves the version regions alone (204): the source node is the same one.
    page.evaluate("() => { window.__source = document.querySelector('#version-main section.source') }")
    add_invocation(live_server.repo, model_server_session, facts["src"], "Xena Same")
    page.locator("#invocation-table tbody tr", has_text="Xena Same").wait_for(timeout=15_000)
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__source === document.querySelector('#version-main section.source')")

    pinned = page.context.new_page()  # a page pinned to the newest version learns it is no longer the latest
    open_page(pinned, f"{live_server.url}/lmp/{greet}?v=v{len(GREET_DOCS)}")
    add_invocation(live_server.repo, model_server_session, facts["src"], "Yara New", doc="You greet in haiku.")
    new = f"v{len(GREET_DOCS) + 1}"
    page.locator("#history tbody tr", has_text=new).wait_for(timeout=15_000)
    page.locator("#invocation-table tbody tr", has_text="Yara New").wait_for(timeout=15_000)
    # The whole page agrees: header, source and history all show the new version.
    page.locator("#version-head .badge", has_text=new).wait_for(timeout=15_000)
    page.locator("#version-main section.source", has_text="You greet in haiku.").wait_for(timeout=15_000)
    assert page.locator("#version-head .badge.ok", has_text="latest").count() == 1
    pinned.locator("#version-head .badge.warn", has_text="not latest").wait_for(timeout=15_000)
    assert page.evaluate("() => window.__noReload") is True  # swapped in place, never reloaded
    assert not page.errors
    pinned.close()


def test_keyboard_navigation(page: Any, live_server: Any) -> None:
    open_page(page, live_server.url + "/invocations")
    rows = page.locator("#invocation-table tbody tr")
    assert rows.count() >= 3
    page.keyboard.press("j")
    assert rows.nth(0).get_attribute("class").split().count("selected") == 1
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert "selected" in rows.nth(1).get_attribute("class")
    assert page.locator("#invocation-table tbody tr.selected").count() == 1
    target = rows.nth(1).get_attribute("data-href")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(target) + "$"))

    page.go_back()
    page.wait_for_url(re.compile(r"/invocations$"))
    page.wait_for_function("() => window.htmx !== undefined")
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement && document.activeElement.id") == "q"
    page.keyboard.type("Margaret")  # typing searches (htmx swaps the table and updates the URL)
    page.wait_for_url(re.compile(r"q=Margaret"))
    page.wait_for_function(
        "() => [...document.querySelectorAll('#invocation-table tbody tr')].every(r => r.innerText.includes('Margaret'))"
    )
    # While typing, j/k are text, not navigation.
    assert page.locator("#invocation-table tbody tr.selected").count() == 0
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    assert page.locator("#invocation-table tbody tr.selected").count() == 1
    assert not page.errors


def test_xss_payload_renders_as_text(page: Any, live_server: Any, facts: dict[str, Any]) -> None:
    open_page(page, live_server.url + "/invocations?q=%3Cscript%3E")
    row = page.locator("#invocation-table tbody tr").first
    assert "<script>alert(1)</script>" in row.inner_text()
    row.locator("td.when a").click()
    page.wait_for_url(re.compile(r"/invocation/inv-"))
    user = page.locator("#chat .msg.role-user .text").first
    assert XSS in user.inner_text() and user.is_visible()
    output = page.locator("#chat .msg.output .text").first
    assert output.inner_text() == XSS
    assert page.locator("img[src='x']").count() == 0
    open_page(page, f"{live_server.url}/lmp/{facts['names']['greet']}?q=%3Cscript%3E")
    page.wait_for_timeout(500)  # give any injected handler (onerror) time to fire
    assert page.dialogs == [] and not page.errors


def test_dark_theme_follows_the_os(browser: Any, live_server: Any) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        ctx = browser.new_context(color_scheme=scheme)
        pg = ctx.new_page()
        pg.goto(live_server.url + "/")
        colours[scheme] = pg.evaluate("() => getComputedStyle(document.body).backgroundColor")
        ctx.close()
    assert colours["light"] == "rgb(255, 255, 255)" and colours["dark"] != colours["light"]


PHONE = {"width": 390, "height": 844}


def test_no_page_scrolls_sideways_on_a_phone(browser: Any, live_server: Any, facts: dict[str, Any]) -> None:
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        pg = ctx.new_page()
        greet = facts["names"]["greet"]
        open_page(pg, f"{live_server.url}/invocations")
        inv = pg.locator("#invocation-table tbody tr").first.get_attribute("data-id")
        pages = ["/", f"/lmp/{greet}", f"/lmp/{greet}/diff?a=v1&b=v3", f"/lmp/{greet}/diff?a=v1&b=v3&view=split",
                 "/invocations", f"/invocation/{inv}", "/evals"]
        widths = {}
        for path in pages:
            open_page(pg, live_server.url + path)
            widths[path] = pg.evaluate("() => document.documentElement.scrollWidth")
            # The header's links stay on one line: their tops are all the same.
            tops = pg.evaluate("() => [...document.querySelectorAll('header.top nav a')]"
                               ".map(a => Math.round(a.getBoundingClientRect().top))")
            widths[path] = (widths[path], len(set(tops)))
        assert all(w <= PHONE["width"] and lines == 1 for w, lines in widths.values()), widths
    finally:
        ctx.close()


def test_trace_graph_opens_on_click_and_fits_a_phone(browser: Any, live_server: Any, facts: dict[str, Any]) -> None:
    for viewport in ({"width": 1280, "height": 900}, PHONE):
        ctx = browser.new_context(viewport=viewport)
        try:
            pg = ctx.new_page()
            open_page(pg, f"{live_server.url}/invocations?lmp={facts['names']['story']}")
            story = pg.locator("#invocation-table tbody tr").first.get_attribute("data-id")
            open_page(pg, f"{live_server.url}/invocation/{story}")
            graph = pg.locator("#trace-graph svg")
            assert not graph.is_visible()  # collapsed by default
            pg.locator("#trace-graph > summary").click()
            assert graph.is_visible() and pg.locator("#trace-graph a.node").count() == 2
            assert pg.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
            pg.locator("#trace-graph a.node").nth(1).click()  # a box opens its invocation
            pg.wait_for_url(re.compile(r"/invocation/inv-"))
            assert pg.url.rstrip("/") != f"{live_server.url}/invocation/{story}"
            assert pg.locator("#trace li.current").count() == 1
        finally:
            ctx.close()
