"""`ell doctor`: check everything ell keeps in a repository, in depth, and repair what can be.

* **refs**: every ``refs/ell/*`` and ``refs/notes/ell*`` ref, its whole history: every commit, tree
  and blob present (`integrity`); a damaged ref breaks git itself (`git gc` fails), so `--repair`
  heals it (`heal`: onto its newest intact commit, carrying over what is readable);
* **records**: every invocation line, version ``meta.json`` and evaluation file against the storage
  format (`validate`); `--repair` moves bad lines out of this clone's own invocation refs (into
  ``.git/ell/quarantine/``), by a new commit; fetched ones can only be fixed in the clone that wrote
  them;
* **journals**: live ones (a running process), those of dead processes (records not committed yet:
  `--repair` replays them), damaged ones kept as ``.corrupt``;
* **read cache**: SQLite integrity (`--repair` deletes it: it is rebuilt from git);
* **format**: data written by a newer ell-git (nothing to repair: upgrade).

The report says what was lost with figures; `ok` is False while something is wrong.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import pygit2

from . import heal, layout, refs, validate
from . import integrity as ig
from . import journal as jr
from .batch import batch_from_entry
from .errors import NewerFormatError
from .evals import DATASET, EVALUATION, RESULTS, RUN
from .repo import ell_dir, open_repository, signature
from .versions import META, parse_trailers, version_ids_in


@dataclass
class Finding:
    where: str  # a ref, a file
    what: str
    fixable: bool  # by `ell doctor --repair`
    severity: str = "error"  # "error" (exit status 1) or "note"
    fixed: str = ""  # what the repair did


@dataclass
class DoctorReport:
    path: str
    refs: int = 0
    commits: int = 0
    records: int = 0  # invocation lines checked
    versions: int = 0
    journals: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    lost: dict[str, Any] = field(default_factory=lambda: {"versions": [], "segments": 0, "unknown": False})
    recommitted: int = 0  # records replayed from journals by the repair

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" and not f.fixed for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def lines(self) -> list[str]:
        j = self.journals
        out = [f"ell doctor: {self.path}",
               f"refs: {self.refs} checked in depth ({self.commits:,} commits)",
               f"records: {self.records:,} invocations and {self.versions:,} versions checked against the format",
               f"journals: {j.get('live', 0)} live, {j.get('orphaned', 0)} left by dead processes "
               f"({j.get('pending', 0):,} records not committed yet), {j.get('corrupt', 0)} kept as damaged"]
        for f in self.findings:
            mark = "fixed" if f.fixed else ("note" if f.severity == "note" else "✗")
            out.append(f"  {mark} {f.where}: {f.what}" + (f" → {f.fixed}" if f.fixed else ""))
        lost = self.lost
        if lost["versions"] or lost["segments"] or lost["unknown"]:
            out.append(f"lost: {len(lost['versions'])} version(s), {lost['segments']} invocation segment(s)"
                       + ("; what missing commits held is unknown (journals gave back what they had)" if lost["unknown"] else ""))
        if self.recommitted:
            out.append(f"committed again from journals: {self.recommitted:,} records")
        left = [f for f in self.findings if f.severity == "error" and not f.fixed]
        if not left:
            notes = sum(f.severity == "note" for f in self.findings)
            fixed = sum(bool(f.fixed) for f in self.findings)
            out.append(("healthy" if not fixed else f"healthy now ({fixed} repaired)")
                       + (f"; {notes} note(s) above" if notes else ""))
        else:
            fixable = sum(f.fixable for f in left)
            out.append(f"{len(left)} problem(s)" + (f"; {fixable} can be repaired: run `ell doctor --repair`" if fixable else ""))
        return out


def diagnose(path: str | os.PathLike[str] = ".", *, repair: bool = False) -> DoctorReport:
    """Check the repository at or above `path`; with `repair`, repair what can be and check again."""
    repo = open_repository(path, create=False)
    report = _check(repo)
    if not repair or report.ok:
        return report
    _repair(repo, report)
    again = _check(pygit2.Repository(repo.path))
    for f in report.findings:  # what the second look no longer finds is fixed
        if not f.fixed and f.severity == "error" and not any(g.where == f.where and g.what == f.what for g in again.findings):
            f.fixed = f.fixed or "repaired"
    report.findings += [g for g in again.findings if not any(g.where == f.where for f in report.findings)]
    return report


# -- checking ---------------------------------------------------------------------------------------


def _check(repo: pygit2.Repository) -> DoctorReport:
    report = DoctorReport(repo.path)
    odb = ig.fresh_odb(repo)
    trees = ig.TreeChecker(odb)
    for name in ig.corrupt_ref_files(repo):
        report.refs += 1
        report.findings.append(Finding(name, "the ref file holds no object id (git gc and fsck fail on it)", True))
    for name in sorted(refs.ell_refs(repo, notes=True)):
        report.refs += 1
        tip = str(repo.references[name].target)
        h = ig.check_history(odb, tip, trees=trees)
        report.commits += len(h.commits)
        if not h.intact:
            missing = ", ".join(f"{m.kind} {m.oid[:12]}" for m in h.missing[:3])
            more = f" and {len(h.missing) - 3} more" if len(h.missing) > 3 else ""
            report.findings.append(Finding(name, f"lacks {missing}{more} (git gc and fsck fail on it)", True))
            continue
        try:
            _check_content(repo, name, tip, report)
        except NewerFormatError as exc:
            report.findings.append(Finding(name, str(exc), False))
    _check_journals(repo, report)
    _check_cache(repo, report)
    return report


def _check_content(repo: pygit2.Repository, name: str, tip: str, report: DoctorReport) -> None:
    if refs.is_inv_ref(name):
        bad: dict[str, list[Any]] = {}  # segment path -> [bad lines, first problem]
        for path, oid in layout.iter_segments(repo, repo[tip].tree_id):
            for line in repo[oid].data.split(b"\n"):
                if line:
                    report.records += 1
                    _, what = validate.invocation_line(line)
                    if what:
                        bad.setdefault(path, [0, what])[0] += 1
        local = name.startswith(refs.INV_PREFIX)
        for path, (n, what) in bad.items():
            report.findings.append(Finding(
                f"{name}:{path}", f"{n} record(s) not the storage format ({what}); readers skip them"
                + ("" if local else "; a fetched copy: only the clone that wrote them can repair them"), local,
                "error" if local else "note"))
        return
    if name.startswith(refs.NOTES_PREFIX):
        return
    for c in repo.walk(tip, pygit2.enums.SortMode.NONE):
        if len(c.parents) > 1:
            continue
        layout.check_format(parse_trailers(c.message).get("Ell-Format", ["1"])[-1])
        what = None
        if version_ids_in(c):
            report.versions += 1
            if META in c.tree:
                what = validate.meta_blob(repo[c.tree[META].id].data)[1]
        else:
            for fname, check in ((EVALUATION, validate.json_object), (RUN, validate.json_object),
                                 (RESULTS, validate.json_lines), (DATASET, validate.json_lines)):
                if fname in c.tree:
                    what = what or check(repo[c.tree[fname].id].data, fname)
        if what and name.startswith(refs.REMOTES_PREFIX):
            report.findings.append(Finding(f"{name} commit {str(c.id)[:12]}", f"{what}: a fetched copy, never merged "
                                           "(`ell pull` refuses it); it is fixed in the clone that wrote it", False, "note"))
        elif what:
            report.findings.append(Finding(f"{name} commit {str(c.id)[:12]}", f"{what}; readers show the version or run "
                                           "without it (it is in history: only rewriting the ref would remove it)", False))


def _check_journals(repo: pygit2.Repository, report: DoctorReport) -> None:
    directory = os.path.join(ell_dir(repo), "journal")
    counts = {"live": 0, "orphaned": 0, "pending": 0, "corrupt": 0}
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        names = []
    for fname in names:
        path = os.path.join(directory, fname)
        if fname.endswith(".corrupt"):
            counts["corrupt"] += 1
            report.findings.append(Finding(path, "a damaged journal of a dead process: everything readable in it was "
                                           "committed; kept for inspection (delete it when done)", False, "note"))
            continue
        if not fname.endswith(".log"):
            continue
        if _locked(path):
            counts["live"] += 1
            continue
        counts["orphaned"] += 1
        pending = _pending(repo, path)
        counts["pending"] += pending
        report.findings.append(Finding(path, f"left by a dead process: {pending:,} record(s) not committed yet "
                                       "(the next ell process commits them)", True, "error" if pending else "note"))
    report.journals = counts


def _locked(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def _pending(repo: pygit2.Repository, path: str) -> int:
    """Records of a dead process's journal that its ref does not hold yet."""
    with open(path, "rb") as f:
        entries = [e for _, _, e in jr.parse(f.read())]
    writer = _writer_id(repo)
    tip = refs.read_tip(repo, refs.inv_ref(writer))[1] if writer else None
    tree = repo[tip].tree_id if tip is not None else None
    n = 0
    for entry in jr.merge_batches(entries):
        if entry.kind != "inv":
            continue
        try:
            batch = batch_from_entry(entry, replay=True)
        except (KeyError, TypeError, ValueError):
            continue
        paths = {layout.segment_path(batch.time, vid, batch.id) for vid, _ in batch.lines}
        if any(layout.lookup(repo, tree, p) is None for p in paths):
            n += len(batch.lines)
    return n


