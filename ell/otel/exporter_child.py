"""The span exporter process (``python -m ell.otel.exporter_child``), started by `shipping.ChildSink`.

Input: frames (`shipping.HEADER` + a pickle) from the program: ``("r", resource attributes,
schema url)`` first, then ``("s", [plain span, ...])`` and ``("f", token, timeout)``. Each span
goes to the SDK's BatchSpanProcessor with the OTLP exporter configured from the environment
(`setup.exporter_from_env`), behind `setup.Guarded`. Output: ``a0`` / ``a1`` when the program should
hold spans back or go on, ``w`` + a warning, ``f`` + token + ``1``/``0`` for a flush. At the end of
input (the program ended, however it ended) it exports what it holds and exits.
"""

from __future__ import annotations

import os
import pickle
import select
import sys


def main() -> None:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from . import setup, shipping

    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # anything else printed goes to the program's error output, not into the replies
    sys.stdout = sys.stderr

    def say(line: bytes) -> None:
        try:
            out.write(line + b"\n")  # one short write: whole even from the processor's thread
        except OSError:
            pass

    guarded = setup.Guarded(setup.exporter_from_env(), warn=lambda message: say(b"w" + message.encode()))
    processor = BatchSpanProcessor(guarded)
    resource, scope = Resource.create({}), setup.scope()
    pending, accepting = bytearray(), True
    while True:
        ready, _, _ = select.select([0], [], [], 0.2)
        now = guarded.accepting()
        if now != accepting:
            accepting = now
            say(b"a1" if now else b"a0")
        if not ready:
            continue
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        pending += chunk
        while len(pending) >= shipping.HEADER.size:
            size = shipping.HEADER.unpack_from(pending)[0]
            end = shipping.HEADER.size + size
            if len(pending) < end:
                break
            message = pickle.loads(pending[shipping.HEADER.size:end])
            del pending[:end]
            if message[0] == "s":
                if accepting:
                    for plain in message[1]:
                        processor.on_end(shipping.plain_readable(plain, resource, scope))
            elif message[0] == "f":
                ok = processor.force_flush(int(message[2] * 1000))
                say(b"f%d %d" % (message[1], 1 if ok else 0))
            elif message[0] == "r":
                resource = Resource(message[1], message[2])
    processor.shutdown()


if __name__ == "__main__":
    main()
