"""The web UI's only door to the repository: `ell_git.Reader`, behind a lock, as plain dicts.

Views get JSON-ready dicts from here and hand the same dicts to templates and to `.json` twins,
so both always show the same data. Reader errors for unknown names/ids become `NotFound`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, TypeVar

from ell_git import masking
from ell_git.errors import InvalidShareSetting
from ell_git.errors import NotFound as ReaderNotFound

T = TypeVar("T")


class NotFound(LookupError):
    """An LMP, version or invocation that the repository does not have."""


def plain(obj: Any) -> Any:
    """Reader results (dataclasses with `to_json()`, lists of them, dicts) as plain JSON data."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    to_json = getattr(obj, "to_json", None)
    if callable(to_json):
        return to_json()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


class Data:
    """One Reader shared by all requests (`ell_git.Reader` is thread-safe: one SQLite
    connection behind its own lock), with its "unknown name/id" error mapped to `NotFound`."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        repo = getattr(reader, "repo", None)
        if repo is not None:  # this repository's `git config ell.allow` / `ell.redact` apply to masking too
            from ell_git.secrets import policy_for

            policy_for(repo)

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except ReaderNotFound as exc:
            raise NotFound(str(exc)) from exc

    # -- the reader's API, one method each ------------------------------------------------
    def state_token(self) -> str:
        return str(self._call(self.reader.state_token))

    def lmps(self) -> list[dict[str, Any]]:
        return plain(self._call(self.reader.lmps))

    def lmp_page(self, q: str | None, limit: int, offset: int) -> dict[str, Any]:
        """One page of LMPs by name (`ell_git.Reader.lmp_page`)."""
        return plain(self._call(self.reader.lmp_page, q, limit, offset))

    def lmp_names(self) -> list[str]:
        """Every LMP name, sorted (cached by the reader until something changes)."""
        return list(self._call(self.reader.lmp_names))

    def running(self, names: list[str] | None = None) -> dict[str, Any]:
        """LMP name -> the older version its newest calls run (after a revert), and since when;
        `names`: only these LMPs."""
        if names is None:
            return plain(self._call(self.reader.running))
        return plain(self._call(self.reader.running, names))

    def versions(self, name: str) -> list[dict[str, Any]]:
        return plain(self._call(self.reader.versions, name))

    # Stored text is shown through `masking`: secrets recorded before redaction never reach a screen.
    def version(self, name: str, ref: str) -> dict[str, Any]:
        return masking.version(plain(self._call(self.reader.version, name, ref)))

    def diff(self, name: str, a: str, b: str) -> dict[str, Any]:
        return masking.diff(plain(self._call(self.reader.diff, name, a, b)))

    def invocations(self, **filters: Any) -> dict[str, Any]:
        """A page of invocations, with the `offset` it starts at: past the end, the last page
        (an old link to page 1,000 of a list that shrank, or a page number typed by hand)."""
        feedback = filters.pop("feedback", None)
        read = (lambda **f: self.reader.notes.invocations_with_feedback(feedback, **f)) if feedback else self.reader.invocations
        found = plain(self._call(read, **filters))
        offset, limit = filters.get("offset") or 0, filters.get("limit") or 50
        if not found["items"] and offset >= found["total"] > 0 and not found.get("total_capped"):
            offset = (found["total"] - 1) // limit * limit
            found = plain(self._call(read, **{**filters, "offset": offset}))
        return {**masking.page(found), "offset": offset}

    def version_numbers(self, names: set[str]) -> dict[str, int]:
        """version id → vN for the LMPs on a page."""
        return dict(self._call(self.reader.version_numbers, names)) if names else {}

    def invocation(self, inv_id: str) -> dict[str, Any]:
        return masking.invocation(plain(self._call(self.reader.invocation, inv_id)))

    # What calls cost (ell_git.costs, priced when read).
    def cost(self, name: str | None = None, version: str | None = None) -> dict[str, Any] | None:
        return plain(self._call(self.reader.cost, name, version))

    def costs_by_lmp(self) -> dict[str, Any]:
        return plain(self._call(self.reader.costs_by_lmp))

    def costs_by_version(self, name: str) -> dict[str, Any]:
        return plain(self._call(self.reader.costs_by_version, name))

    def cost_of(self, invocation_ids: list[str]) -> dict[str, Any] | None:
        return plain(self._call(self.reader.cost_of, invocation_ids))

    # Per-version evaluation means and thumbs (LMP page's "did it get better"); none for other readers.
    def version_scores(self, name: str) -> dict[str, dict[str, float]]:
        fn = getattr(getattr(self.reader, "evals", None), "version_scores", None)
        return plain(self._call(fn, name)) if callable(fn) else {}

    def version_feedback(self, name: str) -> dict[str, dict[str, int]]:
        fn = getattr(getattr(self.reader, "notes", None), "feedback_index", None)
        return plain(self._call(fn).by_version(name)) if callable(fn) else {}

    def version_progress(self, name: str, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(`version_scores`, `version_feedback`) of `name`, kept while the state token is `token`:
        both scans list every ref, and live polls of the LMP page ask again and again."""
        memo: dict[tuple[str, str], Any] = self.__dict__.setdefault("_progress_memo", {})
        hit = memo.get((token, name))
        if hit is None:
            if len(memo) > 256:
                memo.clear()
            hit = memo[(token, name)] = (self.version_scores(name), self.version_feedback(name))
        return hit

    def stats(self, name: str, version: str | None = None) -> dict[str, Any]:
        return plain(self._call(self.reader.stats, name, version=version))

    def problems(self) -> dict[str, Any]:
        """What the reader skipped as unreadable (`ell_git.Reader.problems`): a count and a summary line."""
        return plain(self.reader.problems())

    def sharing(self) -> dict[str, Any]:
        """What this clone shares with remotes (``git config ell.share``): parts, and a note when
        some are kept local (None otherwise)."""
        from ell_git.share import PARTS, describe, shared_parts

        repo = getattr(self.reader, "repo", None)
        if repo is None:
            return {"shared": list(PARTS), "not_shared": [], "note": None}
        try:
            parts = shared_parts(repo)
        except InvalidShareSetting as exc:  # ell push refuses with this same sentence
            return {"shared": [], "not_shared": [], "note": str(exc)}
        return {"shared": [p for p in PARTS if p in parts], "not_shared": [p for p in PARTS if p not in parts],
                "note": describe(parts)}
