"""Version ids: content hashes of closures, with uses edges and cycles handled deterministically.

The recipe (``FORMAT`` 1)::

    payload = {"format": 1, "name": <module.qualname>, "closure": <normalised closure text>,
               "uses": <sorted version ids of the LMPs it uses>}
    version_id = "lmp-" + sha256(orjson.dumps(payload, OPT_SORT_KEYS)).hexdigest()[:16]

The name is part of it so that identical code in two modules keeps two histories. LMPs that call
each other (a cycle in the uses graph) cannot include each other's ids; for every member of such a
strongly connected component the payload gets ``"cycle"``: the sha256 of the sorted list of
``[name, closure, sorted ids of uses outside the cycle]`` of all members, and ``"uses"`` lists only
the ids outside the cycle. Each member's id then depends on the whole cycle and on nothing about
the order in which it was reached.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Sequence

import orjson

__all__ = ["FORMAT", "version_id", "cycle_digest", "strongly_connected"]

#: Bumped whenever the recipe or the closure text format changes (ids change with it).
FORMAT = 1

_OPTIONS = orjson.OPT_SORT_KEYS


def _digest(payload: object) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=_OPTIONS)).hexdigest()


def version_id(name: str, closure: str, uses: Iterable[str], cycle: str | None = None) -> str:
    """``lmp-<16 hex>`` for a closure and the ids it uses (see the module docstring)."""
    payload: dict[str, object] = {"format": FORMAT, "name": name, "closure": closure, "uses": sorted(uses)}
    if cycle is not None:
        payload["cycle"] = cycle
    return "lmp-" + _digest(payload)[:16]


def cycle_digest(members: Iterable[tuple[str, str, Sequence[str]]]) -> str:
    """The digest of a cycle of LMPs from each member's (name, closure, outside uses ids)."""
    return _digest(sorted([name, closure, sorted(uses)] for name, closure, uses in members))


def strongly_connected(nodes: Sequence[int], edges: dict[int, list[int]]) -> list[list[int]]:
    """Tarjan's algorithm, iteratively (no recursion limit). Components come out callees-first."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = edges.get(node, [])
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == node:
                        break
                out.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out
