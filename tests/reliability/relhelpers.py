"""Helpers for the reliability suite: the figures it reports, and checks of a repository's integrity
made with pygit2 and plain git only (never with the code under test)."""

from __future__ import annotations

import collections
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pygit2
from store_helpers import blob_lines, wait_until_idle  # tests/store (on sys.path, see conftest.py)

#: Figures printed at the end of the run and written to last_run.json (see conftest.py).
FIGURES: collections.Counter[str] = collections.Counter()

#: What each figure means, in the order of the table.
FIGURE_NAMES = {
    "kills": "recording processes SIGKILLed (at 7 writer points or at a random moment), each followed by checks",
    "kill_points": "distinct kill points that killed",
    "replays_checked": "invocations in killed processes' journals, replayed and found exactly once",
    "invocations_checked": "invocations checked present exactly once (all tests)",
    "lost": "invocations lost (acknowledged or journaled, then missing)",
    "duplicated": "invocations recorded twice",
    "concurrent_writers": "writer threads (8 processes × 3) on one repository, with web and sync running",
    "syncs": "syncs during and after the concurrent writes",
    "sync_gave_up_during_writes": "of those, syncs that gave up (one line) while others moved refs",
    "web_requests_during_writes": "web UI requests answered 200 while writers and sync ran",
    "fault_scenarios": "disk and git trouble scenarios (read-only, disk full, locks, journals, refs, format)",
    "hostile_inputs": "hostile or odd inputs through real LMP calls (cases + hypothesis examples)",
    "xss_fields": "user-provided fields holding an XSS payload, checked as text in chromium",
    "bad_urls": "path traversal and malformed URLs answered 404",
    "load_requests": "requests from 100 concurrent clients",
    "load_p95_ms": "their p95 latency (ms)",
    "load_total_s": "their total time (s)",
    "sync_faults": "sync failure scenarios not covered by tests/sync (mid-pack EOF, forgotten history, kills)",
    "sync_kills": "sync processes SIGKILLed mid-sync",
    "maintenance_commands": "git maintenance commands raced (gc --prune=now, prune, repack -ad, pack-refs, maintenance, gc --aggressive)",
    "maintenance_races": "maintenance runs racing a recording process",
    "maintenance_invocations_checked": "acknowledged invocations checked after those races",
    "maintenance_versions_checked": "acknowledged versions checked after those races",
    "versions_lost": "acknowledged versions lost",
    "poisoned": "bad records, refs and meta.json files planted (locally and through sync)",
    "reader_checks_with_poison": "reader commands and web pages run on poisoned repositories (all answered)",
    "poisoned_through_sync": "of those, bad records pushed by a collaborator and refused by `ell pull`",
    "suite_seconds": "time spent in this suite (s)",
}


def git(cwd: str | Path, *args: str, check: bool = True, input: bytes | None = None) -> str:
    res = subprocess.run(["git", *args], cwd=cwd, capture_output=True, input=input)
    if check and res.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {res.stderr.decode(errors='replace')}")
    return res.stdout.decode(errors="replace")


def fsck(repo: str | Path) -> None:
    """`git fsck --strict` must be clean: no missing objects, no broken links (dangling is fine)."""
    wait_for_git(repo)
    res = subprocess.run(["git", "fsck", "--strict", "--no-progress", "--no-dangling"], cwd=repo,
                         capture_output=True, text=True)
    bad = [l for l in (res.stdout + res.stderr).splitlines() if l and not l.startswith("notice:")]
    assert res.returncode == 0 and not bad, f"git fsck --strict in {repo}:\n" + "\n".join(bad[:20])


def ell_refs(repo: pygit2.Repository) -> dict[str, pygit2.Oid]:
    return {r: repo.references[r].target for r in repo.references
            if r.startswith(("refs/ell/", "refs/notes/ell"))}


def check_refs_resolve(repo: pygit2.Repository) -> None:
    """Every ell ref points at a commit that exists, with its tree."""
    for name, target in ell_refs(repo).items():
        assert target in repo, f"{name} points to a missing object {target}"
        commit = repo[target]
        assert isinstance(commit, pygit2.Commit), f"{name} does not point to a commit"
        assert commit.tree_id in repo, f"{name}: tree {commit.tree_id} is missing"


