"""Closure cases: edit a user program, re-import it, and check what changes the version.

Each case loads a base program and an edited copy under the same module names and compares
version ids, uses edges and the captured closure text.
"""

from __future__ import annotations

import pytest

import ell
from ell.versioning import compute_version, snapshot_globals

HELPERS = '''
import json

SUFFIX = "!"

def shout(text: str) -> str:
    """Upper-case and exclaim."""
    return json.dumps(text.upper()) + SUFFIX
'''

PROMPTS = '''
import ell
from helpers import shout

PREFIX = "Be brief."
HISTORY = []


def format_topic(topic):
    return topic.strip().title()


@ell.simple(model="gpt-4o-mini", temperature=0.5)
def write(topic: str, tone: str = "calm"):
    """You are a poet."""
    HISTORY.append(topic)
    return f"{PREFIX} Write about {format_topic(topic)} in a {tone} tone. {shout('go')}"
'''


def variant(replace: dict[str, tuple[str, str]]) -> dict[str, str]:
    """The base files with (old -> new) text replacements per file; each old text must occur."""
    files = {"helpers.py": HELPERS, "prompts.py": PROMPTS}
    for name, (old, new) in replace.items():
        assert old in files[name], old
        files[name] = files[name].replace(old, new)
    return files


def vid(project, files: dict[str, str], attr: str = "write", main: str = "prompts") -> str:
    return ell.version_of(getattr(project.load(files, main), attr))


def test_closure_text_has_everything_in_order(project):
    m = project.load(variant({}), "prompts")
    info = compute_version(m.write)
    c = info.closure
    assert info.version_id.startswith("lmp-") and len(info.version_id) == 20
    assert m.write.__ell_hash__ == info.version_id and m.write.__ell_uses__ == ()
    assert info.name == "prompts.write" and info.kind == "simple"
    # imports, then constants, then mutable globals, then helpers, then the function itself
    order = ["import ell", "import json", "SUFFIX = '!'  # helpers", "PREFIX = 'Be brief.'",
             "HISTORY = ...  # mutable list", "# helpers.shout", "def shout(text: str) -> str:",
             "# prompts.format_topic", "@ell.simple(model='gpt-4o-mini', temperature=0.5)\ndef write("]
    positions = [c.index(s) for s in order]
    assert positions == sorted(positions), c
    assert '"""You are a poet."""' in info.source and "'You are a poet.'" in c
    assert info.mutable_globals == ("HISTORY",) and info.bound_globals == {"HISTORY": []}
    assert "from helpers import shout" not in c  # user code is inlined, not imported


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(("    return topic.strip().title()", "    return topic.strip().title()  # why not"), id="comment"),
        pytest.param(("\n\ndef format_topic", "\n\n\n\n# helpers below\n\ndef format_topic"), id="blank-lines"),
        pytest.param(('PREFIX = "Be brief."', "PREFIX = 'Be brief.'"), id="constant-quotes"),
        pytest.param(('(model="gpt-4o-mini", temperature=0.5)', "(\n    model='gpt-4o-mini',\n    temperature=0.50,\n)"),
                     id="decorator-reformatted"),
        pytest.param(('"""You are a poet."""', '"""\n    You are a poet.\n    """'), id="docstring-indent"),
        pytest.param(("def write(topic: str, tone: str = \"calm\"):", "def write(topic:str,tone:str='calm'):"),
                     id="compressed-signature"),
        pytest.param(('    HISTORY.append(topic)\n', '    HISTORY.append(topic);\n'), id="semicolon"),
    ],
)
def test_formatting_only_keeps_the_version(project, edit):
    assert vid(project, variant({"prompts.py": edit})) == vid(project, variant({}))


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(("prompts.py", ('"""You are a poet."""', '"""You are a good poet."""')), id="docstring"),
        pytest.param(("prompts.py", ('PREFIX = "Be brief."', 'PREFIX = "Be very brief."')), id="constant"),
        pytest.param(("prompts.py", ("topic.strip().title()", "topic.strip().lower()")), id="helper-body"),
        pytest.param(("prompts.py", ("temperature=0.5", "temperature=0.2")), id="decorator-param"),
        pytest.param(("prompts.py", ('tone: str = "calm"', 'tone: str = "angry"')), id="default-argument"),
        pytest.param(("prompts.py", ("topic: str,", "topic: bytes,")), id="annotation"),
        pytest.param(("helpers.py", ("text.upper()", "text.lower()")), id="cross-module-helper"),
        pytest.param(("helpers.py", ('SUFFIX = "!"', 'SUFFIX = "?"')), id="cross-module-constant"),
        pytest.param(("prompts.py", ("{PREFIX} Write", "{PREFIX}  Write")), id="string-whitespace"),
    ],
)
def test_meaningful_changes_make_a_new_version(project, edit):
    name, change = edit
    assert vid(project, variant({name: change})) != vid(project, variant({}))