def _writer_id(repo: pygit2.Repository) -> str | None:
    try:
        return str(repo.config["ell.writerid"])
    except (KeyError, pygit2.GitError):
        return None


def _check_cache(repo: pygit2.Repository, report: DoctorReport) -> None:
    path = os.path.join(ell_dir(repo), "cache.sqlite")
    if not os.path.exists(path):
        return
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            row = db.execute("PRAGMA quick_check").fetchone()
        finally:
            db.close()
        problem = None if row and row[0] == "ok" else f"SQLite says: {row[0] if row else 'nothing'}"
    except sqlite3.Error as exc:
        problem = str(exc)
    if problem:
        report.findings.append(Finding(path, f"the read cache is damaged ({problem}); it is only a cache", True))


# -- repairing --------------------------------------------------------------------------------------


def _repair(repo: pygit2.Repository, report: DoctorReport) -> None:
    marks = ig.Checkpoints(ell_dir(repo))
    for f in report.findings:
        if not f.fixable or f.severity != "error" or f.fixed:
            continue
        if f.where in refs.ell_refs(repo, notes=True) or f.where in ig.corrupt_ref_files(repo):
            r = heal.heal(repo, f.where, stop_at=[])
            if r is not None:
                marks.update({f.where: r.base})
                f.fixed = r.describe()
                report.lost["versions"] += r.lost_versions
                report.lost["segments"] += len(r.lost_paths)
                report.lost["unknown"] = report.lost["unknown"] or r.unknown
        elif f.where.endswith("cache.sqlite"):
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.unlink(f.where + suffix)
                except FileNotFoundError:
                    pass
            f.fixed = "deleted (rebuilt from git on the next read)"
        elif ":" in f.where and f.where.startswith(refs.INV_PREFIX):
            ref = f.where.split(":", 1)[0]
            moved = _quarantine(repo, ref)
            f.fixed = f"moved {moved} bad record(s) out of {ref} into .git/ell/quarantine/" if moved else ""
    # Journals of dead processes, and what the repaired refs need again: a writer replays them.
    pending = report.journals.get("pending", 0)
    from .store import GitStore

    store = GitStore(repo.workdir or repo.path, autocommit=False, writer_process=False)
    store.flush(timeout=600)
    store.close(timeout=600)
    report.recommitted = pending
    for f in report.findings:
        if f.where.endswith(".log") and not f.fixed and not os.path.exists(f.where):
            f.fixed = "replayed: its records are committed"


