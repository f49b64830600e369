"""Concurrency: 8 processes × 3 threads write versions and invocations to one repository while
`ell web` serves it to four polling clients and another process runs `ell_git.sync.sync` against a
bare remote in a loop (a second clone edits a shared LMP and syncs too, so the busy clone really
merges). Everything runs under timeouts. Afterwards: nothing lost, nothing duplicated, each version
committed once, the remote holds it all, every web request was answered.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pygit2
import pytest
import relworkers
from relhelpers import InvocationIndex, WebServer, check_refs_resolve, fsck, get, git, lmp_version_ids
from store_helpers import init_user_repo, make_inv, make_version

from ell_git import Reader
from ell_git.sync import sync

pytestmark = pytest.mark.slow

PROCESSES, THREADS, PER_THREAD = 8, 3, 500
JOIN_TIMEOUT = 240.0


def test_writers_web_and_sync_at_once(tmp_path: Path, forkserver: Any, figures: Any) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    a = init_user_repo(tmp_path / "a", dirty=True)
    b = tmp_path / "b"
    git(tmp_path, "init", "-q", str(b))
    for clone in (a, b):
        git(clone, "remote", "add", "origin", str(remote))
    outs = [tmp_path / f"writer-{k}.json" for k in range(PROCESSES)]
    stop, sync_out = tmp_path / "stop", tmp_path / "sync.json"

    writers = [forkserver.Process(target=relworkers.busy_writer, args=(str(a), k, THREADS, PER_THREAD, str(outs[k])))
               for k in range(PROCESSES)]
    syncer = forkserver.Process(target=relworkers.sync_loop, args=(str(a), str(b), str(stop), str(sync_out)))
    with WebServer(a) as web:
        for p in writers:
            p.start()
        syncer.start()
        # The web clients: every request must be answered 200 while all of this runs.
        deadline = time.monotonic() + 60
        while not (a / ".git" / "refs" / "ell" / "lmp" / "conc.shared0").exists():
            assert time.monotonic() < deadline, "no version was written within a minute"
            time.sleep(0.05)
        urls = ["/", "/invocations", "/invocations?q=p3t1", "/lmp/conc.shared0", "/lmp/conc.shared1.json",
                "/invocations.json?page=3", "/_live.json", "/lmp/conc.shared0/diff"]
        answers: list[tuple[str, int, float]] = []
        progress: list[str] = []  # requests answered by the first indexing's progress page (kept for a failure's report)
        done = threading.Event()

        def poll(offset: int) -> None:
            i = offset
            while not done.is_set():
                url = urls[i % len(urls)]
                status, body, secs = get(web.url + url)
                if url.endswith(".json") and status == 200:
                    json.loads(body)
                if status == 503 and b"ndexing" in body:
                    # The first indexing took over 5 s (4 writers and a sync loop on 2 cores): the
                    # designed progress page (Retry-After), not a failure. Ask again, as a browser does.
                    progress.append(url)
                    continue
                answers.append((url, status, secs))
                i += 1

        clients = [threading.Thread(target=poll, args=(k,), daemon=True) for k in range(4)]
        for c in clients:
            c.start()
        for p in writers:
            p.join(JOIN_TIMEOUT)
        hung = [k for k, p in enumerate(writers) if p.exitcode is None]
        # Every page at least once while the sync loop still runs (on a loaded machine a page can take
        # seconds, and the writers may finish before each page's turn came).
        deadline = time.monotonic() + 120
        while {u for u, _, _ in answers} != set(urls) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.touch()
        syncer.join(JOIN_TIMEOUT)
        done.set()
        for c in clients:
            c.join(60)
        for p in [*writers, syncer]:
            if p.exitcode is None:
                p.kill()
        assert not hung and syncer.exitcode == 0, f"deadlock: writers {hung} or the sync loop never finished"
        assert all(p.exitcode == 0 for p in writers)
        bad = [(u, s) for u, s, _ in answers if s != 200]
        assert {u for u, _, _ in answers} == set(urls), (
            f"pages never answered: {set(urls) - {u for u, _, _ in answers}} ({len(progress)} progress pages)")
        assert not bad, f"{len(bad)} of {len(answers)} web requests failed: {bad[:5]}"
        final_web = json.loads(get(web.url + "/invocations.json")[1])

    results = [json.loads(o.read_text()) for o in outs]
    assert all(r["ok"] and not r["errors"] for r in results), [r["errors"] for r in results if r["errors"]][:2]
    synced = json.loads(sync_out.read_text())
    # Bounded retries: sync may give up now and then while others move refs, but rarely and in one line.
    assert synced["done"] >= 3 and len(synced["failures"]) <= synced["done"], synced["failures"][:3]
    assert all("\n" not in f for f in synced["failures"])
    for clone in (a, b, a):
        sync(clone, timeout=120)

    # Nothing lost, nothing twice: locally, on the remote, and in the other clone's reader.
    expected = {make_inv(make_version(), i, tag=f"p{k}t{t}").id
                for k in range(PROCESSES) for t in range(THREADS) for i in range(PER_THREAD)}
    index = InvocationIndex(a)
    index.refresh()
    assert index.ids == expected and not index.duplicates()
    remote_index = InvocationIndex(remote)
    remote_index.refresh()
    assert remote_index.ids == expected and not remote_index.duplicates()
    assert final_web["invocations"]["total"] <= len(expected)
    with Reader(a) as ra, Reader(b) as rb:
        assert ra.invocations().total == rb.invocations().total == len(expected)

    repo_a, repo_remote = pygit2.Repository(str(a)), pygit2.Repository(str(remote))
    vids = lmp_version_ids(repo_a)
    for ref, found in vids.items():
        assert len(found) == len(set(found)), f"a version was committed twice on {ref}"
    want_shared0 = {v for r in results for v in r["versions"]} | {results[0]["shared"][0]}
    assert set(vids["refs/ell/lmp/conc.shared0"]) == want_shared0
    assert set(vids["refs/ell/lmp/conc.shared1"]) == {results[0]["shared"][1], *synced["b_versions"]}
    assert {f"refs/ell/lmp/conc.proc{k}" for k in range(PROCESSES)} <= set(vids)
    assert {r: set(v) for r, v in lmp_version_ids(repo_remote).items()} == {r: set(v) for r, v in vids.items()}
    for repo in (a, b, remote):
        check_refs_resolve(pygit2.Repository(str(repo)))
        fsck(repo)
    assert not list((a / ".git" / "ell" / "journal").iterdir())

    figures["concurrent_writers"] = max(figures["concurrent_writers"], PROCESSES * THREADS)
    figures["syncs"] += synced["done"] + 3
    figures["sync_gave_up_during_writes"] += len(synced["failures"])
    figures["web_requests_during_writes"] += len(answers)
    figures["invocations_checked"] += len(expected)