def test_reformatted_black_compressed_tabs_are_one_version(project):
    black = '''
        import ell

        PREFIX = "Be brief."


        def helper(items, sep=", "):
            """Join items."""
            return sep.join(
                [
                    str(i)
                    for i in items  # each item
                    if i
                ]
            )


        @ell.simple(model="gpt-4o-mini", temperature=0.5, max_tokens=100)
        def write(topic: str, items: tuple = (1, 2, 3)):
            """You are a poet.

            Write short poems.
            """
            if not topic:
                return "Nothing."
            return f"{PREFIX} Write about {topic}: {helper(items)}"
    '''
    compressed = '''
        import ell
        PREFIX='Be brief.'
        def helper(items,sep=', '):
         """Join items."""
         return sep.join([str(i) for i in items if i])
        @ell.simple(model='gpt-4o-mini',temperature=0.5,max_tokens=100)
        def write(topic:str,items:tuple=(1,2,3,)):
         """You are a poet.

         Write short poems.
         """
         if not topic: return 'Nothing.'
         return f'{PREFIX} Write about {topic}: {helper(items)}'
    '''
    tabs = black.replace("    ", "\t")
    spaced = black.replace("\n\n\n", "\n\n\n\n\n")  # blank lines between definitions, not in the docstring
    ids = {vid(project, {"prompts.py": src}) for src in (black, compressed, tabs, spaced)}
    assert len(ids) == 1


def test_sub_lmp_change_reaches_the_caller_only_through_uses(project):
    src = '''
        import ell

        @ell.simple(model="gpt-4o-mini")
        def summarize(text: str):
            """You summarise."""
            return f"Summarise: {text}"

        @ell.simple(model="gpt-4o")
        def write(topic: str):
            return f"Write about {summarize(topic)}"
    '''
    a = project.load({"prompts.py": src}, "prompts")
    ia, sa = compute_version(a.write), compute_version(a.summarize)
    b = project.load({"prompts.py": src.replace("You summarise.", "You summarise well.")}, "prompts")
    ib, sb = compute_version(b.write), compute_version(b.summarize)
    assert sa.version_id != sb.version_id
    assert ia.version_id != ib.version_id
    assert ia.closure == ib.closure  # the caller's own text did not change ...
    assert ia.uses == (sa.version_id,) and ib.uses == (sb.version_id,)  # ... only its uses edge
    assert ia.uses_names == ("prompts.summarize",)
    assert "# uses summarize -> prompts.summarize" in ia.closure
    assert "You summarise" not in ia.closure  # sub-LMPs are referenced, never inlined
    assert b.write.__ell_uses__ == (b.summarize,)


def test_mutable_global_is_snapshotted_not_hashed(project):
    m = project.load(variant({}), "prompts")
    before = ell.version_of(m.write)
    assert snapshot_globals(m.write) == {"HISTORY": []}
    m.HISTORY.append("cats")
    snap = snapshot_globals(m.write)
    assert snap == {"HISTORY": ["cats"]}
    m.HISTORY.append("dogs")
    assert snap == {"HISTORY": ["cats"]}  # small lists are copied: later mutation does not leak in
    m.HISTORY = ["rebound"]
    assert snapshot_globals(m.write) == {"HISTORY": ["rebound"]}  # rebinding shows in the next call
    assert ell.version_of(m.write) == before
    # and a different value at definition does not change the version either
    other = project.load(variant({"prompts.py": ("HISTORY = []", "HISTORY = ['seed']")}), "prompts")
    assert ell.version_of(other.write) == before
    assert compute_version(other.write).bound_globals == {"HISTORY": ["seed"]}


