"""Commit messages for versions: what changed between two versions of a prompt program.

`describe` is deterministic (and is also what `Reader.diff` shows as the change summary): it
compares the system prompt (docstring), the prompt-building body, model, API params, helpers,
globals and used LMPs. `model_message` asks a model for a friendlier message from the same facts
and the closure diff; the version writer uses it only if it arrives in time.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Callable

SUBJECT_MAX = 72


@dataclass(frozen=True)
class Side:
    """One version as the describer sees it (from a VersionRecord or from a commit's files)."""

    name: str
    kind: str = "simple"
    source: str = ""
    closure: str = ""
    model: str | None = None
    api_params: dict[str, Any] = field(default_factory=dict)
    uses: dict[str, str] = field(default_factory=dict)  # used LMP name -> version id
    bound_globals: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_meta(cls, meta: dict[str, Any], source: str, closure: str) -> Side:
        names = meta.get("uses_names") or []
        ids = meta.get("uses") or []
        return cls(
            name=str(meta.get("name", "")),
            kind=str(meta.get("kind", "simple")),
            source=source,
            closure=closure,
            model=meta.get("model"),
            api_params=dict(meta.get("api_params") or {}),
            uses={str(n): str(v) for n, v in zip(names, ids)},
            bound_globals=dict(meta.get("bound_globals") or {}),
        )


@dataclass(frozen=True)
class Message:
    subject: str
    bullets: tuple[str, ...]

    @property
    def body(self) -> str:
        return "\n".join(f"- {b}" for b in self.bullets)


def describe(old: Side | None, new: Side) -> Message:
    """The deterministic message: first version, or each kind of change in a stable order."""
    if old is None:
        return Message(_cut(f"Add {new.name} (first version)"), tuple(_first_facts(new)))
    prose: dict[str, tuple[str, str, str]] = {}
    changes = changes_between(old, new, prose)
    if not changes:
        return Message(_cut(f"Update {new.name}"), ("no visible change",))
    head = f"Update {new.name}: "
    # The subject is what a history list shows: every change as the body words it when that fits,
    # else what was edited; a prompt edit by its changed words, each side as long as the line allows.
    short = [_short_form(c) for c in changes]
    for forms, whole in ((changes, True), (short, False)):
        for side_max in PROSE_SIDES:
            parts = [f"{prose[c][0]}: {word_change(*prose[c][1:], 0, side_max=side_max)}" if c in prose else f
                     for c, f in zip(changes, forms)]
            subject = _subject(head, parts)
            worded = [p for p, c in zip(parts, changes) if c in prose]
            complete = subject == head + "; ".join(parts)
            if complete or not whole and subject.endswith(" more") and all(p in subject for p in worded):
                return Message(subject, tuple(changes))
    return Message(_subject(head, short), tuple(changes))


def _subject(head: str, parts: list[str]) -> str:
    """`head` + as many parts as fit in a subject line, then "and N more"."""
    for k in range(len(parts), 0, -1):
        rest = len(parts) - k
        s = head + "; ".join(parts[:k]) + (f"; and {rest} more" if rest else "")
        if len(s) <= SUBJECT_MAX:
            return s
    return _cut(head + parts[0])


def _short_form(change: str) -> str:
    # "system prompt 'a' → 'b'" is for the body; the subject only says what was edited.
    for what in ("system prompt", "docstring"):
        if change.startswith((what + " '", what + ": ")) and "→" in change:
            return what + " edited"
    if change.startswith("global ") and "→" in change:
        return " ".join(change.split(" ", 2)[:2]) + " edited"
    return change


def changes_between(old: Side, new: Side, prose: dict[str, tuple[str, str, str]] | None = None) -> list[str]:
    """What changed, one line each. `prose` gets, for a prompt edit's line, what was edited and its
    old and new text (a subject words it as tightly as the line needs)."""
    out: list[str] = []
    prompt_words = new.kind in ("simple", "complex", "lm")
    a, b = _defs(old), _defs(new)
    main = new.name.rsplit(".", 1)[-1]
    fa, fb = a.pop(main, None), b.pop(main, None)
    if fa is not None and fb is not None:
        if fa.doc != fb.doc:
            what = "system prompt" if prompt_words else "docstring"
            out.append(_edited(what, fa.doc, fb.doc, words=True))
            if prose is not None and fa.doc and fb.doc and out[-1].startswith(what + ": "):
                prose[out[-1]] = (what, fa.doc, fb.doc)
        if fa.body != fb.body:
            what = ("user prompt" if new.kind == "simple" else "messages") if prompt_words else "body"
            out.append(f"{what} edited")
        if fa.signature != fb.signature:
            out.append("parameters changed")
    if old.model != new.model:
        out.append(f"model {old.model or 'default'} → {new.model or 'default'}")
    for key in sorted(set(old.api_params) | set(new.api_params)):
        va, vb = old.api_params.get(key, _MISSING), new.api_params.get(key, _MISSING)
        if va == vb:
            continue
        if va is _MISSING:
            out.append(f"{key}={_short(vb)} added")
        elif vb is _MISSING:
            out.append(f"{key} removed")
        else:
            out.append(f"{key} {_short(va)} → {_short(vb)}")
    for name in sorted(set(a) | set(b)):
        da, db = a.get(name), b.get(name)
        label = "helper" if (db or da).kind == "def" else "global" if (db or da).kind == "var" else "import"
        if da is None:
            out.append(f"{label} {name} added")
        elif db is None:
            out.append(f"{label} {name} removed")
        elif da.dump != db.dump:
            out.append(_edited(f"{label} {name}", da.value, db.value, quote=False) if label == "global" else f"{label} {name} changed")
    for name in sorted(set(old.uses) | set(new.uses)):
        if name in a or name in b:
            continue  # already reported as a helper
        va, vb = old.uses.get(name), new.uses.get(name)
        if va is None:
            out.append(f"now uses {name}")
        elif vb is None:
            out.append(f"no longer uses {name}")
        elif va != vb:
            out.append(f"{name} changed")
    for key in sorted(set(old.bound_globals) | set(new.bound_globals)):
        if old.bound_globals.get(key, _MISSING) != new.bound_globals.get(key, _MISSING):
            out.append(f"global {key} value changed")
    if not out and old.closure != new.closure:
        out.append("code changed")
    return _dedupe(out)


def _first_facts(new: Side) -> list[str]:
    facts = [f"{new.kind} {new.name}"]
    if new.model:
        facts.append(f"model {new.model}")
    facts.extend(f"{k}={_short(v)}" for k, v in sorted(new.api_params.items()))
    facts.extend(f"uses {n}" for n in sorted(new.uses))
    return facts


# -- closure analysis -------------------------------------------------------------------------


class _MissingType:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _MissingType()


@dataclass(frozen=True)
class _Def:
    kind: str  # "def" | "var" | "import"
    dump: str
    doc: str | None = None
    body: str = ""
    signature: str = ""
    value: str | None = None


def _defs(side: Side) -> dict[str, _Def]:
    """Top-level definitions of the closure by name (falls back to the source)."""
    for text in (side.closure, side.source):
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        out: dict[str, _Def] = {}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                doc = ast.get_docstring(node, clean=True)
                body = node.body[1:] if doc is not None else node.body
                sig = ast.dump(node.args) if not isinstance(node, ast.ClassDef) else ""
                out[node.name] = _Def("def", ast.dump(node), doc, "\n".join(ast.dump(s) for s in body), sig)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = ast.unparse(node.value) if node.value is not None else ""
                for t in targets:
                    if isinstance(t, ast.Name):
                        out[t.id] = _Def("var", ast.dump(node.value) if node.value else "", value=value)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    out[alias.asname or alias.name] = _Def("import", ast.dump(node))
        return out
    return {}


#: A text up to this long is quoted whole in a message; a longer prompt by the words that changed.
QUOTE_MAX = 40
#: Each side of a word-level change is cut to this many characters.
SIDE_MAX = 60
#: A subject tries these side lengths for a prompt edit; shorter reads worse than "system prompt edited".
PROSE_SIDES = (SIDE_MAX, 40, 30, 24, 18)


def _edited(what: str, a: str | None, b: str | None, *, quote: bool = True, words: bool = False) -> str:
    if a is not None and b is not None and max(len(a), len(b)) <= QUOTE_MAX and "\n" not in a + b:
        return f"{what} {a!r} → {b!r}" if quote else f"{what} {a} → {b}"
    if a is None:
        return f"{what} added"
    if b is None:
        return f"{what} removed"
    change = word_change(a, b) if words else None
    return f"{what}: {change}" if change else f"{what} edited"


def word_change(a: str, b: str, context: int = 1, side_max: int = SIDE_MAX) -> str | None:
    """The first run of changed words with `context` words around it, each side bounded:
    ``"…into one category." → "…into exactly one category, lower-case."`` (+ "and N more edits").
    None when only whitespace changed."""
    wa, wb = a.split(), b.split()
    # edits a word apart read as one change: group them with one word of context, then keep `context`
    groups = list(difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_grouped_opcodes(max(context, 1)))
    if not groups:
        return None
    edits = [op for op in groups[0] if op[0] != "equal"]
    i1, i2 = max(edits[0][1] - context, 0), min(edits[-1][2] + context, len(wa))
    j1, j2 = max(edits[0][3] - context, 0), min(edits[-1][4] + context, len(wb))

    def side(words: list[str], lo: int, hi: int) -> str:
        text = ("…" if lo > 0 else "") + " ".join(words[lo:hi]) + ("…" if hi < len(words) else "")
        if len(text) > side_max:  # cut at a word: "…exactly one…", not "…exactly one ca…"
            cut = text[: side_max - 1]
            text = (cut.rsplit(" ", 1)[0] if " " in cut.strip("…") else cut).rstrip(" ,;:") + "…"
        return '"' + text + '"'

    more = len(groups) - 1
    tail = f" and {more} more edit{'s' * (more != 1)}" if more else ""
    return f"{side(wa, i1, i2)} → {side(wb, j1, j2)}{tail}"


def _short(v: Any) -> str:
    s = repr(v) if isinstance(v, str) else str(v)
    return s if len(s) <= 30 else s[:29] + "…"


def _cut(s: str) -> str:
    return s if len(s) <= SUBJECT_MAX else s[: SUBJECT_MAX - 1].rstrip() + "…"


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x in seen or seen.add(x))]


