"""The pages over a real repository, through Flask's test client: data through the `.json`
twins, markup through selectors."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup

from web_repo import GREET_DOCS, XSS
from webui.format import short_id


def soup(resp: Any) -> BeautifulSoup:
    assert resp.status_code == 200, resp.data[:500]
    assert resp.mimetype == "text/html"
    return BeautifulSoup(resp.data, "html.parser")


def get_json(client: Any, url: str) -> Any:
    resp = client.get(url)
    assert resp.status_code == 200, resp.data[:500]
    assert resp.mimetype == "application/json"
    return resp.get_json()


def invocation_ids(client: Any, **params: str) -> list[str]:
    qs = "&".join(f"{k}={quote(v)}" for k, v in params.items())
    return [row["id"] for row in get_json(client, f"/invocations.json?{qs}")["invocations"]["items"]]


# -- home ---------------------------------------------------------------------------------------


def test_home_json_lists_every_lmp_with_latest_version_and_usage(client: Any, facts: dict[str, Any]) -> None:
    data = get_json(client, "/.json")
    by_name = {l["name"]: l for l in data["lmps"]}
    names = facts["names"]
    assert {names[k] for k in ("greet", "shout", "story", "calculator", "describe", "add")} <= set(by_name)
    greet = by_name[names["greet"]]
    assert greet["vn"] == len(GREET_DOCS) and greet["versions"] == len(GREET_DOCS)
    assert greet["invocation_count"] >= 2 * len(GREET_DOCS) + 3  # 6 named + xss + story's + Margaret
    assert greet["last_used"] and greet["subject"]
    assert names["greet"] in by_name[names["story"]]["uses"]
    assert [names["story"], names["greet"]] in data["graph"]["edges"]
    assert client.get("/index.json").get_json() == data


def test_home_html_has_a_row_and_a_graph_node_per_lmp(client: Any, facts: dict[str, Any], repo: Any) -> None:
    page = soup(client.get("/"))
    header = page.select_one("header .repo")  # the repository's name; its path on hover
    assert header.get_text(strip=True) == repo.resolve().name and header["title"] == str(repo.resolve())
    lmps = get_json(client, "/.json")["lmps"]
    rows = page.select("#lmp-table tbody tr")
    assert [r.select_one("td.name a").get_text(strip=True) for r in rows] == [l["name"] for l in lmps]
    greet_row = next(r for r in rows if r["data-id"] == facts["names"]["greet"])
    assert greet_row.select_one("td.mono a").get_text(strip=True) == f"v{len(GREET_DOCS)}"
    nodes = page.select("svg.graph a.node")
    assert sorted(n["data-name"] for n in nodes) == sorted(l["name"] for l in lmps)
    assert all(n["href"] == "/lmp/" + n["data-name"] for n in nodes)
    assert len(page.select("svg.graph path.edge")) == len(get_json(client, "/.json")["graph"]["edges"])


# -- one LMP ------------------------------------------------------------------------------------


def test_lmp_json_has_source_versions_stats_and_invocations(client: Any, facts: dict[str, Any]) -> None:
    name = facts["names"]["greet"]
    data = get_json(client, f"/lmp/{name}.json")
    assert data["name"] == name
    assert [v["vn"] for v in data["versions"]] == list(range(1, len(GREET_DOCS) + 1))
    assert data["version"]["version_id"] == data["latest"] == data["versions"][-1]["version_id"]
    assert GREET_DOCS[-1] in data["version"]["source"]
    assert data["stats"]["count"] == data["invocations"]["total"] > 0
    assert data["bound_globals"]["values"].get("PUNCTUATION") == {"end": "!!"}
    items = data["invocations"]["items"]
    assert items and all(i["lmp"] == name for i in items)
    assert [i["started_at"] for i in items] == sorted((i["started_at"] for i in items), reverse=True)


def test_lmp_html_shows_highlighted_source_history_and_invocations(client: Any, facts: dict[str, Any]) -> None:
    name = facts["names"]["greet"]
    page = soup(client.get(f"/lmp/{name}"))
    assert page.select_one("h1").get_text(strip=True) == name
    code = page.select_one("section.source pre.code")
    assert GREET_DOCS[-1] in code.get_text()
    assert code.select("span.k") and code.select("span.nf")  # keywords and the function name coloured
    assert len(page.select("#history tbody tr")) == len(GREET_DOCS)
    rows = page.select("#invocation-table tbody tr")
    assert rows and all(r["data-href"].startswith("/invocation/inv-") for r in rows)
    assert page.select("section.stats svg.chart")  # latency and tokens charts, inline
    assert page.select_one("details.closure pre.code")


def test_lmp_selected_version_and_globals_at_an_invocation(client: Any, facts: dict[str, Any]) -> None:
    name = facts["names"]["greet"]
    page = soup(client.get(f"/lmp/{name}?v=v1"))
    assert GREET_DOCS[0] in page.select_one("section.source pre.code").get_text()
    assert page.select_one(".page-head .badge.warn")  # "not latest"
    data = get_json(client, f"/lmp/{name}.json?v=v1")
    assert data["version"]["vn"] == 1
    first = data["versions"][0]
    assert get_json(client, f"/lmp/{name}.json?v={first['version_id'][:10]}")["version"]["vn"] == 1
    inv = invocation_ids(client, lmp=name, q="Ada")[-1]
    at = get_json(client, f"/lmp/{name}.json?at={inv}")
    assert at["bound_globals"]["invocation"] == inv
    assert "PUNCTUATION" in at["bound_globals"]["values"]


def test_dependencies_are_collapsible_and_pinned(client: Any, facts: dict[str, Any]) -> None:
    story, greet = facts["names"]["story"], facts["names"]["greet"]
    data = get_json(client, f"/lmp/{story}.json")
    deps = {d["name"]: d for d in data["dependencies"]}
    assert greet in deps and deps[greet]["source"] and deps[greet]["vn"]
    page = soup(client.get(f"/lmp/{story}"))
    summary = page.select_one("section.deps details.dep summary")
    assert greet in summary.get_text()
    assert page.select_one("section.deps details.dep pre.code")


def test_invocation_filters(client: Any, facts: dict[str, Any]) -> None:
    name = facts["names"]["greet"]
    everything = get_json(client, f"/lmp/{name}.json")["invocations"]
    grace = get_json(client, f"/lmp/{name}.json?q=Grace")["invocations"]
    assert 0 < grace["total"] < everything["total"]
    assert all("Grace" in i["args_preview"] or "Grace" in i["output_preview"] for i in grace["items"])
    v1 = get_json(client, f"/lmp/{name}.json?version=v1")
    assert v1["invocations"]["total"] == 2 and v1["stats"]["count"] == 2
    assert {i["version_id"] for i in v1["invocations"]["items"]} == {v1["versions"][0]["version_id"]}
    none = get_json(client, f"/lmp/{name}.json?min_latency=1e9")["invocations"]
    assert none["total"] == 0 and none["items"] == []
    slow = max(i["latency_ms"] for i in everything["items"])
    top = get_json(client, f"/lmp/{name}.json?min_latency={slow}")["invocations"]["items"]
    assert top and all(i["latency_ms"] >= slow for i in top)
    few = get_json(client, f"/lmp/{name}.json?max_tokens=0")["invocations"]["total"]
    assert few == 0
    # Malformed numbers are ignored rather than an error.
    assert get_json(client, f"/lmp/{name}.json?min_latency=abc")["invocations"]["total"] == everything["total"]
    # Numbers beyond any count are clamped, not a 500: "at most 1e400 tokens" is "at most 1e9", "at least
    # 1e30" nothing, and a 25-digit page is past the end (the last page is shown).
    for url in (f"/lmp/{name}.json?", "/invocations.json?"):
        bounded = get_json(client, url + "max_tokens=1000000000")["invocations"]["total"]
        assert bounded > 0 and get_json(client, url + "max_tokens=1e400")["invocations"]["total"] == bounded
        assert get_json(client, url + "min_tokens=1e30&max_latency=1e400")["invocations"]["total"] == 0
        past = get_json(client, url + "page=" + "9" * 25)["invocations"]  # past the end: the last page
        last = get_json(client, url + f"page={past['pages']}")["invocations"]
        assert past["items"] == last["items"] != [] and past["page"] == past["pages"]
    page = soup(client.get(f"/lmp/{name}?q=Grace"))
    assert len(page.select("#invocation-table tbody tr")) == grace["total"]
    assert page.select_one("#filters input[name=q]")["value"] == "Grace"


def test_all_invocations_search_and_pages(client: Any, facts: dict[str, Any]) -> None:
    data = get_json(client, "/invocations.json")
    total = data["invocations"]["total"]
    assert total == sum(l["invocation_count"] for l in get_json(client, "/.json")["lmps"])
    assert {facts["names"]["greet"], facts["names"]["add"]} <= {i["lmp"] for i in data["invocations"]["items"]}
    margaret = get_json(client, "/invocations.json?q=margaret")["invocations"]["items"]
    assert margaret and all("Margaret" in i["args_preview"] + i["output_preview"] for i in margaret)
    # ids match by prefix, with or without "inv-"; a piece from inside a hex id matches nothing
    some = data["invocations"]["items"][0]["id"]
    assert invocation_ids(client, q=some) == invocation_ids(client, q=some[4:]) == [some]
    assert some in invocation_ids(client, q=some[4:12])
    # The short id the pages show finds its invocation, and the ids of one process's calls differ.
    items = data["invocations"]["items"]
    shown = [short_id(i["id"]) for i in items]
    assert len(set(shown)) == len(shown)
    assert invocation_ids(client, q=shown[0]) == [items[0]["id"]]
    middle = some[6:14]
    assert all(middle in i["args_preview"] + i["output_preview"]
               for i in get_json(client, f"/invocations.json?q={middle}")["invocations"]["items"])
    only = get_json(client, f"/invocations.json?lmp={facts['names']['shout']}")["invocations"]
    assert only["total"] == 1
    page2 = get_json(client, "/invocations.json?page=2")["invocations"]
    if page2["total"] > 50:
        assert page2["page"] == 2 and page2["offset"] == 50
    else:  # past the end: the last page
        assert page2["page"] == 1 and page2["offset"] == 0 and page2["items"]
    html = soup(client.get("/invocations?q=margaret"))
    assert len(html.select("#invocation-table tbody tr")) == len(margaret)
    assert html.select_one("#filters select[name=lmp]")


def test_htmx_partial_is_only_the_region(client: Any, facts: dict[str, Any]) -> None:
    name = facts["names"]["greet"]
    headers = {"HX-Request": "true", "HX-Target": "invocations"}
    resp = client.get(f"/lmp/{name}?q=Ada", headers=headers)
    part = soup(resp)
    assert part.find("html") is None and part.find("header") is None
    region = part.select_one("section#invocations")
    assert region["hx-get"] == f"/lmp/{name}?q=Ada" and "ell-changed" in region["hx-trigger"]
    assert part.select("#invocation-table tbody tr")
    assert part.select_one("section#stats")["hx-swap-oob"] == "true"  # usage follows the filters
    assert "HX-Request" in resp.headers.get("Vary", "")
    history = soup(client.get(f"/lmp/{name}", headers={"HX-Request": "true", "HX-Target": "history"}))
    assert history.select_one("section#history") and history.find("header") is None
    home = soup(client.get("/", headers={"HX-Request": "true", "HX-Target": "lmps"}))
    assert home.select_one("section#lmps") and home.find("h1") is None
    # A history restore needs the whole page even though it comes from htmx.
    full = soup(client.get(f"/lmp/{name}", headers={**headers, "HX-History-Restore-Request": "true"}))
    assert full.find("header")


# -- diff ---------------------------------------------------------------------------------------


def test_diff_json_and_both_layouts(client: Any, facts: dict[str, Any]) -> None:
    name = facts["names"]["greet"]
    data = get_json(client, f"/lmp/{name}/diff.json?a=v1&b=v3")
    d = data["diff"]
    assert d["a"]["vn"] == 1 and d["b"]["vn"] == 3
    assert GREET_DOCS[0] in d["source_diff"] and GREET_DOCS[2] in d["source_diff"]
    assert d["summary"] and d["additions"] >= 1 and d["deletions"] >= 1
    unified = soup(client.get(f"/lmp/{name}/diff?a=v1&b=v3"))
    table = unified.select_one("#diff-source table.diff.unified")
    assert GREET_DOCS[0] in table.select_one("tr.del td.code").get_text()
    assert any(GREET_DOCS[2] in td.get_text() for td in table.select("tr.add td.code"))
    assert [li.get_text() for li in unified.select("ul.change-summary li")] == list(d["summary"])
    split = soup(client.get(f"/lmp/{name}/diff?a=v1&b=v3&view=split"))
    row = next(tr for tr in split.select("#diff-source table.diff.split tr") if tr.select("td.code.del"))
    assert GREET_DOCS[0] in row.select("td.code")[0].get_text()
    assert GREET_DOCS[2] in row.select("td.code")[1].get_text()
    assert split.select_one("#view-split.on") and unified.select_one("#view-unified.on")
    # Default: previous → latest.
    default = get_json(client, f"/lmp/{name}/diff.json")["diff"]
    assert (default["a"]["vn"], default["b"]["vn"]) == (2, 3)
    # Every "diff" link of the history (and "diff with previous") compares a version with the one before it.
    links = [a["href"] for page in (f"/lmp/{name}", f"/lmp/{name}?v=v2") for a in soup(client.get(page)).select("a")
             if a.get_text(strip=True) in ("diff", "diff with previous")]
    assert len(links) >= 4
    for href in links:
        shown = get_json(client, href.replace("/diff?", "/diff.json?"))["diff"]
        assert shown["a"]["vn"] == shown["b"]["vn"] - 1, href
    v2 = get_json(client, f"/lmp/{name}/diff.json?b=v2")["diff"]
    assert (v2["a"]["vn"], v2["b"]["vn"]) == (1, 2)
    first = get_json(client, f"/lmp/{name}/diff.json?b=v1")["diff"]
    assert (first["a"]["vn"], first["b"]["vn"]) == (1, 1)


# -- one invocation -----------------------------------------------------------------------------


def test_invocation_chat_params_usage_and_globals(client: Any, facts: dict[str, Any]) -> None:
    inv = invocation_ids(client, lmp=facts["names"]["greet"], q="Ada")[0]
    data = get_json(client, f"/invocation/{inv}.json")
    rec = data["record"]
    assert rec["id"] == inv and rec["args"] == {"name": "Ada"}
    assert [m["role"] for m in rec["messages"]] == ["system", "user"]
    page = soup(client.get(f"/invocation/{inv}"))
    roles = [m.select_one(".role").get_text(strip=True) for m in page.select("#chat .msg")]
    assert roles[:2] == ["system", "user"] and roles[-1] == "assistant"
    assert GREET_DOCS[-1] in page.select_one("#chat .msg.role-system").get_text()
    assert page.select_one("#chat .msg.output")
    assert "PUNCTUATION" in page.get_text()
    assert page.select_one("ul.tree li.current")


def test_image_input_is_an_inline_img(client: Any, facts: dict[str, Any]) -> None:
    inv = invocation_ids(client, lmp=facts["names"]["describe"])[0]
    page = soup(client.get(f"/invocation/{inv}"))
    img = page.select_one("#chat .msg.role-user img.msg-image")
    assert img is not None and img["src"] == facts["image_url"]


def test_tool_call_and_tool_invocation(client: Any, facts: dict[str, Any]) -> None:
    calc = invocation_ids(client, lmp=facts["names"]["calculator"])[0]
    page = soup(client.get(f"/invocation/{calc}"))
    call = page.select_one("#chat .msg.output .tool-call")
    assert call is not None and call.select_one("code.fn").get_text() == "add"
    assert '"a"' in call.get_text() and "2" in call.get_text()
    add = invocation_ids(client, lmp=facts["names"]["add"])
    assert add
    rec = get_json(client, f"/invocation/{add[0]}.json")["record"]
    assert rec["args"] == {"a": 2, "b": 3}


def test_trace_tree_parent_children_origins_consumers(client: Any, facts: dict[str, Any]) -> None:
    story = invocation_ids(client, lmp=facts["names"]["story"])[0]
    data = get_json(client, f"/invocation/{story}.json")
    assert len(data["children"]) == 1 and data["children"][0]["lmp"] == facts["names"]["greet"]
    child = data["children"][0]["id"]
    assert data["trace"]["id"] == story and data["trace"]["children"][0]["id"] == child
    page = soup(client.get(f"/invocation/{child}"))
    tree = page.select_one("#trace ul.tree")
    links = [a["href"] for a in tree.select("a.trace-link")]
    assert links == [f"/invocation/{story}", f"/invocation/{child}"]  # root first, then this one
    assert tree.select_one("li.current a")["href"] == f"/invocation/{child}"
    child_data = get_json(client, f"/invocation/{child}.json")
    assert child_data["parent"]["id"] == story

    shout = invocation_ids(client, lmp=facts["names"]["shout"])[0]
    shout_data = get_json(client, f"/invocation/{shout}.json")
    assert len(shout_data["origins"]) == 1
    origin = shout_data["origins"][0]["id"]
    assert get_json(client, f"/invocation/{origin}.json")["consumers"][0]["id"] == shout
    html = soup(client.get(f"/invocation/{shout}"))
    assert html.select_one(f"section.lineage a[href='/invocation/{origin}']")


# -- safety -------------------------------------------------------------------------------------


def _pages(client: Any, facts: dict[str, Any]) -> list[str]:
    names = facts["names"]
    invs = invocation_ids(client)[:5] + invocation_ids(client, q="script")
    return [
        "/", "/invocations", "/invocations?q=script",
        *(f"/lmp/{n}" for n in names.values()),
        f"/lmp/{names['greet']}/diff?a=v1&b=v3", f"/lmp/{names['greet']}/diff?a=v1&b=v3&view=split",
        *(f"/invocation/{i}" for i in invs),
    ]


def test_xss_payload_is_text_everywhere(client: Any, facts: dict[str, Any]) -> None:
    xss_ids = invocation_ids(client, q="<script>")
    assert xss_ids, "the XSS invocation must be findable"
    for url in _pages(client, facts):
        page = soup(client.get(url))
        scripts = page.find_all("script")
        assert all(s.get("src") and not s.get_text().strip() for s in scripts), url
        assert not page.select("img[src=x]"), url
        assert not page.find_all(attrs={"onerror": True}), url
    inv = soup(client.get(f"/invocation/{xss_ids[0]}"))
    texts = [t.get_text() for t in inv.select("#chat .text")]
    assert any(XSS in t for t in texts)  # the prompt, shown as text
    assert facts["xss_output"] == XSS and any(t == XSS for t in texts)  # the model's output


def test_no_outgoing_urls(client: Any, facts: dict[str, Any]) -> None:
    for url in _pages(client, facts):
        page = soup(client.get(url))
        for tag in page.find_all(True):
            for attr in ("src", "href", "action", "hx-get", "xlink:href"):
                value = tag.get(attr)
                if value:
                    assert not value.startswith(("http:", "https:", "//")), (url, tag.name, value)
                    if attr == "src" and value.startswith("data:"):
                        assert value.startswith("data:image/") and tag.name == "img"


def test_security_headers(client: Any) -> None:
    resp = client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "url",
    [
        "/lmp/no.such.lmp", "/lmp/no.such.lmp/diff", "/invocation/inv-0123456789abcdef0123456789abcdef",
        "/invocation/not-an-id", "/invocation/inv-XYZ", "/invocation/..", "/lmp/..", "/lmp/.%2E",
        "/lmp/..%2F..%2Fetc%2Fpasswd", "/lmp/%2E%2E/%2E%2E/etc/passwd", "/static/..%2Fapp.py",
        "/static/../app.py", "/lmp/a%00b", "/lmp/webfix_prompts.greet%0A", "/invocation/inv-0123abcd%0A", "/nowhere",
    ],
)
def test_unknown_and_malformed_are_404_pages(client: Any, url: str) -> None:
    resp = client.get(url)
    assert resp.status_code == 404
    if resp.mimetype == "text/html":
        page = BeautifulSoup(resp.data, "html.parser")
        assert page.select_one("section.error h1 .code").get_text() == "404"
    assert b"Traceback" not in resp.data


@pytest.mark.parametrize("suffix", ["?v=v99", "?v=zzz", "?v=lmp-ffff0000ffff", "?at=inv-00000000", "?at=junk"])
def test_bad_version_or_invocation_in_query_is_404(client: Any, facts: dict[str, Any], suffix: str) -> None:
    resp = client.get(f"/lmp/{facts['names']['greet']}{suffix}")
    assert resp.status_code == 404


@pytest.mark.parametrize("url", ["/lmp/no.such.lmp.json", "/invocation/inv-0123456789abcdef0123456789abcdef.json",
                                 "/lmp/no.such/diff.json"])
def test_json_404s_are_json(client: Any, url: str) -> None:
    resp = client.get(url)
    assert resp.status_code == 404 and resp.mimetype == "application/json"
    assert resp.get_json()["status"] == 404


def test_diff_with_unknown_version_is_404(client: Any, facts: dict[str, Any]) -> None:
    name = facts["names"]["greet"]
    assert client.get(f"/lmp/{name}/diff?a=v1&b=v42").status_code == 404
    assert client.get(f"/lmp/{name}/diff.json?a=..&b=v1").status_code == 404


def test_server_errors_render_a_page_without_traceback(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    reader = app.extensions["ell_data"].reader

    def boom(*a: Any, **k: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(reader, "lmps", boom)
    monkeypatch.setattr(reader, "lmp_page", boom)  # home reads one page of LMPs
    c = app.test_client()
    resp = c.get("/")
    assert resp.status_code == 500 and resp.mimetype == "text/html"
    assert b"secret internal detail" not in resp.data and b"Traceback" not in resp.data
    assert BeautifulSoup(resp.data, "html.parser").select_one("section.error .code").get_text() == "500"
    resp = c.get("/.json")
    assert resp.status_code == 500 and resp.get_json()["status"] == 500


# -- assets and live updates --------------------------------------------------------------------


def test_htmx_is_served_from_the_installed_package(client: Any) -> None:
    from webui.app import htmx_js_path

    resp = client.get("/static/vendor/htmx.min.js")
    assert resp.status_code == 200
    assert resp.mimetype in ("text/javascript", "application/javascript")
    assert resp.data == htmx_js_path().read_bytes() and b"htmx" in resp.data[:2000]
    assert "js_lib_htmx" in str(htmx_js_path())
    page = soup(client.get("/"))
    srcs = [s["src"] for s in page.find_all("script")]
    assert "/static/vendor/htmx.min.js" in srcs and "/static/ell.js" in srcs
    for asset in ("/static/ell.js", "/static/ell.css"):
        assert client.get(asset).status_code == 200


def test_live_poll_is_204_until_something_changes(client: Any) -> None:
    token = get_json(client, "/_live.json")["state"]
    page = soup(client.get("/"))
    assert page.select_one("#live")["data-state"] == token
    same = client.get(f"/_live?token={token}", headers={"HX-Request": "true"})
    assert same.status_code == 204 and same.headers["HX-Reswap"] == "none" and same.data == b""
    other = client.get("/_live?token=stale", headers={"HX-Request": "true"})
    assert other.status_code == 200 and other.headers["HX-Trigger"] == "ell-changed"
    assert soup(other).select_one("#live")["data-state"] == token


def test_pages_never_write_to_the_repository(client: Any, repo: Any, facts: dict[str, Any]) -> None:
    import os

    def snapshot() -> dict[str, float]:
        out = {}
        for root, dirs, files in os.walk(repo):
            rel = os.path.relpath(root, repo)
            if rel == os.path.join(".git", "ell") or rel.startswith(os.path.join(".git", "ell") + os.sep):
                continue  # the reader's cache may be written
            for f in files:
                p = os.path.join(root, f)
                out[os.path.relpath(p, repo)] = os.stat(p).st_mtime_ns
        return out

    client.get("/")  # the cache is filled here at the latest
    before = snapshot()
    for url in _pages(client, facts):
        client.get(url)
        client.get(url.split("?")[0] + ".json" if url != "/" else "/.json")
    assert snapshot() == before