def test_shared_helper_and_diamond_give_the_same_ids_in_any_order(project):
    src = '''
        import ell

        def shared(x):
            return f"<{x}>"

        @ell.simple(model="m")
        def leaf(x: str):
            return shared(x)

        @ell.simple(model="m")
        def left(x: str):
            return shared(leaf(x))

        @ell.simple(model="m")
        def right(x: str):
            return leaf(x) + "!"

        @ell.simple(model="m")
        def top(x: str):
            return left(x) + right(x) + shared(x)
    '''
    orders = [("top", "left", "right", "leaf"), ("leaf", "right", "left", "top"), ("left", "top", "leaf", "right")]
    results = []
    for order in orders:
        m = project.load({"prompts.py": src}, "prompts")
        for name in order:
            compute_version(getattr(m, name))
        results.append({n: compute_version(getattr(m, n)) for n in order})
    for name in orders[0]:
        assert len({r[name].version_id for r in results}) == 1, name
        assert len({r[name].closure for r in results}) == 1, name
    r = results[0]
    for name in ("leaf", "left", "top"):
        assert "def shared(x):" in r[name].closure, name  # the shared helper is in every closure that reads it
    assert "def shared" not in r["right"].closure
    assert dict(zip(r["top"].uses, r["top"].uses_names)) == {
        r["left"].version_id: "prompts.left", r["right"].version_id: "prompts.right"}
    assert list(r["top"].uses) == sorted(r["top"].uses)
    assert r["left"].uses == (r["leaf"].version_id,)


def test_mutual_recursion_terminates_and_is_order_independent(project):
    src = '''
        import ell

        @ell.simple(model="m")
        def ping(n: int):
            return pong(n - 1) if n else "done"

        @ell.simple(model="m")
        def pong(n: int):
            return ping(n - 1) if n else "done"

        @ell.simple(model="m")
        def again(n: int):
            return again(n - 1) if n else "done"
    '''
    m1 = project.load({"prompts.py": src}, "prompts")
    a = (ell.version_of(m1.ping), ell.version_of(m1.pong))
    m2 = project.load({"prompts.py": src}, "prompts")
    b = (ell.version_of(m2.ping), ell.version_of(m2.pong))[::-1][::-1]
    m3 = project.load({"prompts.py": src}, "prompts")
    c = tuple(reversed((ell.version_of(m3.pong), ell.version_of(m3.ping))))
    assert a == b == c and a[0] != a[1]
    assert compute_version(m1.ping).uses == (a[1],) and compute_version(m1.pong).uses == (a[0],)
    assert compute_version(m1.again).uses == ()  # self-recursion is not a dependency
    edited = src.replace('return pong(n - 1) if n else "done"', 'return pong(n - 1) if n else "finished"')
    assert edited != src
    m4 = project.load({"prompts.py": edited}, "prompts")
    assert ell.version_of(m4.pong) != a[1]  # a change in ping changes pong through the cycle


def test_classes_response_format_and_tools(project):
    src = '''
        import ell
        from pydantic import BaseModel, Field

        class Weather(BaseModel):
            """A forecast."""
            city: str = Field(description="the city")
            degrees: float

        @ell.tool()
        def get_weather(city: str) -> str:
            """Look the weather up."""
            return f"sunny in {city}"

        @ell.complex(model="gpt-4o", tools=[get_weather], response_format=Weather)
        def forecast(city: str):
            return f"Weather in {city}?"
    '''
    m = project.load({"prompts.py": src}, "prompts")
    info = compute_version(m.forecast)
    tool = compute_version(m.get_weather)
    assert tool.kind == "tool" and info.kind == "complex"
    assert info.uses == (tool.version_id,) and info.uses_names == ("prompts.get_weather",)
    assert "class Weather(BaseModel):" in info.closure and "from pydantic import BaseModel" in info.closure
    assert "pydantic" in info.packages
    changed_class = project.load({"prompts.py": src.replace('"the city"', '"the town"')}, "prompts")
    assert ell.version_of(changed_class.forecast) != info.version_id
    assert ell.version_of(changed_class.get_weather) == tool.version_id
    changed_tool = project.load({"prompts.py": src.replace("sunny in", "rainy in")}, "prompts")
    assert compute_version(changed_tool.forecast).closure == info.closure
    assert ell.version_of(changed_tool.forecast) != info.version_id


