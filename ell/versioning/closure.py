"""The lexical closure of one tracked function, as canonical text.

Starting from the user's function, every name it reads is resolved to the object it denotes
(enclosing-scope cell, module global, or an attribute of a user module) and becomes one *item*:

- an ``import`` line (stdlib, installed packages, ell itself; package version recorded);
- a constant by value (``PREFIX = 'Be brief.'``), rendered canonically (`literals.py`);
- a mutable global: name and type only, its value is snapshotted per call (`globals.py`);
- a *uses* marker for another LMP/tool: ``# uses summarize -> demo.summarize``. Its version id is
  not in this text; it enters the hash once, through the sorted uses ids (`hashing.py`);
- a definition (function, class, lambda) from the user's own code, normalised, whose own names
  are resolved the same way, recursively.

Items are keyed and sorted by key, so the text never depends on visiting order: the walk has a
`seen` set only to terminate, and it belongs to this one closure. (ell-ai 0.0.17 shares its
"already closed" set across the sub-closures of one call, so a helper shared by an LMP and its
sub-LMP is emitted only in whichever is visited first: their versions depend on call order.)
Other LMPs are never entered: they are versioned on their own and referenced by id.
"""

from __future__ import annotations

import builtins
import enum
import functools
import types
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..types.lmp import lmp_of
from .globals import Snapshot, module_kind, package_version
from .literals import is_constant, render_value
from .naming import module_name, qualified_name
from .objects import (
    canonical_lmp,
    imported_module,
    imports_user_code,
    is_lmp,
    is_typing,
    lmp_name,
    owning_class,
    placeholder_function,
    ref_name,
    tool_list,
    render_param,
    render_tool_list,
    render_type,
    snap_key,
    synth_import,
    sys_module,
    unwrap_function,
)
from .sources import NO_FACTS, Definition, ModuleFacts, Unavailable, definition_of, file_index, module_facts

__all__ = ["Capture", "capture", "is_lmp", "canonical_lmp", "unwrap_function"]  # re-exported helpers

# Sections of the closure text, in display order.
IMPORT, CONST, MUTABLE, USES, NOTE, DEF, ROOT = range(7)
_BUILTINS = vars(builtins)
_MISSING = object()
_MAX_BOUND_STRING = 10_000  # definition-time values of mutable globals are truncated beyond this


@dataclass
class Capture:
    """What versioning needs from one tracked function, before ids are assigned."""

    name: str
    kind: str
    source: str
    closure: str
    uses: tuple[Any, ...]  # canonical LMP wrappers, ordered by name
    snapshot: Snapshot
    mutable_globals: tuple[str, ...]
    bound_globals: dict[str, Any]
    packages: dict[str, str]
    warnings: tuple[str, ...]


