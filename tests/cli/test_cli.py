"""The `ell` command through click's runner and as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from click.testing import CliRunner

import ell
from ell_git.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def normalise(text: str) -> str:
    text = re.sub(r"lmp-[0-9a-f]{8,16}", "lmp-ID", text)
    text = re.sub(r"inv-[0-9a-f]{32}", "inv-ID", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "DATE", text)
    return re.sub(r"\b[0-9a-f]{7,40}\b", "SHA", text)


def test_version_and_help():
    r = run("--version")
    assert r.exit_code == 0 and r.output.strip() == f"ell, version {ell.__version__}"
    r = run("--help")
    for command in ("web", "log", "show", "diff", "invocations", "sync", "push", "pull", "hooks", "gc", "demo"):
        assert re.search(rf"^\s+{command}\b", r.output, re.M), command


def test_log_snapshot(history_repo):
    r = run("log", "story.write", "--repo", str(history_repo))
    assert r.exit_code == 0  # columns aligned; $0.SHA: the cost (digits)
    assert normalise(r.output).splitlines() == [
        "v2  lmp-ID  DATE  $0.SHA  Update story.write: system prompt edited; temperature 0.7 → 0.2  code none",
        "v1  lmp-ID  DATE  $0.SHA  Add story.write (first version)                                  code none",
    ]
    r = run("log", "--repo", str(history_repo), "--json")
    (lmp,) = json.loads(r.output)
    assert lmp["name"] == "story.write" and lmp["vn"] == 2 and lmp["invocation_count"] == 4


def test_repo_before_the_command(history_repo, tmp_path):
    after = run("log", "--repo", str(history_repo), "--json")
    before = run("--repo", str(history_repo), "log", "--json")
    assert before.exit_code == 0 and json.loads(before.output) == json.loads(after.output)
    # A --repo after the command wins over one before it.
    assert run("--repo", str(tmp_path), "log", "--repo", str(history_repo), "--json").output == after.output
    wrong = run("--repo", str(tmp_path), "log")
    assert wrong.exit_code != 0 and str(tmp_path) in wrong.output


def test_show_snapshot(history_repo):
    r = run("show", "story.write@v1", "--repo", str(history_repo))
    assert r.exit_code == 0
    out = normalise(r.output)
    assert out.startswith("story.write v1  lmp-ID  commit SHA\nAdd story.write (first version)")
    assert '"""You are a writer."""' in out and "# closure (what the version id hashes)" in out
    data = json.loads(run("show", "story.write", "--repo", str(history_repo), "--json").output)
    assert data["vn"] == 2 and "terse" in data["source"] and data["meta"]["model"] == "gpt-4o-mini"


def test_diff_snapshot(history_repo):
    r = run("diff", "story.write", "v1", "v2", "--repo", str(history_repo))
    assert r.exit_code == 0
    lines = normalise(r.output).splitlines()
    assert lines[0] == "story.write: v1 → v2  (+2 -2)"
    assert "  • temperature 0.7 → 0.2" in lines
    assert '-    """You are a writer."""' in lines and '+    """You are a terse writer."""' in lines
    assert "-@ell.simple(model=\"gpt-4o-mini\", temperature=0.7)" in lines


def test_invocations(history_repo):
    r = run("invocations", "story.write", "--limit", "3", "--repo", str(history_repo), "--json")
    page = json.loads(r.output)
    assert page["total"] == 4 and len(page["items"]) == 3
    assert page["items"][0]["output_preview"] == "Echo: Write about dogs."
    r = run("invocations", "--repo", str(history_repo))
    assert normalise(r.output).splitlines()[-1] == "4 of 4"


def test_errors_are_one_line_with_conventional_exit_codes(history_repo, tmp_path):
    r = CliRunner().invoke(cli, ["show", "nope.lmp", "--repo", str(history_repo)])
    assert r.exit_code == 1 and r.output.strip() == "Error: no LMP named 'nope.lmp'"
    r = CliRunner().invoke(cli, ["show", "story.write@v9", "--repo", str(history_repo)])
    assert r.exit_code == 1 and r.output.count("\n") == 1 and "no version 'v9'" in r.output
    empty = tmp_path / "not-a-repo"
    empty.mkdir()
    r = CliRunner().invoke(cli, ["log", "--repo", str(empty)])
    assert r.exit_code == 1 and "not a git repository" in r.output
    r = CliRunner().invoke(cli, ["diff"])
    assert r.exit_code == 2  # usage error
    r = CliRunner().invoke(cli, ["pull", "nowhere", "--repo", str(history_repo)])
    assert r.exit_code == 1 and r.output.startswith("Error: ") and r.output.count("\n") == 1


def test_gc_packs_and_forgets(history_repo):
    r = run("gc", "--repo", str(history_repo), "--json")
    report = json.loads(r.output)
    assert report["loose_after"] == 0 and report["forgotten"] == 0
    r = run("gc", "--forget-invocations-before", "2999-01-01", "--repo", str(history_repo), "--json")
    assert json.loads(r.output)["forgotten"] == 4
    assert json.loads(run("invocations", "--repo", str(history_repo), "--json").output)["total"] == 0
    assert len(json.loads(run("log", "story.write", "--repo", str(history_repo), "--json").output)) == 2
    fsck = subprocess.run(["git", "-C", str(history_repo), "fsck", "--strict"], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr


def test_real_subprocess_and_colour_only_on_tty(history_repo):
    out = subprocess.run([sys.executable, "-m", "ell_git.cli", "log", "story.write", "--repo", str(history_repo)],
                         capture_output=True, text=True, check=True).stdout
    assert "\x1b[" not in out and out.startswith("v2 ")
    r = CliRunner().invoke(cli, ["log", "story.write", "--repo", str(history_repo)], color=True)
    assert "\x1b[32mv2" in r.output


def test_demo_builds_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    target = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "ell_git.cli", "demo", str(target), "--no-serve"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # hello is evaluated at v2 and v3 (the shouting helper makes v3 worse): the evaluation pages have a story.
    assert re.search(r"done: 6 LMPs, 9 versions, 35 invocations, 2 evaluation runs", done.stdout)
    log = subprocess.run(["git", "-C", str(target), "log", "--oneline", "--glob=refs/ell/lmp/*"],
                         capture_output=True, text=True, check=True).stdout
    assert "Update prompts.hello: system prompt edited; temperature 0.7 → 0.2" in log
    r = CliRunner().invoke(cli, ["demo", str(target), "--no-serve"])
    assert r.exit_code == 1 and "not empty" in r.output


def test_demo_serves_on_a_free_port_and_leaves_no_folder(tmp_path, monkeypatch):
    import signal
    import socket
    import urllib.request

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (tmp_path / "tmp").mkdir()
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        proc = subprocess.Popen([sys.executable, "-m", "ell_git.cli", "demo", "--port", str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "TMPDIR": str(tmp_path / "tmp")})
        try:
            first = proc.stdout.readline()  # said before the 10-20 s of building
            assert f"port {port} is taken: serving on port" in first, first + proc.stderr.read()
            free = int(re.search(r"serving on port (\d+)", first).group(1))
            lines = []
            while not (line := proc.stdout.readline()).startswith("ell web: serving"):
                assert line, "".join(lines) + proc.stderr.read()
                lines.append(line)
            assert f"http://127.0.0.1:{free}/" in line and "temporary" in "".join(lines)
            with urllib.request.urlopen(f"http://127.0.0.1:{free}/", timeout=30) as page:
                assert b"prompts.hello" in page.read()
            assert [p.name for p in (tmp_path / "tmp").iterdir() if p.name.startswith("ell-demo-")]
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
    assert not [p.name for p in (tmp_path / "tmp").iterdir() if p.name.startswith("ell-demo-")]


def test_every_command_has_help_and_is_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert readme.splitlines()[3] == "pip install -e . && ell demo        # builds a prompt history offline (no API key), then serves it at http://127.0.0.1:8000"
    assert "bash tests/run.sh" in readme.splitlines()[4]
    for name, command in cli.commands.items():
        if command.hidden:
            continue
        assert (command.help or "").strip(), name
        assert f"ell {name}" in readme, f"`ell {name}` is not documented in README.md"


def test_odd_input_is_a_clear_error_not_a_traceback(history_repo):
    huge = run("show", "story.write@v99999999999999999999999", "--repo", str(history_repo))
    assert huge.exit_code == 1 and "has no version 'v99999999999999999999999'" in huge.output
    for score in ("nan", "inf", "-inf"):
        r = run("export", "story.write", "--min-score", score, "--repo", str(history_repo))
        assert r.exit_code == 2 and "is not a score" in r.output, (score, r.output)
    for host in ("", "   "):
        r = run("web", str(history_repo), "--host", host)
        assert r.exit_code == 2 and "an address is needed" in r.output and "http://:" not in r.output


def test_doctor_checks_in_depth_and_repairs(history_repo):
    ok = run("doctor", "--repo", str(history_repo))
    assert ok.exit_code == 0 and ok.output.splitlines()[-1] == "healthy", ok.output
    report = json.loads(run("doctor", "--json", "--repo", str(history_repo)).output)
    assert report["ok"] and report["refs"] == 2 and report["records"] == 4 and report["versions"] == 2, report
    # A ref pointing to a missing object breaks git itself: doctor says so, exits 1, and repairs it.
    ref = next(p for p in (history_repo / ".git" / "refs" / "ell" / "inv").iterdir())
    good = ref.read_text()
    ref.write_text("0123456789abcdef0123456789abcdef01234567\n")
    bad = run("doctor", "--repo", str(history_repo))
    assert bad.exit_code == 1 and f"refs/ell/inv/{ref.name}: lacks commit 0123456789ab" in bad.output, bad.output
    fixed = run("doctor", "--repair", "--repo", str(history_repo))
    assert fixed.exit_code == 0 and f"reset it to {good[:12]}" in fixed.output, fixed.output
    assert ref.read_text() == good or subprocess.run(["git", "-C", str(history_repo), "rev-parse", f"refs/ell/inv/{ref.name}"],
                                                     capture_output=True, text=True).stdout == good
    assert run("doctor", "--repo", str(history_repo)).exit_code == 0


def test_log_aligns_and_says_what_runs_after_a_revert(tmp_path, model_server, define_module):
    """After v2, the code goes back to v1 (no commit: the version exists): `ell log` says v1 runs now;
    `ell invocations` has a vN column and a failed call shows its error, not '[]'."""
    from ell.testing import Reply

    define = define_module
    repo = tmp_path / "repo"
    ell.init(store=repo, default_client=model_server.client(max_retries=0), autocommit=False)
    (tmp_path / "src").mkdir()
    src = '''
        import ell

        @ell.simple(model="gpt-4o-mini", temperature={t})
        def write(topic: str):
            """You are a writer."""
            return f"Write about {{topic}}."
    '''
    try:
        for t in (0.7, 0.2, 0.7):  # v1, v2, then back to v1
            define(tmp_path / "src", "story", src.format(t=t))["write"]("cats")
        model_server.queue(Reply(error=500, error_message="the model is down"))
        try:
            define(tmp_path / "src", "story", src.format(t=0.7))["write"]("dogs")
        except Exception:
            pass
        ell.get_store().flush()
    finally:
        ell.set_store(None)
    out = run("log", "--repo", str(repo)).output
    assert re.search(r"story\.write\s+v2 .* running v1 since ", out), out
    lines = run("log", "story.write", "--repo", str(repo)).output.splitlines()
    assert lines[0].startswith("→ back to v1 since ") and "not v2" in lines[0]
    assert "running now" in lines[2] and lines[2].startswith("v1") and "running now" not in lines[1]
    assert lines[1].index("Update") == lines[2].index("Add")  # columns line up
    data = json.loads(run("log", "story.write", "--repo", str(repo), "--json").output)
    assert [v["running_since"] is not None for v in data] == [False, True]
    calls = run("invocations", "--repo", str(repo)).output.splitlines()[:-1]
    assert [re.search(r" (v\d) ", c).group(1) for c in calls] == ["v1", "v1", "v2", "v1"]
    # The error's text (its start: older openai SDKs put the status first), never '[]'.
    assert "error" in calls[0] and re.search(r"the model is down|Error code: 500", calls[0]) and "'[]'" not in calls[0]
    assert len({c.index(" v") for c in calls}) == 1  # the vN column lines up
    # `ell diff LMP` alone: what the latest version changed (v1 → v2).
    assert normalise(run("diff", "story.write", "--repo", str(repo)).output).splitlines()[0] == \
        "story.write: v1 → v2  (+1 -1)"
