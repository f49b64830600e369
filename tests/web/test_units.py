"""The web UI's small pure pieces: SVG escaping and layout, filters, diff parsing, the server."""

from __future__ import annotations

import io
from typing import Any

import pytest
from bs4 import BeautifulSoup

from webui import diffview, format as fmt, hosts, server, svg
from webui.highlight import highlight_python, python_lines

EVIL = '<script>alert(1)</script>"&'


def test_graph_escapes_names_and_layers_callers_above_callees() -> None:
    nodes = ["a.top", "a.mid", f"a.{EVIL}"]
    out = svg.dependency_graph(nodes, [("a.top", "a.mid"), ("a.mid", f"a.{EVIL}")], href=lambda n: "/lmp/" + n)
    assert "<script>" not in out
    doc = BeautifulSoup(str(out), "html.parser")
    texts = {a["data-name"]: float(a.select_one("rect")["y"]) for a in doc.select("a.node")}
    assert texts["a.top"] < texts["a.mid"] < texts[f"a.{EVIL}"]
    assert len(doc.select("path.edge")) == 2


def test_graph_survives_cycles_self_loops_and_unknown_nodes() -> None:
    out = svg.dependency_graph(["x", "y"], [("x", "y"), ("y", "x"), ("x", "x"), ("x", "ghost")], href=str)
    doc = BeautifulSoup(str(out), "html.parser")
    assert len(doc.select("a.node")) == 2 and len(doc.select("path.edge")) == 2
    assert "No LMPs" in svg.dependency_graph([], [], href=str)


def test_charts_escape_labels_and_handle_empty_and_huge_series() -> None:
    assert "<script>" not in svg.sparkline([1, 2, 3], label=EVIL)
    assert "no data" in svg.sparkline([], label="x")
    big = svg.sparkline(list(range(100_000)), width=300)
    assert big.count(",") < 400  # downsampled
    bars = svg.bar_chart([(EVIL, 1, 2)] * 1000, width=300)
    assert "<script>" not in bars and bars.count("<rect") <= 2 * 100


def test_highlight_escapes_and_keeps_one_span_per_line() -> None:
    src = 'def f():\n    """doc\n    <b>more</b>"""\n    return 1\n'
    lines = python_lines(src)
    assert len(lines) == 4 and "<b>" not in "".join(lines)
    html = BeautifulSoup(str(highlight_python(src)), "html.parser")
    assert [l["id"] for l in html.select(".line")] == ["L1", "L2", "L3", "L4"]
    assert html.get_text().replace("\n", "") == src.replace("\n", "")


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("data:image/png;base64,AAAA", True),
        ("DATA:IMAGE/JPEG;base64,AAAA", True),
        ("data:image/svg+xml;base64,PHN2Zz4=", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("https://example.com/x.png", False),
        ("javascript:alert(1)", False),
        (None, False),
    ],
)
def test_only_inline_raster_images_are_shown(url: Any, ok: bool) -> None:
    assert (fmt.safe_image_src(url) is not None) is ok


def test_formatting_filters() -> None:
    assert fmt.time_ago(None) == "never"
    assert fmt.time_ago(1000.0, now=1003.0) == "just now"
    assert fmt.time_ago(1000.0, now=1000.0 + 3 * 3600) == "3 h ago"
    assert fmt.duration(850) == "850 ms" and fmt.duration(1240) == "1.24 s" and fmt.duration(None) == "–"
    assert fmt.tokens(950) == "950" and fmt.tokens(12_300) == "12.3k"
    assert fmt.short_id("inv-0123456789abcdef") == "01234567"
    # A whole invocation id shows its process and its counter: calls of one process differ.
    one, two = "inv-5509b9a9d4a2ada5000000000000001f", "inv-5509b9a9d4a2ada50000000000000020"
    assert (fmt.short_id(one), fmt.short_id(two)) == ("5509-1f", "5509-20")
    assert fmt.short_id("inv-5509b9a9d4a2ada50000000000000000") == "5509-0"
    assert fmt.short_name("pkg.mod.fn") == "fn"
    msg = {"role": "assistant", "content": [{"text": "hi"}, {"tool_call": {"name": "add", "arguments": {"a": 1}}}]}
    assert fmt.message_text(msg) == "hi add(a=1)"
    assert fmt.output_preview({"error": True, "output_preview": "boom"}) == "error: boom"
    assert fmt.total_tokens({"usage": {"prompt_tokens": 3, "completion_tokens": 4}}) == 7


def test_diff_parsing_pairs_changes_side_by_side() -> None:
    text = (
        "--- a/source.py\n+++ b/source.py\n@@ -1,4 +1,4 @@\n def f():\n-    a = 1\n-    b = 2\n"
        "+    a = 10\n     return a\n\\ No newline at end of file\n"
    )
    (f,) = diffview.parse(text)
    assert (f.old_path, f.added, f.removed) == ("source.py", 1, 2)
    rows = f.hunks[0].side_by_side()
    pairs = [(l.text if l else None, r.text if r else None) for l, r in rows]
    assert pairs[1] == ("    a = 1", "    a = 10") and pairs[2] == ("    b = 2", None)
    assert f.hunks[0].lines[1].old == 2 and f.hunks[0].lines[3].new == 2
    assert diffview.parse("") == []


def test_serve_warns_off_loopback_and_prints_the_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    class FakeServer:
        server_port = 4321

        def serve_forever(self) -> None:
            raise KeyboardInterrupt

        def server_close(self) -> None:
            self.closed = True

    made: list[tuple[Any, ...]] = []
    monkeypatch.setattr(server, "create_app", lambda path, **kw: "app")
    monkeypatch.setattr(server, "make_bounded_server", lambda *a, **k: made.append((a, k)) or FakeServer())
    out, err = io.StringIO(), io.StringIO()
    server.serve(tmp_path, host="0.0.0.0", port=0, out=out, err=err)
    assert "warning" in err.getvalue() and "http://localhost:4321/" in out.getvalue()
    assert "--allow-host" in err.getvalue()  # a wildcard bind answers only localhost unless told otherwise
    assert made[0][1] == {"timeout": server.REQUEST_TIMEOUT, "max_connections": server.MAX_CONNECTIONS,
                          "queue_timeout": server.QUEUE_TIMEOUT}
    out, err = io.StringIO(), io.StringIO()
    server.serve(tmp_path, host="127.0.0.1", port=0, out=out, err=err)
    assert err.getvalue() == "" and "http://127.0.0.1:4321/" in out.getvalue()
    assert hosts.is_loopback("::1") and hosts.is_loopback("localhost") and not hosts.is_loopback("10.0.0.1")