class _Walk:
    def __init__(self, root_wrapper: Any, root_fn: Any) -> None:
        self.root_wrapper = root_wrapper
        self.root_fn = root_fn
        self.root_module = module_name(getattr(root_fn, "__module__", None))
        self.root_qn = qualified_name(root_fn)
        self.items: dict[tuple[int, str], str] = {}
        self.uses: dict[int, Any] = {}
        self.snap: dict[str, tuple[str, Any, str]] = {}
        self.bound: dict[str, Any] = {}
        self.packages: dict[str, str] = {}
        self.warnings: list[str] = []
        self.seen: set[int] = set()
        self.alive: list[Any] = []  # keeps objects alive so their ids stay unique during the walk
        self.todo: list[Callable[[], None]] = []

    # -- items -----------------------------------------------------------------------------------
    def add(self, section: int, key: str, text: str) -> None:
        if section == CONST:
            key = f"{key}\0{text}"  # two closures of one factory may bind one name to two values
        elif section == IMPORT:
            key = ("1" if key.startswith("from ") else "0") + key  # `import x` lines, then `from x import y`
        self.items[(section, key)] = text

    def note_owner(self, owner: str) -> str:
        return "" if owner == self.root_module else f"  # {owner}"

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def package(self, module: str) -> None:
        if module_kind(module) in ("installed", "framework"):
            found = package_version(module)
            if found is not None:
                self.packages[found[0]] = found[1]

    def once(self, obj: Any) -> bool:
        if id(obj) in self.seen:
            return False
        self.seen.add(id(obj))
        self.alive.append(obj)
        return True

    # -- definitions -----------------------------------------------------------------------------
    def function(self, fn: Any, *, root: bool = False) -> Optional[Definition]:
        if not root and not self.once(fn):
            return None
        qn = qualified_name(fn)
        d = definition_of(fn)
        if isinstance(d, Unavailable):
            self.warn(f"could not capture the source of {qn}: {d.reason}; a placeholder is versioned instead")
            self.add(ROOT if root else DEF, f"{qn}", placeholder_function(fn, qn))
            return None
        if not root:
            self.add(DEF, f"{qn}\0{d.text}", f"# {qn}\n{d.text}")
        code = fn.__code__
        cells = dict(zip(code.co_freevars, fn.__closure__ or ()))
        namespace = getattr(fn, "__globals__", {}) or {}
        owner = module_name(namespace.get("__name__", getattr(fn, "__module__", None)))
        index = file_index(code.co_filename, namespace)
        facts = index.facts() if index is not None else NO_FACTS
        scope = "" if (root or fn is self.root_fn) else qn
        self.names(d, namespace, owner, facts, cells, scope)
        if d.self_attrs:
            self.attributes(fn, d, owner)
        for module in d.imports:
            self.package(module)
        return d

    def attributes(self, fn: Any, d: Definition, owner: str) -> None:
        """A method's ``self.x`` / ``cls.x`` reads, resolved on its class (and user base classes)."""
        cls = owning_class(fn)
        if cls is None:
            return
        instance_only = False
        for attr in d.self_attrs:
            for klass in cls.__mro__:
                if attr in vars(klass):
                    break
            else:
                instance_only = True  # set in __init__ (or dynamically): the class's __init__ says how
                continue
            if module_kind(klass.__module__) != "user":
                continue  # inherited from a library base class (pydantic, ...)
            raw = vars(klass)[attr]
            if isinstance(raw, (staticmethod, classmethod)):
                raw = raw.__func__
            elif isinstance(raw, property):
                raw = raw.fget
            label = f"{klass.__qualname__}.{attr}"
            source = Snapshot.global_source(self.global_key(label, owner), vars(klass), attr)  # type: ignore[arg-type]
            self.value(label, raw, module_name(klass.__module__), (), NO_FACTS, source)
        init = getattr(cls, "__init__", None)
        if instance_only and isinstance(init, types.FunctionType) and module_kind(init.__module__) == "user":
            self.todo.append(functools.partial(self.function, init))

    def klass(self, cls: type) -> None:
        if not self.once(cls):
            return
        qn = qualified_name(cls)
        d = definition_of(cls)
        if isinstance(d, Unavailable):
            self.warn(f"could not capture the source of class {qn}: {d.reason}; a placeholder is versioned instead")
            self.add(DEF, qn, f"# {qn}\nclass {cls.__name__}: ...  # source unavailable")
            return
        self.add(DEF, f"{qn}\0{d.text}", f"# {qn}\n{d.text}")
        module = sys_module(cls.__module__)
        namespace = getattr(module, "__dict__", {}) if module is not None else {}
        cells: dict[str, Any] = {}
        for value in vars(cls).values():  # a class made inside a function reads enclosing names via its methods
            f = getattr(value, "__func__", value)
            code = getattr(f, "__code__", None)
            if code is not None and getattr(f, "__closure__", None):
                for name, cell in zip(code.co_freevars, f.__closure__):
                    cells.setdefault(name, cell)
        cells.pop("__class__", None)
        self.names(d, namespace, module_name(cls.__module__), module_facts(module), cells, qn)
        for mod in d.imports:
            self.package(mod)

    def names(self, d: Definition, namespace: dict[str, Any], owner: str, facts: ModuleFacts,
              cells: dict[str, Any], scope: str) -> None:
        for name in d.names:
            try:
                self.name(name, d.chains.get(name, ()), namespace, owner, facts, cells, scope)
            except Exception as exc:  # an odd object (a proxy, a broken __getattr__): mark it, go on
                self.add(NOTE, f"{owner}:{name}", f"# unresolved: {name} ({type(exc).__name__}){self.note_owner(owner)}")
                self.warn(f"could not capture {name!r} ({type(exc).__name__}: {exc})")

    def name(self, name: str, chains: tuple[tuple[str, ...], ...], namespace: dict[str, Any], owner: str,
             facts: ModuleFacts, cells: dict[str, Any], scope: str) -> None:
        if name in cells:
            try:
                value = cells[name].cell_contents
            except ValueError:  # cell not filled yet
                self.add(NOTE, f"{scope}:{name}", f"# unresolved: {name} (empty closure cell)")
                return
            source = Snapshot.cell_source(snap_key(name, scope), cells[name])
            self.value(name, value, f"closure of {scope or self.root_qn}", chains, facts, source)
        elif name in namespace:
            source = Snapshot.global_source(self.global_key(name, owner), namespace, name)
            self.value(name, namespace[name], owner, chains, facts, source)
        elif name in _BUILTINS:
            return
        elif name in facts.imports:  # e.g. imported under `if TYPE_CHECKING:` for annotations only
            for line in facts.imports[name]:
                self.add(IMPORT, line, line)
        else:
            self.add(NOTE, f"{owner}:{name}", f"# unresolved: {name}{self.note_owner(owner)}")

    def global_key(self, name: str, owner: str) -> str:
        return name if owner == self.root_module else f"{owner}.{name}"

    # -- values ----------------------------------------------------------------------------------
    def value(self, label: str, value: Any, owner: str, chains: tuple[tuple[str, ...], ...],
              facts: ModuleFacts, source: Optional[tuple[str, Any, str]]) -> None:
        key = f"{owner}:{label}"
        if is_lmp(value):
            self.lmp(label, canonical_lmp(value), owner)
            return
        imports = facts.imports
        if label in imports and not imports_user_code(imports[label]):
            for line in imports[label]:
                self.add(IMPORT, line, line)
                self.package(imported_module(line))
            return
        if isinstance(value, types.ModuleType):
            self.module(label, value, owner, chains)
            return
        if is_typing(value):
            classes: list[type] = []
            self.add(CONST, key, f"{label} = {render_type(value, classes)}{self.note_owner(owner)}")
            for cls in classes:
                if module_kind(cls.__module__) == "user":
                    self.klass(cls)
            return
        target = unwrap_function(value)
        if is_lmp(target):
            self.lmp(label, canonical_lmp(target), owner)
            return
        if isinstance(target, (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType)) or (
            callable(target) and hasattr(target, "__qualname__") and hasattr(target, "__module__")
        ):
            self.definition(label, value, target, owner)
            return
        if label in facts.state and source is not None:
            self.mutable(label, value, owner, source)  # `global X; X += 1` somewhere: X is state, not a constant
            return
        if isinstance(value, enum.Enum):
            cls = type(value)
            if module_kind(cls.__module__) == "user":
                self.klass(cls)
            else:
                self.add(IMPORT, synth_import(cls.__name__, cls), synth_import(cls.__name__, cls))
            self.add(CONST, key, f"{label} = {cls.__qualname__}.{value.name}{self.note_owner(owner)}")
            return
        if is_constant(value):
            self.add(CONST, key, f"{label} = {render_value(value)}{self.note_owner(owner)}")
            return
        if isinstance(value, functools.partial):
            self.value(f"{label}.func", value.func, owner, (), NO_FACTS, None)
            self.add(CONST, key, f"{label} = functools.partial({ref_name(value.func)}, ...){self.note_owner(owner)}")
            return
        refs = tool_list(value)
        if refs is not None:  # a list of tools or classes: part of the program, hashed
            for i, item in enumerate(refs):
                self.value(f"{label}[{i}]", item, owner, (), NO_FACTS, None)
            self.add(CONST, key, f"{label} = {render_tool_list(value)}{self.note_owner(owner)}")
            return
        self.mutable(label, value, owner, source)

    def lmp(self, label: str, wrapper: Any, owner: str) -> None:
        if wrapper is self.root_wrapper or getattr(wrapper, "__wrapped__", None) is self.root_fn:
            return  # recursion into itself is part of its own source, not a dependency
        self.uses[id(wrapper)] = wrapper
        self.alive.append(wrapper)
        name = lmp_name(wrapper)
        self.add(USES, f"{owner}:{label}", f"# uses {label} -> {name}{self.note_owner(owner)}")

    def module(self, label: str, module: types.ModuleType, owner: str, chains: tuple[tuple[str, ...], ...]) -> None:
        if module_kind(module.__name__) != "user":
            line = f"import {module.__name__}" if label == module.__name__ else f"import {module.__name__} as {label}"
            if "." in label:
                line = f"import {module.__name__}"
            self.add(IMPORT, line, line)
            self.package(module.__name__)
            return
        if not chains:
            self.add(NOTE, f"{owner}:{label}", f"# {label}: user module {module.__name__} used as a value")
            return
        namespace = vars(module)
        facts = module_facts(module)
        owner2 = module_name(module.__name__)
        by_first: dict[str, set[tuple[str, ...]]] = {}
        for chain in chains:
            if chain:
                by_first.setdefault(chain[0], set()).add(chain[1:])
        for attr in sorted(by_first):
            sub = namespace.get(attr, _MISSING)
            if sub is _MISSING:
                self.add(NOTE, f"{owner2}:{attr}", f"# unresolved: {label}.{attr}")
                continue
            rest = tuple(sorted(c for c in by_first[attr] if c))
            source = Snapshot.global_source(self.global_key(attr, owner2), namespace, attr)
            self.value(attr, sub, owner2, rest, facts, source)

    def definition(self, label: str, value: Any, target: Any, owner: str) -> None:
        mod = getattr(target, "__module__", None)
        if isinstance(target, types.MethodType):
            target = target.__func__
            mod = getattr(target, "__module__", None)
        if module_kind(mod) == "user" and isinstance(target, (types.FunctionType, type)):
            if isinstance(target, type):
                self.klass(target)
            else:
                self.todo.append(functools.partial(self.function, target))
            name = getattr(target, "__name__", label)
            if label.rsplit(".", 1)[-1] != name and "[" not in label and name != "<lambda>":
                self.add(CONST, f"{owner}:{label}", f"{label} = {name}  # alias of {qualified_name(target)}")
            return
        if "[" in label:  # an element of a tool list: its name is in the list's rendering
            return
        line = synth_import(label, target)
        self.add(IMPORT, line, line)
        if mod:
            self.package(mod)

    def mutable(self, label: str, value: Any, owner: str, source: Optional[tuple[str, Any, str]]) -> None:
        from ..serialize import opaque, to_jsonable

        cls = type(value)
        if module_kind(cls.__module__) == "user" and isinstance(cls, type):
            self.klass(cls)  # an instance of the user's class: the class's code is part of the closure
        tname = cls.__qualname__ if cls.__module__ == "builtins" else f"{module_name(cls.__module__)}.{cls.__qualname__}"
        try:
            data = to_jsonable(value, max_string=_MAX_BOUND_STRING)
        except Exception as exc:  # pragma: no cover - to_jsonable does not raise, by contract
            data = opaque(exc)
        if data == opaque(value):
            # No data to record (a client, a lock, a compiled pattern): a per-call snapshot would
            # only repeat this placeholder, and make every record of the call an odd one.
            self.add(MUTABLE, f"{owner}:{label}", f"{label} = ...  # {tname} object, not data: not recorded{self.note_owner(owner)}")
            return
        self.add(MUTABLE, f"{owner}:{label}", f"{label} = ...  # mutable {tname}, value recorded per call{self.note_owner(owner)}")
        if source is not None:
            self.snap[source[0]] = source
            self.bound[source[0]] = data

    # -- run -------------------------------------------------------------------------------------
    def run(self) -> None:
        while self.todo:
            self.todo.pop(0)()

    def render(self) -> str:
        blocks: list[str] = []
        for section in (IMPORT, CONST, MUTABLE, USES, NOTE, DEF, ROOT):
            texts = [t.rstrip("\n") for (s, _k), t in sorted(self.items.items()) if s == section]
            if not texts:
                continue
            blocks.append(("\n\n" if section >= DEF else "\n").join(texts))
        return "\n\n".join(blocks) + "\n"


