"""Double-blind comparison of two runs' outputs on the same inputs (the logic behind `/blind`).

Each pair (same datapoint and sample in runs `a` and `b`) is shown as "1" and "2" in an order drawn
from a per-process secret, so neither the page, its JSON, nor the vote form says which run (version)
wrote which output; the server recomputes the order when a vote comes back. A vote is stored as
feedback on both invocations (source "blind": +1 the winner, -1 the other, 0 both for a tie, each
naming the other in `labels.against`), so it also counts in exports and feedback filters. Who won is
revealed only once every pair is voted.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Optional

PICKS = ("1", "2", "tie")


def pairs(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    """The comparable rows: both runs have an output from a recorded invocation."""
    return [r for r in comparison["rows"] if r["a"] and r["b"] and r["a"].get("invocation_id")
            and r["b"].get("invocation_id") and not r["a"].get("errors", {}).get("output")
            and not r["b"].get("errors", {}).get("output")]


def a_first(secret: bytes, a: str, b: str, key: str, sample: int) -> bool:
    """Whether run `a`'s output is shown as "1" for this pair (stable for the process)."""
    return hmac.new(secret, f"{a}|{b}|{key}|{sample}".encode(), hashlib.sha256).digest()[0] & 1 == 0


def shown(secret: bytes, comparison: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """One pair as the page shows it: the input and outputs "1" and "2", nothing that identifies a run."""
    ra, rb = comparison["a"]["id"], comparison["b"]["id"]
    first, second = (row["a"], row["b"]) if a_first(secret, ra, rb, row["key"], row["sample"]) else (row["b"], row["a"])
    return {"key": row["key"], "sample": row["sample"], "index": row["index"], "input": row["input"],
            "outputs": {"1": first["output"], "2": second["output"]}}


def vote_of(feedback_index: Any, writer: str, inv_a: str, inv_b: str) -> Optional[str]:
    """This writer's latest blind vote on the pair: "a", "b", "tie", or None."""
    newest: Optional[tuple[float, str]] = None
    for inv, other, side in ((inv_a, inv_b, "a"), (inv_b, inv_a, "b")):
        for e in feedback_index.by_inv.get(inv, []):
            labels = e.get("labels") or {}
            if e.get("source") == "blind" and e.get("by") == writer and labels.get("against") == other:
                outcome = labels.get("blind")
                result = "tie" if outcome == "tie" else (side if outcome == "win" else None)
                if result and (newest is None or (e.get("t") or 0) >= newest[0]):
                    newest = (e.get("t") or 0, result)
    return newest[1] if newest else None


def state(secret: bytes, comparison: dict[str, Any], feedback_index: Any, writer: str) -> dict[str, Any]:
    """Progress, the next unvoted pair (shown blind), and the tally once every pair is voted."""
    rows = pairs(comparison)
    votes = [vote_of(feedback_index, writer, r["a"]["invocation_id"], r["b"]["invocation_id"]) for r in rows]
    pending = [r for r, v in zip(rows, votes) if v is None]
    done = not pending and bool(rows)
    tally = None
    if done:
        tally = {"a": votes.count("a"), "b": votes.count("b"), "tie": votes.count("tie")}
    return {"total": len(rows), "voted": len(rows) - len(pending),
            "item": shown(secret, comparison, pending[0]) if pending else None, "done": done, "tally": tally}


def ballots(secret: bytes, comparison: dict[str, Any], key: str, sample: int, pick: str,
            name: str) -> list[dict[str, Any]]:
    """The two feedback entries (target, score, labels) a vote on one pair makes."""
    if pick not in PICKS:
        raise ValueError(f"pick one of {', '.join(PICKS)}")
    row = next((r for r in pairs(comparison) if r["key"] == key and r["sample"] == sample), None)
    if row is None:
        raise LookupError("that pair is not in these two runs")
    ra, rb = comparison["a"]["id"], comparison["b"]["id"]
    ia, ib = row["a"]["invocation_id"], row["b"]["invocation_id"]
    if pick == "tie":
        outcome = {ia: ("tie", 0.0), ib: ("tie", 0.0)}
    else:
        a_wins = (pick == "1") == a_first(secret, ra, rb, key, sample)
        outcome = {ia: ("win", 1.0) if a_wins else ("loss", -1.0), ib: ("loss", -1.0) if a_wins else ("win", 1.0)}
    other = {ia: ib, ib: ia}
    return [{"invocation": inv, "score": score,
             "labels": {"blind": result, "against": other[inv], "eval": name, "runs": [ra, rb]}}
            for inv, (result, score) in outcome.items()]
