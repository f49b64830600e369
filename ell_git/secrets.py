"""The push check: secrets in what is about to leave this clone, found by `ell.redaction`'s detectors.

Recording redacts everything, so this finds only what was recorded before redaction existed, by an
older client, with ``ell.init(redact=False)``, or written by hand. It reads the commits of
``refs/ell/*`` and ``refs/notes/ell*`` that the remote does not have yet (their parents that it
has are hidden), and in each the blobs that changed: version sources, closures and metadata,
invocation lines and their large payloads, evaluation files, note lines, commit messages. It looks
exactly where recording redacts (an invocation's arguments, globals, parameters, messages, outputs
and error; not its ids or timings), so a record written by this ell is never reported.

`repository_redaction` reads what the repository adds to the detectors (``git config --add
ell.allow NAME_OR_VALUE``, ``git config --add ell.redact REGEX``); recording reads it too.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator, Optional

import orjson
import pygit2

from ell.redaction import Policy, current, redact_source, redact_text, redact_value
from ell.redaction.policy import merged

from . import layout, refs
from .errors import SecretsFound

__all__ = ["Finding", "SecretsFound", "repository_redaction", "policy_for", "scan", "refusal"]

_PLACEHOLDER = re.compile(r"<redacted:([A-Za-z0-9_.:@-]{1,64})>")
# Where each kind of JSON document holds user data (the rest are ids, times and counts).
_INVOCATION_KEYS = ("args", "bound_globals", "api_params", "messages", "outputs", "error")
_META_KEYS = ("bound_globals", "api_params")
_EVALUATION_KEYS = ("default_api_params",)
_RUN_KEYS = ("api_params", "lmp_params", "error")
_RESULT_KEYS = ("output", "labels", "errors")
_NOTE_KEYS = ("comment", "labels", "api_params")


@dataclass(frozen=True)
class Finding:
    """One place holding secrets: which ref and record, and what the detectors would hide there."""

    ref: str
    what: str  # "LMP app.hello, version lmp-0123… (closure.py)", "invocation inv-… of app.hello", …
    labels: tuple[str, ...]  # what would be hidden: "DB_PASSWORD", "openai-api-key", …
    commit: str
    lmp: Optional[str] = None
    version: Optional[str] = None
    invocation: Optional[str] = None

    def line(self) -> str:
        return f"{self.what}: {', '.join(self.labels)}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def repository_redaction(git_dir: str) -> tuple[list[str], list[str]]:
    """(``ell.allow`` values, ``ell.redact`` patterns) from the repository's git config."""
    config = pygit2.Repository(git_dir).config
    out: tuple[list[str], list[str]] = ([], [])
    for i, key in enumerate(("ell.allow", "ell.redact")):
        try:
            out[i].extend(str(v) for v in config.get_multivar(key))
        except (KeyError, pygit2.GitError):
            pass
    return out


def policy_for(repo: pygit2.Repository) -> Policy:
    """The detectors as recording in this repository uses them: the process's policy plus the
    repository's git config additions (merged into the process's policy, as `ell.init` does)."""
    allowed, rules = repository_redaction(repo.path)
    if not allowed and not rules:
        return current()
    return merged(current(), allowed, rules)


# -- what changed -------------------------------------------------------------------------------------


def new_commits(repo: pygit2.Repository, tip: pygit2.Oid, hide: Iterable[pygit2.Oid]) -> list[pygit2.Commit]:
    """Commits reachable from `tip` and from none of `hide` (ids the remote already has)."""
    walker = repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
    for oid in hide:
        if oid in repo:
            try:
                walker.hide(oid)
            except (pygit2.GitError, ValueError):
                pass
    return list(walker)


def _changed(repo: pygit2.Repository, old: Optional[pygit2.Tree], new: pygit2.Tree,
             prefix: str = "") -> Iterator[tuple[str, pygit2.Oid]]:
    """(path, blob id) of every blob in `new` that `old` does not have at that path."""
    for entry in new:
        path = prefix + entry.name
        before = old[entry.name] if old is not None and entry.name in old else None
        if before is not None and before.id == entry.id:
            continue
        if entry.type_str == "tree":
            sub_old = repo[before.id] if before is not None and before.type_str == "tree" else None
            yield from _changed(repo, sub_old, repo[entry.id], path + "/")
        elif entry.type_str == "blob":
            yield path, entry.id