class InvocationIndex:
    """Invocation ids on a repository's invocation refs, read incrementally (segments are immutable):
    every id with the segment paths holding it, so duplicates are visible."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.where: dict[str, list[str]] = collections.defaultdict(list)
        self._seen: set[tuple[str, str]] = set()  # (ref, segment path)

    def refresh(self) -> None:
        repo = pygit2.Repository(self.path)
        for name in repo.references:
            if not name.startswith("refs/ell/inv/"):
                continue
            stack = [("", repo[repo.references[name].target].tree)]
            while stack:
                prefix, tree = stack.pop()
                for entry in tree:
                    path = prefix + entry.name
                    if entry.type_str == "tree":
                        if not entry.name.endswith(".blobs"):
                            stack.append((path + "/", repo[entry.id]))
                    elif path.endswith(".jsonl") and (name, path) not in self._seen:
                        self._seen.add((name, path))
                        for line in repo[entry.id].data.split(b"\n"):
                            if line:
                                self.where[json.loads(line)["id"]].append(path)

    @property
    def ids(self) -> set[str]:
        return set(self.where)

    def duplicates(self) -> dict[str, list[str]]:
        return {i: p for i, p in self.where.items() if len(p) > 1}


def lmp_version_ids(repo: pygit2.Repository, prefix: str = "refs/ell/lmp/") -> dict[str, list[str]]:
    """ref -> Ell-Version ids in its history (merges skipped), with repeats kept."""
    out: dict[str, list[str]] = {}
    for name in repo.references:
        if not name.startswith(prefix):
            continue
        vids = []
        for c in repo.walk(repo.references[name].target):
            if len(c.parents) < 2:
                vids += [l.split(": ", 1)[1] for l in c.message.splitlines() if l.startswith("Ell-Version: ")]
        out[name] = vids
    return out


def jsonl_lines(repo: str | Path, refs_glob: str = "refs/ell/") -> list[bytes]:
    """Every JSONL line on every invocation ref, read with plain `git ls-tree` + `git cat-file`."""
    names = git(repo, "for-each-ref", "--format=%(refname)", refs_glob).split()
    oids: list[str] = []
    for ref in names:
        if "/inv/" not in ref + "/":
            continue
        for ln in git(repo, "ls-tree", "-r", ref).splitlines():
            if ln.endswith(".jsonl"):
                oids.append(ln.split()[2])
    return blob_lines(repo, oids)


def strict_json(line: bytes) -> Any:
    """Parse one stored line as strict JSON: UTF-8, no NaN/Infinity (which JSON does not have)."""
    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(line.decode("utf-8"), parse_constant=no_constants)


def snapshot_repo(path: str | Path) -> dict[str, Any]:
    """Refs and the set of objects (loose and packed) of a repository: equal snapshots, nothing written."""
    refs = git(path, "for-each-ref", "--format=%(refname) %(objectname)")
    objects = git(path, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    return {"refs": refs, "objects": set(objects.split())}


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def table(figures: dict[str, Any]) -> str:
    rows = [("figure", "value", "what")]
    for key, what in FIGURE_NAMES.items():
        if key in figures:
            rows.append((key, str(figures[key]), what))
    for key in sorted(set(figures) - set(FIGURE_NAMES)):
        rows.append((key, str(figures[key]), ""))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = [f"| {r[0]:<{widths[0]}} | {r[1]:>{widths[1]}} | {r[2]} |" for r in rows]
    lines.insert(1, f"|{'-' * (widths[0] + 2)}|{'-' * (widths[1] + 1)}:|---|")
    return "\n".join(lines)


class WebServer:
    """`ell web PATH --port 0` as a subprocess (as a user runs it); stopped by its own pid."""

    def __init__(self, repo: str | Path, *extra: str) -> None:
        import queue
        import sys
        import threading

        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
        code = "import sys; from ell_git.cli import main; sys.exit(main())"
        args = extra or ("--port", "0")
        self.proc = subprocess.Popen([sys.executable, "-c", code, "web", str(repo), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=root)
        lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=lambda: [lines.put(l) for l in self.proc.stdout], daemon=True).start()  # type: ignore[union-attr]
        threading.Thread(target=lambda: [self.stderr.append(l) for l in self.proc.stderr], daemon=True).start()  # type: ignore[union-attr]
        self.url = ""
        try:
            while not self.url:
                for word in lines.get(timeout=30).split():
                    if word.startswith("http://"):
                        self.url = word.rstrip("/")
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"ell web did not print its URL; stderr: {''.join(self.stderr)[-2000:]}")
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def __enter__(self) -> "WebServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def get(url: str, timeout: float = 30.0) -> tuple[int, bytes, float]:
    """(status, body, seconds) of one GET; HTTP errors are answers too."""
    import time
    import urllib.error
    import urllib.request

    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read(), time.monotonic() - t0
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), time.monotonic() - t0


def wait_for_git(repo: str | Path, timeout: float = 60.0) -> None:
    """Wait until no git process works in `repo`: a killed writer's background `git repack` runs on
    (it is safe beside writers, but `git fsck` reading objects while it prunes them reports them gone)."""
    wait_until_idle(repo, lambda cmd: os.path.basename(cmd[0]).startswith(b"git"), "git processes", timeout)
