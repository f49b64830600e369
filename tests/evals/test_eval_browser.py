"""Feedback, the versions × metrics table, side-by-side runs and the blind test in a real browser:
Debian's chromium through Playwright, against `ell web --feedback` run as a subprocess."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ell_git import Reader

pytestmark = pytest.mark.browser


def open_page(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => window.htmx !== undefined")


def test_thumbs_comment_and_filter(page: Any, feedback_server: Any, facts: dict[str, Any]) -> None:
    inv = facts["invocations_v2"][1]
    open_page(page, f"{feedback_server.url}/invocation/{inv}")
    page.evaluate("() => { window.__noReload = true }")
    page.locator("#feedback-form textarea[name=comment]").fill("Rome, correct and short")
    page.locator("#feedback-form button[aria-label='thumbs up']").click()
    page.locator("#feedback .fb-entry", has_text="Rome, correct and short").wait_for()
    assert page.locator("#feedback .fb-up").inner_text().strip() == "▲ 1"
    assert page.evaluate("() => window.__noReload") is True  # swapped in place by HTMX
    page.locator("#feedback-form button[aria-label='thumbs down']").click()
    page.locator("#feedback .fb-down", has_text="▼ 1").wait_for()
    assert page.locator("#feedback .fb-up").inner_text().strip() == "▲ 0"  # the newest thumb counts

    open_page(page, f"{feedback_server.url}/invocations")
    assert page.locator("#invocation-table tbody tr").count() > 1
    page.locator("#filters select[name=feedback]").select_option("down")
    page.wait_for_url(re.compile(r"feedback=down"))
    page.wait_for_function("() => document.querySelectorAll('#invocation-table tbody tr').length === 1")
    assert page.locator("#invocation-table tbody tr").get_attribute("data-id") == inv
    summary = Reader(feedback_server_repo(feedback_server)).notes.feedback(inv)
    assert summary["comments"] == 1 and [e["source"] for e in summary["entries"]] == ["web", "web"]
    assert not page.errors


def test_compare_runs_and_blind_test(page: Any, feedback_server: Any, facts: dict[str, Any]) -> None:
    v1, v2 = facts["runs"]["v1"], facts["runs"]["v2"]
    open_page(page, f"{feedback_server.url}/evals")
    page.locator("#eval-table td.name a", has_text=re.compile(r"^capitals$")).click()
    page.wait_for_url(re.compile(r"/evals/capitals$"))
    best = page.locator("#score-table tbody tr").first
    assert "v2" in best.locator("td.version").inner_text() and "★" in best.locator("td.best").first.inner_text()

    page.locator("#compare-form select[name=a]").select_option(v1)
    page.locator("#compare-form select[name=b]").select_option(v2)
    page.locator("#compare-form button[type=submit]", has_text="Side by side").click()
    page.wait_for_url(re.compile(rf"/compare\?a={v1}&b={v2}"))
    japan = page.locator("#compare-table tbody tr").nth(3)
    assert "Kyoto" in japan.locator("td.side-a").inner_text() and "Tokyo" in japan.locator("td.side-b").inner_text()

    page.go_back()
    page.wait_for_url(re.compile(r"/evals/capitals$"))
    page.locator("#compare-form select[name=a]").select_option(v1)
    page.locator("#compare-form select[name=b]").select_option(v2)
    page.locator("#blind-button").click()
    page.wait_for_url(re.compile(r"/blind\?"))
    page.evaluate("() => { window.__noReload = true }")
    markup = page.locator("#blind").inner_html()
    # Double-blind: nothing in the region tells which version wrote which output.
    assert "inv-" not in markup and facts["v1"] not in markup and facts["v2"] not in markup
    for n in range(5):
        page.locator("#blind .count", has_text=f"{n} of 5 pairs voted").wait_for()
        one = page.locator(".blind-choice[data-choice='1']").inner_text()
        two = page.locator(".blind-choice[data-choice='2']").inner_text()
        label = "About the same" if one.split("\n", 1)[1:] == two.split("\n", 1)[1:] else (
            "1 is better" if "Tokyo" in one else "2 is better")
        page.locator("#blind-vote button", has_text=label).click()
    page.locator("#reveal").wait_for()
    assert page.evaluate("() => window.__noReload") is True
    rows = {r.get_attribute("data-run"): r.locator("td.num").inner_text() for r in
            page.locator("#reveal tr[data-run]").all()}
    assert rows == {v1: "0", v2: "1"}
    reader = Reader(feedback_server_repo(feedback_server))
    assert reader.notes.feedback(facts["invocations_v2"][3])["up"] == 1  # Tokyo beat Kyoto
    assert reader.notes.feedback(facts["invocations_v1"][3])["down"] == 1
    assert not page.errors


def feedback_server_repo(server: Any) -> str:
    return server.proc.args[4]


def test_per_version_chart_draws_opens_its_table_and_follows_new_feedback(browser: Any, feedback_server: Any,
                                                                          facts: dict[str, Any]) -> None:
    """The LMP page's "did it get better" chart in chromium: drawn inside the page (desktop and phone),
    its table opens on click, and a thumb given elsewhere reaches it without a reload."""
    url = f"{feedback_server.url}/lmp/{facts['lmp']}"
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900})
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        open_page(pg, url)
        chart = pg.locator("#progress #version-chart svg.version-chart")
        box = chart.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 40
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5  # scales down on a phone
        assert pg.evaluate("() => document.documentElement.scrollWidth") <= width
        assert pg.locator("#version-chart g.series").count() == 3
        assert pg.locator("#version-chart circle.dot").count() >= 4  # each metric a dot per version it has
        assert not pg.locator("#version-table").is_visible()
        pg.locator("#progress details.version-table summary").click()
        assert pg.locator("#version-table tbody tr").count() == 2 and pg.locator("#version-table").is_visible()
        assert not errors
        context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    open_page(pg, url)
    pg.evaluate("() => { window.__noReload = true }")
    thumbs = "() => [...document.querySelectorAll('#version-chart g.thumbs title')].map(t => t.textContent)"
    before = pg.evaluate(thumbs)
    other = context.new_page()  # a thumb given on an invocation's page, in another tab
    open_page(other, f"{feedback_server.url}/invocation/{facts['invocations_v2'][0]}")
    other.locator("#feedback-form button[aria-label='thumbs up']").click()
    other.locator("#feedback .fb-up", has_text="▲ 1").wait_for()
    pg.wait_for_function(f"(b) => ({thumbs})().join('|') !== b", arg="|".join(before), timeout=20_000)
    after = pg.evaluate(thumbs)
    assert "v2: 1 up, 0 down" in after and "v2: 1 up, 0 down" not in before, (before, after)
    assert pg.evaluate("() => window.__noReload") is True
    context.close()
