"""Two clones evaluate and judge the same version independently; `ell_git.sync` merges their eval
refs (history union) and their notes (line union) without conflicts, and both end up alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ell
from ell_git import Reader, sync
from evaltools import DOCS, evaluation, git, load_version, note_lines


def use(repo: Path, server: Any) -> Any:
    ell.init(store=str(repo), default_client=server.client(max_retries=0, timeout=10), autocommit=False)
    return ell.get_store()


def test_scores_and_feedback_merge_across_clones(tmp_path: Path, fake: Any) -> None:
    remote, a, b = tmp_path / "remote.git", tmp_path / "a", tmp_path / "b"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    for clone in (a, b):
        git(tmp_path, "clone", "-q", str(remote), str(clone))
    mod = load_version(tmp_path / "src", DOCS[1])

    use(a, fake)
    mod.capital("France")  # the version is committed in a, then shared
    ell.get_store().flush()
    sync.push(a)
    sync.pull(b)

    use(a, fake)
    run_a = evaluation(mod=mod).run(mod.capital)
    fb_a = ell.feedback(run_a.results.outputs[0], score=1, comment="a likes Paris")
    use(b, fake)
    run_b = evaluation(mod=mod).run(mod.capital, api_params={"temperature": 0.5})
    fb_b = ell.feedback(run_b.results.outputs[1], score=-1, comment="b wanted more")
    ell.set_store(None)

    sync.sync(a)
    report = sync.sync(b)  # b's notes and eval ref diverged from a's: merged, then pushed
    assert report.notes == {"refs/notes/ell/evals": "merged", "refs/notes/ell/feedback": "merged"}
    assert report.eval == {"refs/ell/eval/capitals": "merged"}
    sync.pull(a)

    for clone in (a, b):
        reader = Reader(clone)
        commit = reader.version("evalfix_prompts.capital").commit
        assert {l["run"] for l in note_lines(clone, "ell/evals", commit)} == {run_a.id, run_b.id}
        assert {l["id"] for l in note_lines(clone, "ell/feedback", commit)} == {fb_a.id, fb_b.id}
        detail = reader.evals.evaluation("capitals")
        assert {r.id for r in detail.runs} == {run_a.id, run_b.id}
        assert len(detail.definitions) == 1 and len(detail.table) == 2  # two param sets of one version
        assert reader.notes.feedback(fb_b.invocation_id)["down"] == 1
        assert {e["by"] for e in reader.notes.score_notes()} == {_writer(a), _writer(b)}
    for ref in ("refs/notes/ell/evals", "refs/notes/ell/feedback", "refs/ell/eval/capitals"):
        assert git(a, "rev-parse", ref) == git(b, "rev-parse", ref)
    # The version ref itself was never rewritten by any of this.
    assert git(a, "rev-parse", "refs/ell/lmp/evalfix_prompts.capital") == git(b, "rev-parse",
                                                                             "refs/ell/lmp/evalfix_prompts.capital")


def _writer(repo: Path) -> str:
    return git(repo, "config", "ell.writerid").strip()
