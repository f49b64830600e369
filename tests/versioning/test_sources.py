"""Where source comes from: files, exec'd code with linecache entries, IPython cells, and nothing."""

from __future__ import annotations

import linecache
import re
import warnings

import pytest

import ell
from ell.versioning import compute_version, snapshot_globals


def _exec(src: str, filename: str, register: bool) -> dict:
    if register:
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    namespace: dict = {"__name__": "generated"}
    exec(compile(src, filename, "exec"), namespace)
    return namespace


EXEC_SRC = '''
import ell

GREETING = "hi"

def helper(x):
    return x + "!"

@ell.simple(model="m")
def greet(name: str):
    """Greeter."""
    return f"{GREETING} {helper(name)}"
'''


def test_exec_with_a_linecache_entry_is_versioned_from_it():
    ns = _exec(EXEC_SRC, "<ell-test-exec-1>", register=True)
    try:
        info = compute_version(ns["greet"])
        assert info.warnings == ()
        assert info.name == "generated.greet"
        assert "def helper(x):" in info.closure and "GREETING = 'hi'" in info.closure
        assert info.source.startswith('@ell.simple(model="m")\ndef greet(name: str):')
        # the same text exec'd under another file name is the same version
        ns2 = _exec(EXEC_SRC, "<ell-test-exec-2>", register=True)
        assert ell.version_of(ns2["greet"]) == info.version_id
    finally:
        linecache.cache.pop("<ell-test-exec-1>", None)
        linecache.cache.pop("<ell-test-exec-2>", None)


