"""What sync shares with git remotes: the ref namespaces and refspecs, what one pull/push/sync did
(`SyncReport`) and how it fails (`SyncError`)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

#: Where fetched refs live; `refs/ell/remotes/<remote>/{lmp,inv,eval,notes}/...`.
TRACKING_PREFIX = "refs/ell/remotes/"
#: Histories merged on pull (a version is a commit, so the union of histories is the union of versions).
MERGED_NAMESPACES = ("lmp", "eval")
#: Per-writer refs: fetched, never merged (nobody else writes them, so they never diverge).
FETCHED_NAMESPACES = ("inv",)
#: Not forced: a push must never drop history from the remote; divergence is resolved by `sync`.
#: Only this clone's own `refs/ell/inv/*` match (tracking copies live under refs/ell/remotes/).
PUSH_REFSPECS = (
    "refs/ell/lmp/*:refs/ell/lmp/*",
    "refs/ell/eval/*:refs/ell/eval/*",
    "refs/ell/inv/*:refs/ell/inv/*",
    "refs/notes/ell*:refs/notes/ell*",
)


def fetch_refspecs(remote: str) -> list[str]:
    """Forced refspecs that copy a remote's ell refs into our tracking namespace for `remote`.

    Sub-namespaces are listed one by one (never `refs/ell/*`) so a remote that is itself a clone does not
    hand us its own `refs/ell/remotes/*`. Tracking notes live under refs/ell/, not refs/notes/, so the
    `refs/notes/ell*` glob can never match them either.
    """
    specs = [f"+refs/ell/{ns}/*:{TRACKING_PREFIX}{remote}/{ns}/*" for ns in (*MERGED_NAMESPACES, *FETCHED_NAMESPACES)]
    return specs + [f"+refs/notes/ell*:{TRACKING_PREFIX}{remote}/notes/ell*"]


@dataclass
class SyncReport:
    """What one pull/push/sync did. Dict keys are full local ref names (pushes: remote ref names)."""

    remote: str
    lmp: dict[str, str] = field(default_factory=dict)  # new | same | ahead | fast-forward | merged
    eval: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    inv_fetched: int = 0  # invocation refs that were new or moved on the remote
    pushed: dict[str, str] = field(default_factory=dict)  # new | updated (refs already up to date omitted)
    steps: list[str] = field(default_factory=list)  # "pull", "push" in the order they ran
    refused: dict[str, str] = field(default_factory=dict)  # fetched ref -> why it was not merged (bad data)
    bad_records: dict[str, str] = field(default_factory=dict)  # fetched invocation ref -> "N × problem" (skipped)

    @property
    def notes_merged(self) -> int:
        return sum(1 for o in self.notes.values() if o in ("new", "fast-forward", "merged"))

    @property
    def summary(self) -> str:
        parts = []
        for label, outcomes in (("LMP", self.lmp), ("eval", self.eval)):
            counts = Counter(o for o in outcomes.values() if o not in ("same", "ahead"))
            if counts:
                parts.append(f"{label} refs: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())))
        if self.inv_fetched:
            parts.append(f"{self.inv_fetched} invocation ref{'s' * (self.inv_fetched != 1)} fetched")
        if self.notes_merged:
            parts.append(f"{self.notes_merged} notes ref{'s' * (self.notes_merged != 1)} merged")
        if self.pushed:
            parts.append(f"{len(self.pushed)} ref{'s' * (len(self.pushed) != 1)} pushed")
        if self.refused:
            parts.append(f"{len(self.refused)} fetched ref{'s' * (len(self.refused) != 1)} not merged, nor pushed over "
                         "(bad data: " + "; ".join(f"{r}: {why}" for r, why in sorted(self.refused.items())[:3])
                         + "; it is repaired in the clone that pushed it)")
        if self.bad_records:
            n = sum(int(v.split(" ", 1)[0]) for v in self.bad_records.values())
            parts.append(f"{n} fetched record{'s' * (n != 1)} are not the storage format (skipped by readers; "
                         "`ell doctor` names them)")
        return f"{self.remote}: " + ("; ".join(parts) if parts else "already in sync")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "notes_merged": self.notes_merged, "summary": self.summary}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def _note(self, table: dict[str, str], ref: str, outcome: str) -> None:
        # A retried pull reports "same" for what the first one merged: keep the informative outcome.
        if table.get(ref) in (None, "same", "ahead"):
            table[ref] = outcome