# -- the model-written message ----------------------------------------------------------------

_SYSTEM = (
    "You write git commit messages for changes to prompt programs (Python functions that call a "
    "language model). Reply with a subject line of at most 72 characters in the imperative mood, "
    "a blank line, then 1-5 short bullet lines starting with '- '. Say what changed in the prompt "
    "and why it matters; no code fences, no preamble."
)


def closure_diff(old: Side, new: Side, limit: int = 8000) -> str:
    diff = "".join(
        difflib.unified_diff(
            old.closure.splitlines(keepends=True), new.closure.splitlines(keepends=True), "before", "after"
        )
    )
    return diff if len(diff) <= limit else diff[:limit] + "\n… (diff cut)\n"


def model_message(
    old: Side, new: Side, fallback: Message, complete: Callable[..., str], model: str, timeout: float
) -> Message | None:
    """Ask `complete(model, system, user, timeout=)` for a message; None if unusable."""
    user = (
        f"Prompt program: {new.name}\nDetected changes: {'; '.join(fallback.bullets)}\n\n"
        f"Diff of the program's code:\n{closure_diff(old, new)}"
    )
    text = complete(model, _SYSTEM, user, timeout=timeout)
    msg = parse_model_reply(text)
    return msg if msg is not None and rejection(msg, str(text), user, old, new, fallback) is None else None


