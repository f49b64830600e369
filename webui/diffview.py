"""Unified diff text → rows for the unified and the side-by-side views.

The reader gives diffs as unified text (what `git diff` prints); pages need line numbers and,
for side-by-side, deletions paired with the additions that replaced them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")


@dataclass
class Line:
    kind: str  # "ctx" | "add" | "del" | "note"
    text: str
    old: int | None = None
    new: int | None = None


@dataclass
class Hunk:
    header: str
    lines: list[Line] = field(default_factory=list)

    def side_by_side(self) -> list[tuple[Line | None, Line | None]]:
        """(left, right) rows: context on both sides, a run of deletions next to the additions after it."""
        rows: list[tuple[Line | None, Line | None]] = []
        dels: list[Line] = []
        adds: list[Line] = []

        def flush() -> None:
            for i in range(max(len(dels), len(adds))):
                rows.append((dels[i] if i < len(dels) else None, adds[i] if i < len(adds) else None))
            dels.clear()
            adds.clear()

        for line in self.lines:
            if line.kind == "del":
                if adds:  # a deletion after additions starts a new change block
                    flush()
                dels.append(line)
            elif line.kind == "add":
                adds.append(line)
            else:
                flush()
                rows.append((line, line) if line.kind == "ctx" else (line, None))
        flush()
        return rows


@dataclass
class FileDiff:
    old_path: str
    new_path: str
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(1 for h in self.hunks for line in h.lines if line.kind == "add")

    @property
    def removed(self) -> int:
        return sum(1 for h in self.hunks for line in h.lines if line.kind == "del")


def parse(text: str | None, default_path: str = "") -> list[FileDiff]:
    """Parse unified diff text (one or more files). Unknown lines are kept as notes, never dropped."""
    files: list[FileDiff] = []
    cur: FileDiff | None = None
    hunk: Hunk | None = None
    old_no = new_no = 0
    for raw in (text or "").splitlines():
        if raw.startswith("diff --git") or raw.startswith("index "):
            continue
        if raw.startswith("--- ") and (hunk is None or _hunk_done(hunk, raw)):
            cur = FileDiff(_path(raw[4:]), _path(raw[4:]))
            files.append(cur)
            hunk = None
            continue
        if raw.startswith("+++ ") and cur is not None and hunk is None:
            cur.new_path = _path(raw[4:])
            continue
        m = _HUNK.match(raw)
        if m:
            if cur is None:
                cur = FileDiff(default_path, default_path)
                files.append(cur)
            old_no, new_no = int(m.group(1)), int(m.group(3))
            hunk = Hunk(raw)
            cur.hunks.append(hunk)
            continue
        if hunk is None:
            continue
        if raw.startswith("+"):
            hunk.lines.append(Line("add", raw[1:], new=new_no))
            new_no += 1
        elif raw.startswith("-"):
            hunk.lines.append(Line("del", raw[1:], old=old_no))
            old_no += 1
        elif raw.startswith("\\"):
            hunk.lines.append(Line("note", raw))
        else:
            hunk.lines.append(Line("ctx", raw[1:] if raw.startswith(" ") else raw, old=old_no, new=new_no))
            old_no += 1
            new_no += 1
    return files


def _hunk_done(hunk: Hunk, raw: str) -> bool:
    # "--- " inside a hunk is a deleted line starting with "-- "; a new file header only follows
    # a hunk when the next line is "+++ ". We cannot look ahead here, so treat "--- a/" or
    # "--- /dev/null" as headers and anything else as content.
    rest = raw[4:]
    return rest.startswith(("a/", "/dev/null", "b/"))


def _path(s: str) -> str:
    s = s.split("\t", 1)[0].strip()
    return s[2:] if s.startswith(("a/", "b/")) else s