def test_lambdas(project):
    src = '''
        import ell

        clean = lambda s: s.strip()
        pair = (lambda a: a + 1, lambda b: b * 2)

        @ell.simple(model="m")
        def write(topic: str):
            return clean(topic) + str(pair[1](2))
    '''
    m = project.load({"prompts.py": src}, "prompts")
    info = compute_version(m.write)
    assert "clean = lambda s: s.strip()" in info.closure
    assert "pair = (prompts.<lambda>, prompts.<lambda>)" in info.closure
    assert ell.version_of(project.load({"prompts.py": src.replace("s.strip()", "s.lower()")}, "prompts").write) != info.version_id
    assert ell.version_of(project.load({"prompts.py": src.replace("b * 2", "b * 3")}, "prompts").write) != info.version_id
    assert ell.version_of(project.load({"prompts.py": src.replace("lambda s: s.strip()", "lambda s:s.strip()")}, "prompts").write) == info.version_id
    # a lambda LMP: its decorator call is in the same statement
    lam = project.load({"prompts.py": 'import ell\nhi = ell.simple(model="m", temperature=0.1)(lambda name: f"hi {name}")\n'}, "prompts")
    li = compute_version(lam.hi)
    assert "hi = ell.simple(model='m', temperature=0.1)(lambda name: f'hi {name}')" in li.closure


def test_nested_functions_and_free_variables(project):
    src = '''
        import ell

        def make(tone, helper_suffix):
            def decorate(text):
                return text + helper_suffix

            @ell.simple(model="m")
            def speak(topic: str):
                return decorate(f"Speak {tone}ly about {topic}")
            return speak

        calm = make("calm", "!")
        calm_again = make("calm", "!")
        angry = make("angry", "!")
        loud = make("calm", "!!!")
    '''
    m = project.load({"prompts.py": src}, "prompts")
    calm = compute_version(m.calm)
    assert calm.name == "prompts.make.<locals>.speak"
    assert "tone = 'calm'  # closure of prompts.make.<locals>.speak" in calm.closure
    assert "def decorate(text):" in calm.closure and "helper_suffix = '!'" in calm.closure
    assert ell.version_of(m.calm_again) == calm.version_id
    assert ell.version_of(m.angry) != calm.version_id
    assert ell.version_of(m.loud) != calm.version_id  # a free variable of a helper is part of it too


def test_methods_and_decorated_helpers(project):
    src = '''
        import functools
        import ell

        def logged(fn):
            @functools.wraps(fn)
            def inner(*a, **k):
                return fn(*a, **k)
            return inner

        @functools.lru_cache(maxsize=8)
        def cached_prefix(n: int) -> str:
            return "> " * n

        @logged
        def polite(text):
            return "Please, " + text

        class Base:
            def greet(self):
                return "Ahoy"

        class Agent(Base):
            role = "pirate"

            def __init__(self, name):
                self.name = name

            @staticmethod
            def shout(text):
                return text.upper()

            @ell.simple(model="m")
            def speak(self, topic: str):
                """You talk like a pirate."""
                return f"{self.greet()} {self.role} {self.name}" + cached_prefix(2) + polite(self.shout(topic))
    '''
    m = project.load({"prompts.py": src}, "prompts")
    info = compute_version(m.Agent.speak)
    assert info.name == "prompts.Agent.speak"
    assert "def speak(self, topic: str):" in info.closure
    assert "@functools.lru_cache(maxsize=8)\ndef cached_prefix(n: int) -> str:" in info.closure
    assert "@logged\ndef polite(text):" in info.closure and "def logged(fn):" in info.closure
    assert "import functools" in info.closure
    # self.<attr> reads are resolved on the class: constants, methods (inherited too), and __init__
    assert "Agent.role = 'pirate'" in info.closure
    assert "# prompts.Base.greet\ndef greet(self):" in info.closure
    assert "# prompts.Agent.shout\n@staticmethod\ndef shout(text):" in info.closure
    assert "# prompts.Agent.__init__\ndef __init__(self, name):" in info.closure
    assert ell.version_of(m.Agent("Jack").speak) == info.version_id  # through an instance: same version
    for old, new in [('"Please, "', '"Kindly, "'), ('role = "pirate"', 'role = "parrot"'), ('"Ahoy"', '"Arr"')]:
        edited = project.load({"prompts.py": src.replace(old, new)}, "prompts")
        assert ell.version_of(edited.Agent.speak) != info.version_id, old


