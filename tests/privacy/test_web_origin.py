"""`ell web` serves only its own origin: requests addressed to another name (DNS rebinding) get 4xx
and see nothing, no page may frame it, the feedback token appears only on pages served to an allowed
host, and slow connections time out instead of piling up threads. Always a real server process,
spoken to over raw sockets so that the Host header is exactly what a hostile page would send."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from privacy_tools import ROOT, Project

HOSTILE = ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil.example",
           "rebind.attacker.test:{port}", "0.0.0.0:{port}", "[::2]:{port}", ""]
PATHS = ["/", "/.json", "/invocations", "/invocations.json", "/lmp/app.hi", "/lmp/app.hi.json", "/evals",
         "/static/ell.css", "/static/vendor/htmx.min.js", "/live?token=x"]


class Server:
    """A web server process: `ell web` itself, or `webui.server.serve` with test-sized limits."""

    def __init__(self, repo: Path, *args: str, code: str | None = None) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-c", code] if code else [
            sys.executable, "-c", "from ell_git.cli import main; main()", "web", str(repo), "--port", "0", *args]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        url = next((w for w in line.split() if w.startswith("http://")), None)
        if url is None:
            self.stop()
            raise RuntimeError(f"no URL from the server: {line!r} {self.proc.stderr.read()[-2000:]}")  # type: ignore[union-attr]
        self.port = int(url.rstrip("/").rsplit(":", 1)[1])

    def threads(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(next(l.split()[1] for l in status.splitlines() if l.startswith("Threads:")))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def raw(port: int, host: str | None, path: str = "/", method: str = "GET", body: bytes = b"",
        headers: str = "") -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request with exactly this Host (None: no Host header at all)."""
    head = f"{method} {path} HTTP/1.1\r\n" + (f"Host: {host}\r\n" if host is not None else "")
    head += f"Connection: close\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head.encode() + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    top, _, payload = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return status, fields, payload


@pytest.fixture
def recorded(project: Project) -> Project:
    project.run('''
        import ell
        ell.init(store=".", autocommit=False)

        @ell.simple(model="gpt-4o-mini")
        def hi(name: str):
            """Be brief."""
            return f"hi {name}"

        hi("Ada")
    ''')
    return project


@pytest.fixture
def web(recorded: Project) -> Iterator[Server]:
    server = Server(recorded.path, "--feedback")
    yield server
    server.stop()


def test_hostile_host_headers_get_403_and_see_nothing(web: Server, recorded: Project) -> None:
    inv = json.loads(raw(web.port, f"127.0.0.1:{web.port}", "/invocations.json")[2])["invocations"]["items"][0]["id"]
    refused = 0
    for host in HOSTILE:
        for path in [*PATHS, f"/invocation/{inv}", f"/invocation/{inv}.json"]:
            status, headers, body = raw(web.port, host.format(port=web.port), path)
            assert status == 403, (host, path, status)
            assert b"hi Ada" not in body and inv.encode() not in body and b"token" not in body.lower()
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert headers["x-frame-options"] == "DENY"
            refused += 1
        post = raw(web.port, host.format(port=web.port), f"/invocation/{inv}/feedback", "POST", b"score=1",
                   "Content-Type: application/x-www-form-urlencoded\r\n")
        assert post[0] == 403
    assert refused == len(HOSTILE) * (len(PATHS) + 2)


def test_its_own_names_are_served_and_only_they_get_the_feedback_token(web: Server) -> None:
    for host in (f"127.0.0.1:{web.port}", f"localhost:{web.port}", "localhost", f"[::1]:{web.port}", None):
        status, headers, body = raw(web.port, host, "/")
        assert status == 200, host
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    inv = json.loads(raw(web.port, "localhost", "/invocations.json")[2])["invocations"]["items"][0]["id"]
    status, _, page = raw(web.port, f"localhost:{web.port}", f"/invocation/{inv}")
    assert status == 200 and b'name="token" value="' in page
    token = page.split(b'name="token" value="')[1].split(b'"')[0]
    for host in HOSTILE:
        status, _, body = raw(web.port, host.format(port=web.port), f"/invocation/{inv}")
        assert status == 403 and token not in body


def test_allow_host_names_another_address(recorded: Project) -> None:
    server = Server(recorded.path, "--allow-host", "prompts.internal.test")
    try:
        assert raw(server.port, "prompts.internal.test:8000", "/")[0] == 200
        assert raw(server.port, "other.internal.test", "/")[0] == 403
    finally:
        server.stop()


SLOW_SERVER = """
from webui.server import serve
serve({repo!r}, port=0, request_timeout=1.0, max_connections=8, queue_timeout=0)
"""


def test_slow_connections_time_out_and_never_pile_up_threads(recorded: Project) -> None:
    server = Server(recorded.path, code=SLOW_SERVER.format(repo=str(recorded.path)))
    slow: list[socket.socket] = []
    try:
        assert raw(server.port, "localhost", "/")[0] == 200
        idle = server.threads()
        for _ in range(200):  # a request that never ends: headers started, never finished
            s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
            slow.append(s)
        most = server.threads()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            most = max(most, server.threads())
            if all(_closed_by_server(s) for s in slow):
                break
            time.sleep(0.2)
        assert all(_closed_by_server(s) for s in slow), "slow connections were never closed"
        assert most <= idle + 8 + 2, (idle, most)  # the bound, not one thread per connection
        assert raw(server.port, "localhost", "/")[0] == 200  # and the server answers again
    finally:
        for s in slow:
            s.close()
        server.stop()


def _closed_by_server(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        data = s.recv(65536)
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)
    return data == b"" or data.startswith(b"HTTP/1.1 503") or data.startswith(b"HTTP/1.0 408") or b"\r\n\r\n" in data


def test_secrets_recorded_before_redaction_are_masked_on_screen(project: Project) -> None:
    from test_push_protection import AWS, KEY, LINE, META, by_hand, hand_written_invocation

    from webui import create_app

    hand_written_invocation(project)
    closure = 'DB_PASSWORD = "hunter2-is-my-password"\n\ndef f():\n    return DB_PASSWORD\n'
    by_hand(project.path, "refs/ell/lmp/app.f", {"closure.py": closure, "source.py": closure, "meta.json": META},
            message="app.f: new version\n\nEll-Version: lmp-0123456789abcdef\nEll-Lmp: app.f\n")
    client = create_app(project.path, testing=True).test_client()
    for url in ("/lmp/app.f", f"/invocation/{LINE['id']}", "/invocations"):
        page = client.get(url).get_data(as_text=True)
        assert "hunter2-is-my-password" not in page and KEY not in page and AWS not in page, url
    page = client.get("/lmp/app.f").get_data(as_text=True)
    assert "masked on this page (DB_PASSWORD)" in page and "ell forget --secrets" in page
    detail = client.get(f"/invocation/{LINE['id']}.json").get_json()
    assert detail["masked"] == ["api_key", "aws-access-key"]
    assert detail["record"]["args"]["api_key"] == "<redacted:api_key>"