def _quarantine(repo: pygit2.Repository, ref: str) -> int:
    """Move the lines of `ref`'s segments that are not the storage format out, by a new commit."""
    moved = [0]
    qdir = os.path.join(ell_dir(repo), "quarantine")

    def build(tip: pygit2.Oid | None) -> pygit2.Oid | None:
        if tip is None:
            return None
        tree = repo[tip].tree_id
        files: dict[str, pygit2.Oid] = {}
        kept_out: list[bytes] = []
        for path, oid in layout.iter_segments(repo, tree):
            lines = repo[oid].data.split(b"\n")
            good = [ln for ln in lines if ln and validate.invocation_line(ln)[1] is None]
            bad = [ln for ln in lines if ln and validate.invocation_line(ln)[1] is not None]
            if bad:
                kept_out += bad
                files[path] = repo.create_blob(b"\n".join(good) + b"\n" if good else b"")
        if not files:
            return None
        os.makedirs(qdir, exist_ok=True)
        with open(os.path.join(qdir, f"{ref.rsplit('/', 1)[-1]}-{int(time.time())}.jsonl"), "ab") as out:
            out.write(b"\n".join(kept_out) + b"\n")
        moved[0] = len(kept_out)
        sig = signature(repo, committer=True)
        msg = (f"Quarantine {len(kept_out)} record(s) that are not the storage format\n\n"
               f"Ell-Writer: {ref.rsplit('/', 1)[-1]}\nEll-Format: {layout.FORMAT_VERSION}\n")
        return repo.create_commit(None, sig, sig, msg, layout.put(repo, tree, files), [tip])

    refs.update(repo, ref, build)
    return moved[0]