def capture(wrapper: Any, kind: str, name: str) -> Capture:
    """Capture the closure of `wrapper` (an LMP wrapper, or any function) without versioning its uses."""
    fn = unwrap_function(getattr(wrapper, "__wrapped__", wrapper)) if is_lmp(wrapper) else unwrap_function(wrapper)
    walk = _Walk(wrapper, fn)
    source = ""
    if isinstance(fn, type):
        walk.klass(fn)
        d = definition_of(fn)
        source = d.written if isinstance(d, Definition) else ""
    elif isinstance(getattr(fn, "__code__", None), types.CodeType):
        d0 = walk.function(fn, root=True)
        if d0 is not None:
            source = d0.written
            walk.add(ROOT, "", _with_decorator_note(d0.text, wrapper, kind, d0.decorated))
        else:
            source = walk.items.get((ROOT, qualified_name(fn)), "")
    else:
        walk.warn(f"{name} is not a Python function ({type(fn).__name__}); a placeholder is versioned instead")
        walk.add(ROOT, "", placeholder_function(fn, name))
    _forced(walk, wrapper)
    walk.run()
    uses = sorted(walk.uses.values(), key=lambda w: (lmp_name(w), id(w)))
    # Secrets are replaced before anything is hashed: the version id is that of the redacted
    # closure, so rotating a key makes no new version (see ell.redaction).
    from ..redaction import redact_source, redact_value

    closure = redact_source(walk.render())  # first: it learns the values its secret names hold
    return Capture(
        name=name,
        kind=kind,
        source=redact_source(source),
        closure=closure,
        uses=tuple(uses),
        snapshot=Snapshot(tuple(walk.snap[k] for k in sorted(walk.snap))),
        mutable_globals=tuple(sorted(walk.snap)),
        bound_globals=redact_value({k: walk.bound[k] for k in sorted(walk.bound)}),
        packages=dict(sorted(walk.packages.items())),
        warnings=tuple(walk.warnings),
    )


