"""Generate a large ell-git repository fast, for reader benchmarks.

    python bench/gen_repo.py /tmp/big --versions 1000 --invocations 1000000

Objects are streamed to ``git fast-import`` (one pack, no per-object files). Messages, trailers,
segment paths and line format come from ``ell_git`` itself, so the result is exactly what the
store writes: LMP refs with one commit per version, and writer refs whose commits each add one
batch of segments (1,000 invocations over a few versions, like a process that runs a few LMPs).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ell.records import FORMAT_VERSION, VersionRecord, cache_key, version_to_dict  # noqa: E402
from ell_git import autocommit, layout, refs  # noqa: E402
from ell_git.versions import message_text, side_of, trailers  # noqa: E402

T0 = 1_735_689_600.0  # 2025-01-01 UTC
IDENT = "ell <ell@localhost>"


def _data(out: IO[bytes], payload: bytes) -> None:
    out.write(b"data %d\n" % len(payload))
    out.write(payload)
    out.write(b"\n")


def _versions(n_versions: int, per_lmp: int, rng: random.Random) -> list[VersionRecord]:
    out: list[VersionRecord] = []
    n_lmps = max(1, n_versions // per_lmp)
    for i in range(n_versions):
        lmp, k = i % n_lmps, i // n_lmps
        name = f"app.prompts_{lmp // 10}.lmp_{lmp}"
        doc = f"You are assistant {lmp}, revision {k}. Answer briefly."
        closure = (f"import ell\n\n@ell.simple(model='gpt-4o-mini', temperature={0.1 * (k % 10):.1f})\n"
                   f"def lmp_{lmp}(question: str):\n    {doc!r}\n    return f'Q{k}: {{question}}'\n")
        uses = {}
        if lmp > 0 and k % 3 == 0:
            dep = rng.randrange(lmp)
            uses[f"app.prompts_{dep // 10}.lmp_{dep}"] = f"lmp-{hashlib.sha1(str(dep).encode()).hexdigest()[:16]}"
        out.append(VersionRecord(
            version_id="lmp-" + hashlib.sha256(closure.encode()).hexdigest()[:16], name=name, kind="simple",
            source=closure.split("\n\n", 1)[1], closure=closure, uses=tuple(uses.values()),
            uses_names=tuple(uses), model="gpt-4o-mini", api_params={"temperature": round(0.1 * (k % 10), 1)},
            created_at=T0 + i * 60,
        ))
    return out


def _write_versions(out: IO[bytes], versions: list[VersionRecord], mark: list[int]) -> None:
    last: dict[str, tuple[int, VersionRecord]] = {}
    for v in sorted(versions, key=lambda v: v.created_at):
        blobs = {}
        meta = orjson.dumps(version_to_dict(v), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"
        for fname, data in (("source.py", v.source.encode()), ("closure.py", v.closure.encode()), ("meta.json", meta)):
            mark[0] += 1
            out.write(b"blob\nmark :%d\n" % mark[0])
            _data(out, data)
            blobs[fname] = mark[0]
        prev = last.get(v.name)
        msg = autocommit.describe(side_of(prev[1]) if prev else None, side_of(v))
        text = message_text(msg, trailers(v, "none", "deterministic"))
        mark[0] += 1
        t = int(v.created_at)
        out.write(b"commit %s\nmark :%d\n" % (refs.lmp_ref(v.name).encode(), mark[0]))
        out.write(b"author %s %d +0000\ncommitter %s %d +0000\n" % (IDENT.encode(), t, IDENT.encode(), t))
        _data(out, text.encode())
        if prev:
            out.write(b"from :%d\n" % prev[0])
        for fname, m in blobs.items():
            out.write(b"M 100644 :%d %s\n" % (m, fname.encode()))
        out.write(b"\n")
        last[v.name] = (mark[0], v)


def _line(v: VersionRecord, i: int, started: float, rng: random.Random) -> bytes:
    q = f"question number {i} about topic {i % 97}"
    args = {"question": q}
    d = {
        "api_params": dict(v.api_params), "args": args, "bound_globals": {}, "cached": False, "error": None,
        "format": FORMAT_VERSION, "id": f"inv-{hashlib.md5(str(i).encode()).hexdigest()}",
        "latency_ms": round(rng.lognormvariate(6.0, 0.6), 3), "lmp_name": v.name,
        "messages": [{"content": [{"text": "You are a helpful assistant."}], "role": "system"},
                     {"content": [{"text": q}], "role": "user"}],
        "model": v.model, "origin_ids": [], "outputs": [{"content": [{"text": f"An answer to {q}."}], "role": "assistant"}],
        "parent_id": None, "started_at": started, "usage": {"completion_tokens": 20 + i % 50, "prompt_tokens": 30,
                                                              "total_tokens": 50 + i % 50},
        "version_id": v.version_id,
    }
    d["cache_key"] = cache_key(v.version_id, layout.canonical(args), layout.canonical({}))
    return layout.canonical(d)


def _write_invocations(out: IO[bytes], versions: list[VersionRecord], n: int, batch: int, writers: int,
                       rng: random.Random, mark: list[int]) -> None:
    weights = [1.0 / (1 + (k % 50)) for k in range(len(versions))]  # a few versions get most calls
    tips: dict[str, int] = {}
    span = 30 * 86400
    done = 0
    b = 0
    while done < n:
        size = min(batch, n - done)
        chosen = rng.choices(versions, weights, k=3)
        t_batch = T0 + span * done / n
        lines: list[tuple[str, bytes]] = []
        for j in range(size):
            v = chosen[j % 3]
            lines.append((v.version_id, _line(v, done + j, t_batch + j * 0.01, rng)))
        batch_id = f"{b:016x}"
        groups: dict[str, list[bytes]] = {}
        for vid, line in lines:
            groups.setdefault(vid, []).append(line)
        writer = f"gen{b % writers:09d}"
        ref = refs.inv_ref(writer)
        files = []
        for vid, chunk in groups.items():
            mark[0] += 1
            out.write(b"blob\nmark :%d\n" % mark[0])
            _data(out, b"\n".join(chunk) + b"\n")
            files.append((layout.segment_path(t_batch, vid, batch_id), mark[0]))
        mark[0] += 1
        t = int(t_batch)
        out.write(b"commit %s\nmark :%d\n" % (ref.encode(), mark[0]))
        out.write(b"author %s %d +0000\ncommitter %s %d +0000\n" % (IDENT.encode(), t, IDENT.encode(), t))
        _data(out, f"Record {size} invocations\n\nEll-Batch: {batch_id}\nEll-Writer: {writer}\nEll-Format: 1\n".encode())
        if ref in tips:
            out.write(b"from :%d\n" % tips[ref])
        for path, m in files:
            out.write(b"M 100644 :%d %s\n" % (m, path.encode()))
        out.write(b"\n")
        tips[ref] = mark[0]
        done += size
        b += 1


def generate(path: str | Path, n_versions: int = 1000, n_invocations: int = 1_000_000, *, versions_per_lmp: int = 10,
             batch: int = 1000, writers: int = 4, seed: int = 7) -> Path:
    """Create (or add to) a repository at `path` holding the given numbers of versions and invocations."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    rng = random.Random(seed)
    versions = _versions(n_versions, versions_per_lmp, rng)
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=path, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    mark = [0]
    _write_versions(proc.stdin, versions, mark)
    _write_invocations(proc.stdin, versions, n_invocations, batch, writers, rng, mark)
    proc.stdin.write(b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--versions", type=int, default=1000)
    ap.add_argument("--invocations", type=int, default=1_000_000)
    args = ap.parse_args()
    t = time.perf_counter()
    generate(args.path, args.versions, args.invocations)
    print(f"generated {args.versions} versions, {args.invocations} invocations in {time.perf_counter() - t:.1f}s")


if __name__ == "__main__":
    main()