def test_same_function_name_in_two_modules_keeps_two_histories(project):
    body = '''
        import ell

        @ell.simple(model="m")
        def write(topic: str):
            return f"Write about {topic}"
    '''
    m = project.load({"one.py": body, "two.py": body}, "one", "two")
    import sys

    one, two = compute_version(m.write), compute_version(sys.modules["two"].write)
    assert (one.name, two.name) == ("one.write", "two.write")
    assert one.closure == two.closure and one.version_id != two.version_id


def test_module_attribute_access_inlines_user_modules_and_imports_packages(project):
    files = {
        "config/__init__.py": "",
        "config/settings.py": '''
            MODEL_NOTE = "use bullet points"
            def limits():
                return {"max": 3}
        ''',
        "prompts.py": '''
            import json
            import ell
            import config.settings
            from config import settings as s

            @ell.simple(model="m")
            def write(topic: str):
                return json.dumps([config.settings.MODEL_NOTE, s.limits(), topic])
        ''',
    }
    m = project.load(files, "prompts")
    info = compute_version(m.write)
    assert "MODEL_NOTE = 'use bullet points'  # config.settings" in info.closure
    assert "# config.settings.limits\ndef limits():" in info.closure
    assert "import json" in info.closure and "import config" not in info.closure


def test_decorator_without_syntax_versions_model_and_params(project):
    src = '''
        import ell

        def write(topic: str):
            return f"Write about {topic}"

        fast = ell.simple(model="gpt-4o-mini", temperature=0.1)(write)
        slow = ell.simple(model="gpt-4o", temperature=0.1)(write)
    '''
    m = project.load({"prompts.py": src}, "prompts")
    fast, slow = compute_version(m.fast), compute_version(m.slow)
    assert fast.version_id != slow.version_id
    assert "# applied without decorator syntax: ell.simple(model='gpt-4o-mini'" in fast.closure


def test_plain_tracked_functions_and_constants_of_every_kind(project):
    src = '''
        import enum
        import math
        from math import sqrt

        class Mode(enum.Enum):
            FAST = 1
            SLOW = 2

        NUMBERS = (1, 2.5, -3, None, True, b"x", frozenset({"b", "a"}), range(3), 1e300, float("nan"))
        MODE = Mode.FAST
        PATTERNS = {"a": 1}

        def compute(x):
            return [NUMBERS, MODE, math.pi, sqrt(x), PATTERNS]
    '''
    m = project.load({"prompts.py": src}, "prompts")
    info = compute_version(m.compute)
    assert info.kind == "function" and info.name == "prompts.compute"
    assert ("NUMBERS = (1, 2.5, -3, None, True, b'x', frozenset({'a', 'b'}), range(0, 3, 1), 1e+300, "
            "float('nan'))") in info.closure
    assert "MODE = Mode.FAST" in info.closure and "class Mode(enum.Enum):" in info.closure
    assert "from math import sqrt" in info.closure and "import math" in info.closure
    assert info.mutable_globals == ("PATTERNS",) and info.bound_globals == {"PATTERNS": {"a": 1}}
    assert m.compute.__ell_hash__ == info.version_id


def test_reordering_and_unrelated_code_keep_the_version(project):
    src = '''
        import ell

        A = "x"

        def first():
            return A

        def second():
            return first() * 2

        @ell.simple(model="m")
        def write():
            return second()
    '''
    reordered = '''
        import ell

        @ell.simple(model="m")
        def write():
            return second()

        def second():
            return first() * 2

        def unrelated():
            return "not read by write"

        A = "x"
        B = [1, 2, 3]

        def first():
            return A
    '''
    assert vid(project, {"prompts.py": src}) == vid(project, {"prompts.py": reordered})