# -- scanning -----------------------------------------------------------------------------------------


def scan(repo: pygit2.Repository, tips: dict[str, pygit2.Oid], hide: Iterable[pygit2.Oid],
         policy: Optional[Policy] = None) -> list[Finding]:
    """Secrets in the commits of `tips` (ref name → tip) that `hide` does not reach."""
    p = policy or policy_for(repo)
    hidden = [h for h in hide if h is not None]
    seen: set[pygit2.Oid] = set()
    findings: list[Finding] = []
    for ref, tip in sorted(tips.items()):
        if tip is None or tip not in repo:
            continue
        for commit in new_commits(repo, tip, hidden):
            findings.extend(_scan_commit(repo, ref, commit, seen, p))
    return findings


def _scan_commit(repo: pygit2.Repository, ref: str, commit: pygit2.Commit, seen: set[pygit2.Oid],
                 p: Policy) -> Iterator[Finding]:
    kind = _kind(ref)
    context = _context(repo, ref, commit, kind)
    labels = _new_labels(commit.message, redact_text(commit.message, p))
    if labels:
        yield Finding(ref, f"{context['what']} (commit message)", labels, str(commit.id), context.get("lmp"),
                      context.get("version"))
    parent = commit.parents[0].tree if commit.parents else None
    for path, oid in _changed(repo, parent, commit.tree):
        if oid in seen:
            continue
        seen.add(oid)
        data = repo[oid].data
        yield from _scan_blob(ref, kind, path, data, str(commit.id), context, p)


def _kind(ref: str) -> str:
    if ref.startswith("refs/notes/"):
        return "notes"
    if refs.is_inv_ref(ref):
        return "inv"
    if ref.startswith(refs.LMP_PREFIX) or refs.lmp_name_of(ref) is not None:
        return "lmp"
    return "eval" if "/eval/" in ref else "other"


def _context(repo: pygit2.Repository, ref: str, commit: pygit2.Commit, kind: str) -> dict[str, Any]:
    from .versions import parse_trailers

    trailers = parse_trailers(commit.message)
    if kind == "lmp":
        lmp = (trailers.get("Ell-Lmp") or [refs.lmp_name_of(ref) or ref])[0]
        version = (trailers.get("Ell-Version") or [None])[0]
        return {"what": f"LMP {lmp}, version {version or commit.id}", "lmp": lmp, "version": version}
    if kind == "eval":
        name = (trailers.get("Ell-Eval") or [ref.rsplit("/", 1)[-1]])[0]
        run = (trailers.get("Ell-Run") or [None])[0]
        return {"what": f"evaluation {name}" + (f", run {run}" if run else " (definition)")}
    if kind == "notes":
        return {"what": f"notes {ref}"}
    return {"what": f"{ref} at {str(commit.id)[:10]}"}


def _scan_blob(ref: str, kind: str, path: str, data: bytes, commit: str, context: dict[str, Any],
               p: Policy) -> Iterator[Finding]:
    text = data.decode("utf-8", "replace")
    name = path.rsplit("/", 1)[-1]
    if kind == "inv":
        if name.endswith(layout.SEGMENT_SUFFIX):
            yield from _scan_lines(ref, text, _INVOCATION_KEYS, commit, p, path)
        elif f"{layout.BLOBS_SUFFIX}/" in path:
            labels = _new_labels(text, redact_text(text, p))
            if labels:
                segment = path.split(layout.BLOBS_SUFFIX + "/")[0] + layout.SEGMENT_SUFFIX
                yield Finding(ref, f"a large payload of an invocation in {segment} ({name})", labels, commit)
        return
    if name.endswith(".py"):
        labels = _new_labels(text, redact_source(text, p))
        if labels:
            yield Finding(ref, f"{context['what']} ({path})", labels, commit, context.get("lmp"), context.get("version"))
        return
    keys: Optional[tuple[str, ...]] = None
    if kind == "lmp" and name == "meta.json":
        keys = _META_KEYS
    elif kind == "eval":
        keys = {"evaluation.json": _EVALUATION_KEYS, "run.json": _RUN_KEYS, "results.jsonl": _RESULT_KEYS,
                "dataset.jsonl": ()}.get(name)
    elif kind == "notes":
        keys = _NOTE_KEYS
    if keys is None:
        labels = _new_labels(text, redact_text(text, p))
        if labels:
            yield Finding(ref, f"{context['what']} ({path})", labels, commit, context.get("lmp"), context.get("version"))
        return
    for finding in _scan_lines(ref, text, keys, commit, p, path):
        yield Finding(finding.ref, f"{context['what']} ({path}{finding.what})", finding.labels, commit,
                      context.get("lmp"), context.get("version"), finding.invocation)


