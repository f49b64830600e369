"""Run any example (or your own ell program) offline against ell.testing's local model server.

    python examples/run_offline.py examples/agent_tools.py
"""

import os
import runpy
import sys

from ell.testing import serve

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python examples/run_offline.py PROGRAM.py [args...]")
    with serve() as server:
        os.environ.update(server.env())
        sys.argv = sys.argv[1:]
        runpy.run_path(sys.argv[0], run_name="__main__")
