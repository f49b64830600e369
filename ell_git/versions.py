"""Version commits: one commit per distinct version on ``refs/ell/lmp/<escaped name>``.

A version id is written at most once per ref: if it already appears anywhere in the ref's
history (another process wrote it, or the code went back to an older version), nothing is
written. The commit that introduced a version stays its record; invocations say which version
actually ran. This keeps one commit per content hash, makes replays and concurrent writers
idempotent, and stops two deployments of different code from committing back and forth.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import orjson
import pygit2

from ell.records import FORMAT_VERSION, VersionRecord, version_to_dict
from ell.serialize import to_jsonable

from . import autocommit, refs, validate
from .layout import BLOB, canonical, check_commit_format
from .repo import code_commit, signature

SOURCE, CLOSURE, META = "source.py", "closure.py", "meta.json"

TRAILER_VERSION = "Ell-Version"


def version_payload(v: VersionRecord) -> bytes:
    """The journal form of a version: canonical JSON with source and closure."""
    d = version_to_dict(v)
    d["source"], d["closure"] = to_jsonable(v.source), to_jsonable(v.closure)
    return canonical(d)


def version_from_payload(data: bytes) -> VersionRecord:
    d = orjson.loads(data)
    fields = VersionRecord.__dataclass_fields__
    d = {k: v for k, v in d.items() if k in fields}
    d["uses"], d["uses_names"] = tuple(d.get("uses") or ()), tuple(d.get("uses_names") or ())
    return VersionRecord(**d)


def side_of(v: VersionRecord) -> autocommit.Side:
    return autocommit.Side(
        name=v.name,
        kind=v.kind,
        source=v.source,
        closure=v.closure,
        model=v.model,
        api_params=to_jsonable(dict(v.api_params)),
        uses=dict(zip(v.uses_names, v.uses)),
        bound_globals=to_jsonable(dict(v.bound_globals)),
    )


def side_at(repo: pygit2.Repository, commit: pygit2.Commit) -> autocommit.Side:
    """The version stored in `commit` as the describer sees it."""
    tree = commit.tree
    text = {n: tree[n].data.decode("utf-8", "replace") if n in tree else "" for n in (SOURCE, CLOSURE)}
    meta = validate.meta_blob(tree[META].data)[0] if META in tree else {}  # a bad one reads as none
    return autocommit.Side.from_meta(meta, text[SOURCE], text[CLOSURE])


# Git keeps a commit message as a C string: a NUL (from a hostile LMP name or docstring) would cut
# off the rest of the message with its trailers, and the version would be invisible and re-committed
# at every start. Other control characters are escaped too; newlines and tabs are kept in the body.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(32), 127) if c not in (9, 10)}


def _one_line(s: Any) -> str:
    return " ".join(str(s).split()).translate(_CONTROL)


def trailers(v: VersionRecord, code: str, by: str) -> list[tuple[str, str]]:
    out = [(TRAILER_VERSION, v.version_id), ("Ell-Lmp", v.name), ("Ell-Kind", v.kind)]
    if v.model:
        out.append(("Ell-Model", v.model))
    out += [("Ell-Uses", f"{vid} ({name})") for vid, name in zip(v.uses, v.uses_names)]
    out += [("Ell-Code-Commit", code), ("Ell-Message", by), ("Ell-Format", str(FORMAT_VERSION))]
    return [(k, _one_line(val)) for k, val in out]


def message_text(msg: autocommit.Message, tr: list[tuple[str, str]]) -> str:
    from ell.redaction import redact_text

    # A model writes the message from redacted closures, but it could still echo a credential.
    parts = [_one_line(redact_text(msg.subject))]
    if msg.bullets:
        parts.append(redact_text(msg.body).translate(_CONTROL))
    parts.append("\n".join(f"{k}: {val}" for k, val in tr))
    return "\n\n".join(parts) + "\n"


def version_ids_in(commit: pygit2.Commit) -> str | None:
    for line in reversed(commit.message.splitlines()):
        if line.startswith(TRAILER_VERSION + ": "):
            return line[len(TRAILER_VERSION) + 2 :].strip()
    return None


def parse_trailers(message: str) -> dict[str, list[str]]:
    """Trailers of the last paragraph (``Key: value`` lines), repeated keys kept in order."""
    last = message.rstrip("\n").rsplit("\n\n", 1)[-1]
    out: dict[str, list[str]] = {}
    for line in last.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key and " " not in key:
            out.setdefault(key, []).append(value.strip())
    return out


def split_message(message: str) -> tuple[str, str]:
    """(subject, body without the trailer paragraph)."""
    paras = message.rstrip("\n").split("\n\n")
    subject = paras[0].strip()
    rest = paras[1:]
    if rest and all(": " in ln for ln in rest[-1].splitlines()):
        rest = rest[:-1]
    return subject, "\n\n".join(rest).strip()



# Asking a model sends the version's code off this machine: say so the first time, once per process.
_told = threading.Event()
_tell_lock = threading.Lock()


def _tell_once(say: Callable[[str, str], None], model: str) -> None:
    with _tell_lock:
        if _told.is_set():
            return
        _told.set()
    say("autocommit-notice", f"autocommit is on: each new version's closure diff (its code and what it uses) is sent to "
        f"{model} to write the commit message; pass ell.init(autocommit=False) to keep it local "
        "(messages are then built from the diff)")


class VersionWriter:
    """Writes version commits. Used only from the store's version thread."""

    def __init__(
        self,
        repo: pygit2.Repository,
        *,
        autocommit_enabled: bool,
        autocommit_model: str,
        autocommit_timeout: float,
        hurry: threading.Event,
        complete: Callable[..., str] | None = None,
        on_error: Callable[[str, str], None] = lambda kind, msg: None,
    ) -> None:
        self.repo = repo
        self.autocommit = autocommit_enabled
        self.model = autocommit_model
        self.timeout = autocommit_timeout
        self.hurry = hurry
        self.complete = complete
        self.on_error = on_error
        self._known: dict[str, tuple[pygit2.Oid, set[str]]] = {}
        self.last_commit: tuple[Any, ...] = ()  # what `write`'s last commit was made of

    def known(self, refname: str, tip: pygit2.Oid | None) -> set[str]:
        """Version ids anywhere in the history of `tip`, updated incrementally per ref."""
        if tip is None:
            return set()
        refs.check_tip(self.repo, refname, tip)
        cached = self._known.get(refname)
        if cached is not None and cached[0] == tip:
            return cached[1]
        walker = self.repo.walk(tip, pygit2.enums.SortMode.NONE)
        ids: set[str] = set()
        if cached is not None and self.repo.descendant_of(tip, cached[0]):
            walker.hide(cached[0])
            ids = set(cached[1])
        for c in walker:
            vid = version_ids_in(c)
            if vid:
                ids.add(vid)
        self._known[refname] = (tip, ids)
        return ids

    def write(self, v: VersionRecord) -> pygit2.Oid | None:
        """Commit `v` unless its id is already in its ref's history. Returns the new commit."""
        refname = refs.lmp_ref(v.name)
        _, tip = refs.read_tip(self.repo, refname)
        if v.version_id in self.known(refname, tip):
            return None
        tree = self._tree(v)
        code = code_commit(self.repo)
        author = signature(self.repo, v.created_at or None)
        msg, by = self._message(v, tip)
        based_on = tip

        def build(current: pygit2.Oid | None) -> pygit2.Oid | None:
            nonlocal msg, by, based_on
            if v.version_id in self.known(refname, current):
                return None  # another process wrote it meanwhile
            if current is not None:
                check_commit_format(self.repo[current])
            if current != based_on:  # describe against what is really the previous version now
                msg, by, based_on = self._deterministic(v, current), "deterministic", current
            text = message_text(msg, trailers(v, code, by))
            committer = signature(self.repo, committer=True)
            parents = [current] if current is not None else []
            self.last_commit = (author, committer, text, tree, parents)  # to write it again (`durable`)
            return self.repo.create_commit(None, author, committer, text, tree, parents)

        new = refs.update(self.repo, refname, build)
        return new if new is not None and new != tip else None

    def forget(self, refname: str) -> None:
        """Drop what `known` remembers of `refname` (its history was repaired)."""
        self._known.pop(refname, None)

    def tree_of(self, v: VersionRecord) -> pygit2.Oid:
        """Write the tree of `v` (again: the same id)."""
        return self._tree(v)

    def _tree(self, v: VersionRecord) -> pygit2.Oid:
        meta = orjson.dumps(version_to_dict(v), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"
        tb = self.repo.TreeBuilder()
        tb.insert(SOURCE, self.repo.create_blob(str(v.source).encode("utf-8", "surrogateescape")), BLOB)
        tb.insert(CLOSURE, self.repo.create_blob(str(v.closure).encode("utf-8", "surrogateescape")), BLOB)
        tb.insert(META, self.repo.create_blob(meta), BLOB)
        return tb.write()

    def _previous(self, tip: pygit2.Oid | None) -> autocommit.Side | None:
        if tip is None:
            return None
        try:
            return side_at(self.repo, self.repo[tip])
        except Exception:  # a hand-made commit on our ref: describe as if first
            return None

    def _deterministic(self, v: VersionRecord, tip: pygit2.Oid | None) -> autocommit.Message:
        return autocommit.describe(self._previous(tip), side_of(v))

    def _message(self, v: VersionRecord, tip: pygit2.Oid | None) -> tuple[autocommit.Message, str]:
        old = self._previous(tip)
        new = side_of(v)
        fallback = autocommit.describe(old, new)
        if old is None or not self.autocommit or self.hurry.is_set():
            return fallback, "deterministic"
        got = self._ask_model(old, new, fallback)
        return (got, f"model {self.model}") if got is not None else (fallback, "deterministic")

    def _ask_model(
        self, old: autocommit.Side, new: autocommit.Side, fallback: autocommit.Message
    ) -> autocommit.Message | None:
        """The model's message if it comes within the timeout (and the store is not closing)."""
        complete = self.complete
        if complete is None:  # no model call was given to the store (`ell.init` gives one)
            return None
        _tell_once(self.on_error, self.model)
        box: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["msg"] = autocommit.model_message(old, new, fallback, complete, self.model, self.timeout)
            except BaseException as exc:  # the model is optional: any failure means "use the diff"
                box["err"] = exc
            finally:
                done.set()

        threading.Thread(target=run, name="ell-autocommit", daemon=True).start()
        deadline = time.monotonic() + self.timeout
        while not done.wait(0.05):
            if self.hurry.is_set() or time.monotonic() > deadline:
                return None
        if "err" in box:
            self.on_error(
                "autocommit", f"model {self.model} gave no commit message ({box['err']}); using a message built from the diff"
            )
        return box.get("msg")