def test_no_source_gives_a_placeholder_a_warning_once_and_a_stable_id():
    ns = _exec(EXEC_SRC, "<ell-test-nosource>", register=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = compute_version(ns["greet"])
        again = compute_version(ns["greet"])
    assert again is info
    ours = [w for w in caught if "ell versioning" in str(w.message)]
    assert len(ours) == 1 and "source" in str(ours[0].message)
    assert "source unavailable" in info.closure and "def greet(name):" in info.closure
    assert "'Greeter.'" in info.closure  # what could be captured: name, parameters, docstring
    assert info.warnings and info.version_id.startswith("lmp-")
    other = _exec(EXEC_SRC, "<ell-test-nosource-2>", register=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ell.version_of(other["greet"]) == info.version_id  # stable


def test_ipython_cells_are_read_from_the_cell_history():
    interactiveshell = pytest.importorskip("IPython.core.interactiveshell")
    shell = interactiveshell.InteractiveShell.instance()
    try:
        shell.run_cell("import ell\nPREFIX = 'hey'\ndef helper(x):\n    return x * 2\n")
        shell.run_cell("@ell.simple(model='m', temperature=0.1)\ndef hi(x: str):\n    '''Greeter.'''\n"
                       "    return PREFIX + helper(x)\n")
        info = compute_version(shell.user_ns["hi"])
        # a class without methods says nothing about its cell: the newest cell defining it wins
        shell.run_cell("from pydantic import BaseModel\nclass Answer(BaseModel):\n    text: str\n")
        shell.run_cell("class Answer(BaseModel):\n    text: str\n    score: int = 1\n")
        shell.run_cell("@ell.complex(model='m', response_format=Answer)\ndef ask(x: str):\n    return x\n")
        asked = compute_version(shell.user_ns["ask"])
    finally:
        interactiveshell.InteractiveShell.clear_instance()
    assert info.warnings == ()
    assert "import ell" in info.closure  # imported in another cell: written from the live module
    assert "PREFIX = 'hey'" in info.closure and "def helper(x):" in info.closure
    assert "@ell.simple(model='m', temperature=0.1)\ndef hi(x: str):" in info.closure
    assert asked.warnings == () and "class Answer(BaseModel):\n    text: str\n    score: int = 1" in asked.closure


def test_c_objects_and_library_objects_become_imports_or_snapshots(project):
    src = '''
        import math
        import re
        import ell
        from collections import OrderedDict

        root = math.sqrt
        WORD = re.compile(r"\\w+")
        SEEN = OrderedDict()

        @ell.simple(model="m")
        def count(text: str):
            return str(root(len(WORD.findall(text)))) + str(SEEN)
    '''
    m = project.load({"prompts.py": src}, "prompts")
    info = compute_version(m.count)
    assert "from math import sqrt as root" in info.closure
    # a compiled pattern has no data to record per call: named with its type, not snapshotted
    assert "WORD = ...  # re.Pattern object, not data: not recorded" in info.closure
    assert "SEEN = ...  # mutable collections.OrderedDict" in info.closure
    assert info.mutable_globals == ("SEEN",)
    assert info.bound_globals == {"SEEN": {}}
    assert set(snapshot_globals(m.count)) == {"SEEN"}


def test_a_module_level_client_is_named_in_the_closure_not_recorded_per_call(project):
    # `client = OpenAI(...)` then `@ell.simple(..., client=client)` is the common way to pick an
    # endpoint: a per-call snapshot of it recorded only "<unserializable: OpenAI>" on every record.
    src = '''
        import openai
        import ell

        client = openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1")
        STYLE = {"tone": "dry"}

        @ell.simple(model="m", client=client)
        def hello(name: str):
            return f"Say hello to {name} in a {STYLE['tone']} tone."
    '''
    m = project.load({"prompts.py": src}, "prompts")
    info = compute_version(m.hello)
    assert "client = ...  # openai.OpenAI object, not data: not recorded" in info.closure
    assert info.mutable_globals == ("STYLE",)
    assert info.bound_globals == {"STYLE": {"tone": "dry"}}
    assert snapshot_globals(m.hello) == {"STYLE": {"tone": "dry"}}


def test_unresolvable_names_are_marked_not_fatal(project):
    src = '''
        from typing import TYPE_CHECKING
        import ell

        if TYPE_CHECKING:
            from decimal import Decimal

        @ell.simple(model="m")
        def price(amount: "Decimal"):
            return f"{amount} {later()} {missing_name}"

        def later():
            return "defined after"
    '''
    m = project.load({"prompts.py": src}, "prompts")
    info = compute_version(m.price)
    assert "# unresolved: missing_name" in info.closure
    assert "def later():" in info.closure


def test_versioning_failure_never_raises(monkeypatch, project):
    from ell.versioning import closure

    m = project.load({"prompts.py": "import ell\n@ell.simple(model='m')\ndef hi():\n    return 'hi'\n"}, "prompts")

    def boom(*a, **k):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(closure, "capture", boom)
    monkeypatch.setattr("ell.versioning.version.capture", boom)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = compute_version(m.hi)
    assert re.fullmatch(r"lmp-[0-9a-f]{16}", info.version_id)
    assert "versioning failed" in info.closure and "return 'hi'" in info.source
    assert any("simulated bug" in str(w.message) for w in caught)
    assert m.hi.__ell_hash__ == info.version_id and snapshot_globals(m.hi) == {}


def test_a_function_named_top_keeps_its_parameters_local(project):
    # CPython's symtable.Symbol.is_global() mistakes any scope *named* "top" for the module
    m = project.load({"prompts.py": "import ell\n\n@ell.simple(model='m')\ndef top(text: str):\n    return text\n"},
                     "prompts")
    assert "unresolved" not in compute_version(m.top).closure


def test_compiler_warnings_in_user_source_do_not_break_versioning(project):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = project.load({"prompts.py": 'import ell\n\n@ell.simple(model="m")\ndef digits(text: str):\n'
                                         '    return "match \\d+ in " + text\n'}, "prompts")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as under `python -W error` or pytest's filterwarnings=error
        info = compute_version(m.digits)
    assert info.warnings == () and "'match \\\\d+ in '" in info.closure