# A model's reply becomes the message only if it reads as a short summary of this change; anything
# else (an offline model's "Echo: ...", a refusal, the diff pasted back) would be a misleading record.
#: At most this many body lines, each at most LINE_MAX characters.
BODY_LINES = 6
LINE_MAX = 120
_OPENERS = re.compile(r"(echo|here(?:'s| is| are)|sure|certainly|okay|ok|i|i'm|as an|sorry|unfortunately|"
                      r"prompt program|detected changes|diff)\b", re.IGNORECASE)
_CODE_LINE = re.compile(r"^(@@|\+\+\+|---|diff --git|```|[+]\S|>>>|(def|class|return|import) )")
_OUR_HEADERS = ("Prompt program:", "Detected changes:", "Diff of the program's code:")
_WORD = re.compile(r"[a-z]{3,}|\d+(?:\.\d+)?")
_STOP = frozenset(
    "the and for with from into this that these now then than not but are was were its has have will "
    "update updated updates change changed changes edit edited edits make makes made use uses used new "
    "old code version more less some also".split()
)


def rejection(msg: Message, raw: str, request: str, old: Side, new: Side, fallback: Message) -> str | None:
    """Why `msg` (parsed from the model's `raw` reply to `request`) is not a summary of the change
    from `old` to `new`; None when it is. The rules:

    - one subject line of at most SUBJECT_MAX characters, not opening like a chat reply or an echo
      ("Echo:", "Sure", "Here is", "I ...", "Sorry");
    - not a copy of the request: no more than 60% of the subject is one run of the request's text,
      and none of the request's section headers appear;
    - at most BODY_LINES body lines of at most LINE_MAX characters, none of them code or diff lines;
    - it names something from the change: a word of the change list, of the changed lines, or of
      the program's name.
    """
    subject = msg.subject
    if len(subject) > SUBJECT_MAX:
        return "subject too long"
    if _OPENERS.match(subject):
        return "reads as a chat reply or an echo"
    if any(h in raw for h in _OUR_HEADERS):
        return "repeats the request"
    run = difflib.SequenceMatcher(None, subject.lower(), request.lower(), autojunk=False)
    longest = run.find_longest_match(0, len(subject), 0, len(request)).size
    if longest >= 16 and longest >= 0.6 * len(subject):
        return "repeats the request"
    body = [ln for ln in str(raw).strip().strip("`").splitlines() if ln.strip()][1:]
    if len(body) > BODY_LINES or any(len(ln.strip()) > LINE_MAX for ln in body):
        return "too long for a summary"
    if any(_CODE_LINE.match(ln.strip()) for ln in body):
        return "holds code or a diff"
    changed = [ln[1:] for ln in closure_diff(old, new).splitlines()
               if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    vocabulary = _words(" ".join([*fallback.bullets, *changed, new.name.replace(".", " ").replace("_", " ")]))
    if not _words(" ".join([subject, *msg.bullets])) & vocabulary:
        return "names nothing from the change"
    return None


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def parse_model_reply(text: str) -> Message | None:
    lines = [ln.rstrip() for ln in str(text or "").strip().strip("`").splitlines()]
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return None
    subject = lines[0].strip().lstrip("#").strip().strip("\"'")
    if subject.lower().startswith("subject:"):
        subject = subject[8:].strip()
    if not subject:
        return None
    bullets = tuple(b for b in (ln.strip().lstrip("-*• ").strip() for ln in lines[1:]) if b)
    # never let the model forge our trailers, even as a bullet; a long subject is refused, not cut (`rejection`)
    return Message(subject, tuple(b for b in bullets if not b.lower().startswith("ell-")))
