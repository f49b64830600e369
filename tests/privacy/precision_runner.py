"""Runs one program as `python precision_runner.py PROGRAM.py` would run it, and prints what
redaction did to it as the last line of stdout: ``PRECISION {"hidden": {label: n}, "records": n}``.

A program that records nowhere (``ell.init()`` without a store, or no `init` at all) records into an
`ell.MemoryStore` here, through the public `ell.init`, so that every call it makes goes through
redaction; its records are then serialised as a store would write them and searched for
placeholders. Nothing else about the program changes.
"""

from __future__ import annotations

import atexit
import json
import os
import runpy
import sys

import ell
import ell.redaction

_init = ell.init
_memory = ell.MemoryStore()


def _init_with_a_store(*args, **kwargs):  # type: ignore[no-untyped-def]
    if (args[0] if args else kwargs.get("store")) is None:
        kwargs["store"] = _memory
        args = args[1:]
    return _init(*args, **kwargs)


def _report() -> None:
    from ell.records import version_to_dict
    from ell.serialize import dumps

    data = b"".join(dumps(vars(inv)) for inv in _memory.invocations)
    data += b"".join(dumps(version_to_dict(v)) + v.source.encode() + v.closure.encode()
                     for v in _memory.versions.values())
    store = ell.get_store()
    print("PRECISION " + json.dumps({"hidden": ell.redaction.counts(), "records": len(_memory.invocations),
                                     "placeholders_in_memory": data.count(b"<redacted:"),
                                     "store": type(store).__name__ if store is not None else None}), flush=True)


if __name__ == "__main__":
    ell.init = _init_with_a_store
    _init(store=_memory)
    atexit.register(_report)
    program = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(program)))
    runpy.run_path(program, run_name="__main__")