def _with_decorator_note(text: str, wrapper: Any, kind: str, decorated: bool) -> str:
    """State the model and API parameters the decorator actually received.

    They are usually literal in the decorator line, but not always: ``**SETTINGS`` (a dict, whose
    value is otherwise only snapshotted), ``model=pick_model()``, or ``ell.simple(...)(fn)`` with
    no decorator syntax at all. The effective values make them part of the version in every case.
    """
    lmp = lmp_of(wrapper)
    if kind == "function" or lmp is None:
        return text
    model, params = lmp.model, lmp.api_params
    if model is None and not params and decorated:
        return text
    how = "decorated" if decorated else "applied without decorator syntax"
    return f"# {how}: ell.{kind}(model={render_param(model)}, api_params={render_param(params)})\n{text}"


def _forced(walk: _Walk, wrapper: Any) -> None:
    """Tools and response formats handed to the decorator as objects rather than names in its source."""
    lmp = lmp_of(wrapper)
    if lmp is None:
        return
    extra: list[tuple[str, Any]] = []
    for i, tool in enumerate(lmp.tools):
        extra.append((f"tools[{i}]", tool))
    params = lmp.api_params
    if isinstance(params, dict):
        for k in sorted(params, key=str):
            v = params[k]
            if isinstance(v, type) or is_lmp(v):
                extra.append((f"api_params[{k!r}]", v))
    for label, obj in extra:
        if is_lmp(obj):
            c = canonical_lmp(obj)
            if id(c) not in walk.uses and c is not wrapper:
                walk.lmp(label, c, walk.root_module)
        elif isinstance(obj, type) and id(obj) not in walk.seen and module_kind(obj.__module__) == "user":
            walk.klass(obj)