def test_constants_in_the_decorator_and_lmps_behind_helpers(project):
    src = '''
        import ell

        MODEL = "gpt-4o-mini"
        SETTINGS = dict(temperature=0.3)

        @ell.simple(model=MODEL)
        def translate(text: str):
            return f"Translate: {text}"

        def pipeline(text):
            return translate(text).upper()

        @ell.simple(model=MODEL, **SETTINGS)
        def write(topic: str):
            return pipeline(topic)
    '''
    m = project.load({"prompts.py": src}, "prompts")
    info = compute_version(m.write)
    assert "MODEL = 'gpt-4o-mini'" in info.closure and "def pipeline(text):" in info.closure
    assert info.uses == (ell.version_of(m.translate),)  # reached through a plain helper
    assert info.mutable_globals == ("SETTINGS",)
    changed = project.load({"prompts.py": src.replace('"gpt-4o-mini"', '"gpt-4o"')}, "prompts")
    assert ell.version_of(changed.write) != info.version_id
    # parameters that come from a dict are versioned through the effective values the decorator got
    assert "# decorated: ell.simple(model='gpt-4o-mini', api_params={'temperature': 0.3})" in info.closure
    hotter = project.load({"prompts.py": src.replace("temperature=0.3", "temperature=0.9")}, "prompts")
    assert ell.version_of(hotter.write) != info.version_id


def test_shared_helper_is_in_both_closures_whatever_is_versioned_first(project):
    """ell-ai 0.0.17 drops the helper from whichever closure is computed second."""
    src = '''
        import ell

        def helper(x):
            return f"<{x}>"

        @ell.simple(model="m")
        def inner(x: str):
            return helper(x)

        @ell.simple(model="m")
        def outer(x: str):
            return inner(helper(x))
    '''
    a = project.load({"prompts.py": src}, "prompts")
    outer_first = (compute_version(a.outer), compute_version(a.inner))
    b = project.load({"prompts.py": src}, "prompts")
    inner_first = (compute_version(b.outer), compute_version(b.inner))[::-1][::-1]
    compute_version(b.inner)
    for x, y in zip(outer_first, inner_first):
        assert (x.version_id, x.closure) == (y.version_id, y.closure)
        assert "def helper(x):" in x.closure


def test_globals_rebound_with_global_statement_are_state(project):
    src = '''
        import ell

        CALLS = 0
        TITLE = "fixed"

        def count():
            global CALLS
            CALLS += 1

        @ell.simple(model="m")
        def write():
            count()
            return f"{TITLE} {CALLS}"
    '''
    m = project.load({"prompts.py": src}, "prompts")
    info = compute_version(m.write)
    assert "TITLE = 'fixed'" in info.closure and "CALLS = ...  # mutable int" in info.closure
    assert info.mutable_globals == ("CALLS",)
    m.count()
    assert snapshot_globals(m.write) == {"CALLS": 1}
    later = project.load({"prompts.py": src.replace("CALLS = 0", "CALLS = 41")}, "prompts")
    assert ell.version_of(later.write) == info.version_id


def test_async_lmps_and_helpers(project):
    src = '''
        import ell

        async def fetch(x):
            return x

        @ell.simple(model="m")
        async def write(topic: str):
            return await fetch(topic)
    '''
    m = project.load({"prompts.py": src}, "prompts")
    info = compute_version(m.write)
    assert "async def fetch(x):" in info.closure and "async def write(topic: str):" in info.closure


def test_dataclass_and_named_tuple_formats(project):
    src = '''
        import dataclasses
        import typing
        import ell

        @dataclasses.dataclass(frozen=True)
        class Reply:
            text: str
            votes: int = 0

        class Pair(typing.NamedTuple):
            a: int
            b: int

        @ell.simple(model="m")
        def ask(x: str, previous: Reply = Reply("none")):
            return str(Pair(1, 2)) + x + previous.text
    '''
    m = project.load({"prompts.py": src}, "prompts")
    info = compute_version(m.ask)
    assert info.warnings == ()
    assert "@dataclasses.dataclass(frozen=True)\nclass Reply:" in info.closure
    assert "class Pair(typing.NamedTuple):" in info.closure


def test_reformatting_a_helper_module_keeps_the_version(project):
    reformatted = '''
import json
SUFFIX='!'
def shout(text:str)->str:
  """Upper-case and exclaim."""
  # louder
  return (json.dumps(
      text.upper()
  ) + SUFFIX)
'''
    assert vid(project, {"helpers.py": reformatted, "prompts.py": PROMPTS}) == vid(project, variant({}))
