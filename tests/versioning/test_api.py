"""The public surface of ell.versioning: names, contract attributes, threads, per-call cost."""

from __future__ import annotations

import dataclasses
import re
import threading
import time

import ell
import ell.versioning as versioning
from ell.versioning import VersionInfo, compute_version, qualified_name, snapshot_globals


def test_public_names_are_exactly_these():
    assert sorted(versioning.__all__) == sorted(
        ["FORMAT", "VersionInfo", "compute_version", "normalize", "qualified_name", "snapshot_globals"]
    )
    for name in versioning.__all__:
        assert getattr(versioning, name) is not None


def test_version_info_fields_are_the_contract():
    fields = [f.name for f in dataclasses.fields(VersionInfo)]
    assert fields == ["version_id", "name", "kind", "source", "closure", "uses", "uses_names",
                      "mutable_globals", "bound_globals", "packages", "warnings"]
    assert VersionInfo.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_qualified_name_is_cheap_and_maps_main(monkeypatch):
    def f():
        pass

    assert qualified_name(f) == f"{__name__}.test_qualified_name_is_cheap_and_maps_main.<locals>.f"
    f.__module__ = "__main__"
    import sys

    main = sys.modules["__main__"]
    monkeypatch.setattr(main, "__spec__", None, raising=False)
    monkeypatch.setattr(main, "__file__", "/somewhere/my_script.py", raising=False)
    assert qualified_name(f).startswith("my_script.")
    t0 = time.perf_counter()
    for _ in range(1000):
        qualified_name(f)
    assert (time.perf_counter() - t0) / 1000 < 50e-6


def test_wrapper_attributes_after_versioning(project):
    m = project.load({"prompts.py": '''
        import ell

        @ell.simple(model="m")
        def b():
            return "b"

        @ell.simple(model="m")
        def a():
            return b() + c()

        @ell.simple(model="m")
        def c():
            return "c"
    '''}, "prompts")
    info = compute_version(m.a)
    assert re.fullmatch(r"lmp-[0-9a-f]{16}", info.version_id)
    assert m.a.__ell_version__ is info and m.a.__ell_hash__ == info.version_id
    assert m.a.__ell_uses__ == (m.b, m.c)  # ordered by name
    assert list(info.uses) == sorted(info.uses) and len(info.uses_names) == 2
    assert dict(zip(info.uses, info.uses_names)) == {ell.version_of(m.b): "prompts.b", ell.version_of(m.c): "prompts.c"}
    assert compute_version(m.a) is info  # cached


def test_concurrent_first_calls_agree(project):
    src = "import ell\n" + "".join(
        f"\n@ell.simple(model='m')\ndef p{i}(x: str):\n    return f'{i} {{x}}' + p{(i + 1) % 20}('y')\n"
        for i in range(20)
    )
    m = project.load({"prompts.py": src}, "prompts")
    results: list[dict[str, str]] = []

    def work(order: list[int]) -> None:
        results.append({f"p{i}": compute_version(getattr(m, f"p{i}")).version_id for i in order})

    threads = [threading.Thread(target=work, args=(list(range(20))[::step],)) for step in (1, -1, 1, -1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r == {k: results[0][k] for k in r} for r in results)
    fresh = project.load({"prompts.py": src}, "prompts")
    assert ell.version_of(fresh.p7) == results[0]["p7"]  # one big cycle, entered anywhere


def test_snapshot_is_microseconds(project):
    m = project.load({"prompts.py": '''
        import ell
        HISTORY = [1, 2, 3]
        SETTINGS = {"a": 1}
        BIG = list(range(100_000))

        @ell.simple(model="m")
        def p():
            return str(HISTORY) + str(SETTINGS) + str(len(BIG))
    '''}, "prompts")
    assert compute_version(m.p).mutable_globals == ("BIG", "HISTORY", "SETTINGS")
    snap = snapshot_globals(m.p)
    assert snap["BIG"] is m.BIG  # big containers go by reference (serialised later by the store)
    assert snap["HISTORY"] == [1, 2, 3] and snap["HISTORY"] is not m.HISTORY
    n = 20_000
    t0 = time.perf_counter()
    for _ in range(n):
        snapshot_globals(m.p)
    per_call = (time.perf_counter() - t0) / n
    assert per_call < 20e-6, f"{per_call * 1e6:.1f} µs per snapshot"