_JSON_KEY = re.compile(r'"([^"\\]{1,100})":')


def _may_hold_secrets(text: str, p: Policy) -> bool:
    """Cheap and never wrong in the "no" direction: a blob whose keys are no secret names and whose
    text has no credential format nor known value needs no parsing (most of a big first push)."""
    from ell.redaction import name_strength
    from ell.redaction.formats import maybe

    if p.patterns or p.callables or maybe(text):
        return True
    if any(v in text for v, _ in (*p.env.values(), *p.known.values())):
        return True
    if '\\"' in text:
        return True  # an escaped quote could hide a key from the pattern: parse
    return any(name_strength(k) is not None for k in set(_JSON_KEY.findall(text)))


def _scan_lines(ref: str, text: str, keys: tuple[str, ...], commit: str, p: Policy, path: str) -> Iterator[Finding]:
    """JSON lines (or one JSON document). `keys` empty: the whole value is user data."""
    if not _may_hold_secrets(text, p):
        return
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            labels = _new_labels(line, redact_text(line, p))  # a hand-written note
            if labels:
                yield Finding(ref, "", labels, commit)
            continue
        if keys and isinstance(record, dict):
            data = {k: record[k] for k in keys if k in record}
        else:
            data = record
        new = redact_value(data, None, p)
        if new is data:
            continue
        labels = _new_labels(orjson.dumps(data).decode(), orjson.dumps(new).decode())
        if not labels:
            continue
        if isinstance(record, dict) and isinstance(record.get("id"), str) and record["id"].startswith("inv-"):
            lmp = record.get("lmp_name")
            yield Finding(ref, f"invocation {record['id']} of {lmp}", labels, commit, lmp, record.get("version_id"),
                          record["id"])
        elif isinstance(record, dict) and isinstance(record.get("inv"), str):
            yield Finding(ref, f", feedback {record.get('id')} on {record['inv']}", labels, commit,
                          invocation=record["inv"])
        else:
            yield Finding(ref, "", labels, commit)


def _new_labels(old: str, new: str) -> tuple[str, ...]:
    if new is old or new == old:
        return ()
    before = set(_PLACEHOLDER.findall(old))
    return tuple(sorted(set(_PLACEHOLDER.findall(new)) - before)) or ("secret",)


# -- the refusal ---------------------------------------------------------------------------------------


def refusal(findings: list[Finding], remote: str, command: str = "ell push", override: Optional[str] = None) -> str:
    """The message of a refused push: what holds secrets, and the three ways on. `override`: how to
    push anyway (default: `command` with ``--allow-secrets``)."""
    shown = findings[:10]
    lines = [f"{command}: refused: {len(findings)} place{'s' * (len(findings) != 1)} in what would be pushed "
             f"to '{remote}' hold secrets (recorded before redaction, by an older ell, or by hand):"]
    lines += [f"  - {f.line()}" for f in shown]
    if len(findings) > len(shown):
        lines.append(f"  - … and {len(findings) - len(shown)} more")
    invs = sorted({f.invocation for f in findings if f.invocation})
    fixes = ["`ell forget --secrets` replaces them with placeholders in this clone's ell history"]
    if invs:
        fixes.append(f"`ell forget --invocation {invs[0]}{' …' if len(invs) > 1 else ''}` erases those calls")
    fixes.append(f"{override or f'`{command} --allow-secrets`'} sends them anyway; `git config --add ell.allow "
                 "VALUE` allows a value that is not a secret")
    lines.append("To fix: " + "; or ".join(fixes) + ".")
    return "\n".join(lines)
