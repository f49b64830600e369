"""`ell web` against hostile data and hostile clients, always over HTTP to a real `ell web`
subprocess: XSS payloads in every user-provided field render as text in chromium, traversal and
malformed URLs are 404, it binds loopback unless told otherwise (and warns when told), it never
writes to the repository, and 100 concurrent clients are all served, quickly.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pytest
from relhelpers import WebServer, get, git, snapshot_repo

import ell
from ell.testing import Reply, ToolCall
from ell_git import GitStore, Reader

# As in tests/web/conftest.py: Debian's chromium, never a downloaded browser.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def xss(field: str) -> str:
    return f"<xss-{field}></xss-{field}><img src=x onerror=alert('{field}')>"


# Every field a user (or a model) controls, with the payload that goes into it.
XSS_GLOBAL = {"greeting": xss("global")}


def _greet_v1(name: str):
    """Plain."""
    return f"Hello {name}"


_greet_v1.__qualname__ = _greet_v1.__name__ = "greet"
greet_v1 = ell.simple(model="gpt-4o-mini")(_greet_v1)


@ell.simple(model="gpt-4o-mini")
def greet(name: str):
    """<xss-doc></xss-doc><img src=x onerror=alert('doc')>"""
    return f"Hello {name} {XSS_GLOBAL['greeting']}"


def _named(x: str):
    """You are nice."""
    return f"hi {x}"


_named.__qualname__ = "<xss-name>"  # a name the LMP page can be reached at
named = ell.simple(model="gpt-4o-mini")(_named)


def _named2(x: str):
    """You are nice too."""
    return f"hi {x}"


_named2.__qualname__ = "\"'><xss-name2></xss-name2><img src=x onerror=alert('name2')>"  # listed only
named2 = ell.simple(model="gpt-4o-mini")(_named2)


def _note(text: str) -> str:
    """Write a note."""
    return f"noted {text}"


_note.__qualname__ = "<xss-toolname>"
note = ell.tool()(_note)


@ell.complex(model="gpt-4o-mini", tools=[note])
def agent(task: str):
    """You use tools."""
    return [ell.user(task)]


@ell.simple(model="<xss-model>")
def odd_model(x: str):
    """You are a model with an odd name."""
    return x


FIELDS = ("doc", "global", "name", "name2", "toolname", "toolarg", "toolcall", "arg", "out", "error", "model",
          "param", "commit")


def _commit_message(model: str, system: str, user: str, timeout: float = 0) -> str:
    return f"{xss('commit')} subject\n\n- {xss('commitbody')} detail"


@pytest.fixture(scope="module")
def xss_repo(tmp_path_factory: pytest.TempPathFactory, model_server_session: Any) -> Iterator[Path]:
    """A repository where every user-provided field holds an XSS payload, written by real LMPs."""
    repo = tmp_path_factory.mktemp("xss") / "repo"
    repo.mkdir()
    cfg = ell.config
    saved = (cfg.default_client, cfg.store)
    server = model_server_session
    store = GitStore(repo, autocommit=True, complete=_commit_message, flush_interval=0.05)
    try:
        ell.init(store=store, default_client=server.client(max_retries=0, timeout=10), autocommit=True)
        greet_v1("Ada")
        server.queue(xss("out"))
        greet(xss("arg"))
        greet("with params", api_params={"user": xss("param")})
        named("x")
        named2("x")
        server.queue(Reply(tool_calls=[ToolCall("_note", {"text": xss("toolarg")})]))
        agent("take a note").call_tools_and_collect_as_message()
        server.queue(Reply(tool_calls=[ToolCall(xss("toolcall"), {})]))
        with pytest.raises(ValueError, match="which this LMP does not provide"):  # recorded with its error
            agent("call a tool that does not exist")
        server.queue(Reply(error=500, error_message=xss("error")))
        with pytest.raises(Exception):
            greet("error")
        try:
            odd_model("x")
        except Exception:
            pass  # the fake server may refuse an unknown model: recorded either way
        assert store.flush(timeout=60)
    finally:
        server.reset()
        store.close()
        cfg.default_client, cfg.store = saved
    yield repo


@pytest.fixture(scope="module")
def web(xss_repo: Path) -> Iterator[WebServer]:
    with WebServer(xss_repo) as server:
        yield server


def _pages(xss_repo: Path) -> list[str]:
    with Reader(xss_repo) as reader:
        names = [l.name for l in reader.lmps()]
        invs = [r.id for r in reader.invocations(limit=100).items]
    reachable = [n for n in names if re.fullmatch(r"[\w<>.\-]+", n)]
    greet_name = next(n for n in names if n.endswith(".greet"))
    return ["/", "/invocations", *(f"/lmp/{quote(n, safe='')}" for n in reachable),
            f"/lmp/{greet_name}?v=v1", f"/lmp/{greet_name}/diff?a=v1&b=v2", f"/lmp/{greet_name}/diff?a=v1&b=v2&view=split",
            *(f"/invocation/{i}" for i in invs)]


# Run in its own interpreter: Playwright's sync API refuses to start inside a running event loop,
# which another test directory's session-wide browser may have left in this process.
_BROWSER = r'''
import json, sys
from playwright.sync_api import sync_playwright

job = json.loads(sys.stdin.read())
INJECTED = """() => {
  const all = [...document.querySelectorAll('*')];
  return {
    injected: all.filter(e => e.tagName.toLowerCase().startsWith('xss-')).map(e => e.tagName)
      .concat([...document.querySelectorAll('img[src="x"], [onerror], script:not([src])')].map(e => e.outerHTML)),
    text: document.body.innerText + ' ' + all.map(e => [...e.attributes].map(a => a.value).join(' ')).join(' '),
  };
}"""
out = {"status": {}, "injected": {}, "seen": [], "dialogs": [], "errors": []}
seen = set()
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=job["chromium"], args=job["args"])
    page = browser.new_page()
    page.on("dialog", lambda d: (out["dialogs"].append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: out["errors"].append(str(e)))
    page.on("console", lambda m: out["errors"].append(m.text) if m.type == "error" else None)
    for url in job["pages"]:
        resp = page.goto(job["base"] + url)
        out["status"][url] = resp.status if resp else None
        page.wait_for_function("() => window.htmx !== undefined")
        for details in page.locator("details").all():  # collapsed parts: their text counts too
            details.evaluate("d => d.open = true")
        page.wait_for_timeout(50)
        found = page.evaluate(INJECTED)
        if found["injected"]:
            out["injected"][url] = found["injected"][:5]
        seen |= {f for f in job["fields"] if f"<xss-{f}>" in found["text"]}
    page.wait_for_timeout(300)  # an injected handler would have fired by now
    browser.close()
out["seen"] = sorted(seen)
print(json.dumps(out))
'''


@pytest.mark.browser
def test_xss_in_every_field_renders_as_text(web: WebServer, xss_repo: Path, figures: Any) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)")
    pytest.importorskip("playwright")
    job = {"base": web.url, "pages": _pages(xss_repo), "fields": FIELDS, "chromium": CHROMIUM, "args": CHROMIUM_ARGS}
    res = subprocess.run([sys.executable, "-c", _BROWSER], input=json.dumps(job), capture_output=True, text=True,
                         timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    assert out["status"] and all(code == 200 for code in out["status"].values()), out["status"]
    assert not out["injected"], f"markup from the data became elements: {out['injected']}"
    assert out["dialogs"] == [] and out["errors"] == [], (out["dialogs"], out["errors"][:3])
    missing = set(FIELDS) - set(out["seen"])
    assert not missing, f"payloads never shown (so never checked): {missing}"
    figures["xss_fields"] = max(figures["xss_fields"], len(out["seen"]))

BAD_URLS = [
    "/static/../../../../etc/passwd", "/static/..%2f..%2f..%2fetc%2fpasswd", "/static/%2e%2e/%2e%2e/app.py",
    "/static/%2e%2e%2fapp.py", "/static/....//....//etc/passwd", "/static/..\\..\\app.py", "/static/..%5c..%5capp.py",
    "/static/vendor/..%2f..%2fapp.py", "/static/%252e%252e/app.py", "/static/%c0%ae%c0%ae/app.py",
    "/static//etc/passwd", "/static/ell.css%00.js", "//etc/passwd", "/.git/config", "/.git/HEAD",
    "/lmp/..%2f..%2f.git%2fconfig", "/lmp/%2e%2e", "/lmp/..%252f..%252fetc", "/lmp/%ff%fe", "/lmp/a%00b",
    "/lmp/" + "a" * 5000, "/lmp/no.such/diff?a=../../etc&b=v1", "/lmp/.git", "/lmp/x%0d%0aSet-Cookie:%20a=b",
    "/invocation/inv-" + "0" * 5000, "/invocation/inv-0123%00", "/invocation/../../etc/passwd",
    "/invocation/inv-0123abcd%2f..%2f..", "/invocation/%3Cscript%3E", "/invocation/inv-0123456789abcdef0123456789abcdef.json/..",
    "/runs/..%2f..%2fetc", "/evals/..%2f..%2f.git", "/nowhere", "/index.php", "/static/vendor/htmx.min.js/..",
]


def _raw(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes, dict[str, str]]:
    """One request with the path sent exactly as given (no client-side normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        if body is not None:
            conn.putheader("Content-Type", "application/x-www-form-urlencoded")
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, resp.read(), dict(resp.getheaders())
    finally:
        conn.close()


def test_traversal_and_malformed_urls_are_404(web: WebServer, xss_repo: Path, figures: Any) -> None:
    greet_name = next(n for n in (l.name for l in Reader(xss_repo).lmps()) if n.endswith(".greet"))
    urls = [*BAD_URLS, *(f"/lmp/{greet_name}{q}" for q in ("?v=../../../etc/passwd", "?v=v1%00", "?at=../../x",
                                                           "?at=inv-zz", "?v=" + "1" * 500))]
    wrong = []
    for url in urls:
        status, body, headers = _raw(web.port, "GET", url)
        location = headers.get("Location", "")
        if status in (301, 308) and location.startswith((web.url + "/", "/")):
            # werkzeug merges repeated slashes by redirecting (on this server): that must be a 404 too
            status, body, headers = _raw(web.port, "GET", location.removeprefix(web.url))
        if status != 404:
            wrong.append((url[:80], status, headers.get("Location")))
        assert b"[core]" not in body and b"root:" not in body and b"Traceback" not in body, url
        assert "Set-Cookie" not in headers, url
    assert not wrong, wrong
    figures["bad_urls"] = max(figures["bad_urls"], len(urls))


def _files(path: Path) -> dict[str, tuple[int, int]]:
    """Every file outside .git/ell (where the reader keeps its cache) with size and mtime."""
    out = {}
    for root, dirs, files in os.walk(path):
        rel = os.path.relpath(root, path)
        if rel == os.path.join(".git", "ell") or rel.startswith(os.path.join(".git", "ell") + os.sep):
            continue
        for f in files:
            st = os.stat(os.path.join(root, f))
            out[os.path.join(rel, f)] = (st.st_size, st.st_mtime_ns)
    return out


def test_never_writes_to_the_repository(web: WebServer, xss_repo: Path) -> None:
    get(web.url + "/")  # the read cache is built by now
    before, files = snapshot_repo(xss_repo), _files(xss_repo)
    inv = Reader(xss_repo).invocations(limit=1).items[0].id
    for url in _pages(xss_repo):
        assert get(web.url + url)[0] == 200
    for method, url in [("POST", "/"), ("POST", f"/invocation/{inv}/feedback"), ("POST", "/blind/vote"),
                        ("PUT", "/lmp/x"), ("DELETE", f"/invocation/{inv}"), ("POST", "/compare"),
                        ("PATCH", "/invocations"), ("POST", "/_live")]:
        status, _, _ = _raw(web.port, method, url, b"score=1&comment=x&token=x")
        assert status in (404, 405), f"{method} {url}: {status} (feedback is off: nothing may be written)"
    assert snapshot_repo(xss_repo) == before and _files(xss_repo) == files


def _listening(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port` (from /proc/net/tcp and tcp6)."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            addr, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:
                out.add(addr)
    return out


def test_binds_loopback_unless_told_and_warns_when_told(web: WebServer, xss_repo: Path) -> None:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp to see which address is bound")
    assert web.url.startswith("http://127.0.0.1:")
    assert _listening(web.port) == {"0100007F"}  # 127.0.0.1 only
    assert not any("warning" in line for line in web.stderr)
    with WebServer(xss_repo, "--host", "0.0.0.0", "--port", "0") as anywhere:
        deadline = time.monotonic() + 10
        while not any("warning" in line for line in anywhere.stderr) and time.monotonic() < deadline:
            time.sleep(0.05)
        warning = "".join(anywhere.stderr)
        assert "warning: serving on 0.0.0.0" in warning and "--host 127.0.0.1" in warning
        assert _listening(anywhere.port) == {"00000000"}


def test_hundred_concurrent_clients(web: WebServer, xss_repo: Path, figures: Any) -> None:
    urls = _pages(xss_repo)[:8] + ["/_live.json", "/.json", "/invocations.json"]
    clients, per_client = 100, 10
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    go = threading.Event()

    def client(k: int) -> None:
        go.wait()
        for i in range(per_client):
            status, _, secs = get(web.url + urls[(k + i) % len(urls)], timeout=60)
            with lock:
                results.append((status, secs))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    go.set()
    for t in threads:
        t.join(120)
    total = time.monotonic() - t0
    assert not any(t.is_alive() for t in threads), "clients still waiting after 120 s"
    assert len(results) == clients * per_client
    assert [s for s, _ in results if s != 200] == []
    latencies = sorted(secs for _, secs in results)
    p95 = latencies[int(0.95 * len(latencies)) - 1]
    # Generous bounds for 2 shared cores: the point is no collapse, no queueing to timeouts.
    assert p95 < 5.0 and total < 60.0, f"p95 {p95:.2f} s, total {total:.1f} s"
    figures["load_requests"] += len(results)
    figures["load_p95_ms"] = round(p95 * 1000)
    figures["load_total_s"] = round(total, 1)
