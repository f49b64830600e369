"""`ell.init(verbose=True)`: every LMP call drawn on stdout as it happens.

A call's box opens with `name(args)` and its version id, shows the prompt before the model answers,
then the output (or error) with latency and tokens. LMPs called inside a prompt function draw their
boxes inside their parent's. `Call` calls the three hooks here only while `config.verbose` is on;
each hook swallows its own failures (a warning, once): printing never changes a call's outcome.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import threading
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol, Sequence

from ..configurator import config
from ..types import Message
from . import tracking
from .display import (ARG, ASSISTANT, BOLD, DIM, ERROR, RAIL, ROLE_STYLES, Line, cut, message_lines, render,
                      short_value, wrap)


class Call(Protocol):
    """What these hooks read of a call: `ell.lmp.call.Call` has it (described here, not imported,
    because `Call` calls these hooks: no import cycle)."""

    id: str
    parent: Optional[str]
    wrapper: Any  # the LMP: its __qualname__ names the box
    version: Any  # VersionInfo, or None when untracked
    spec: Any  # LMPSpec: exempt_from_tracking, tools
    messages: list[Message]
    model: Optional[str]
    params: dict[str, Any]

    def bound_args(self) -> dict[str, Any]: ...


MIN_BOX = 40  # a nested box never gets narrower than this (deep nesting overflows instead)
NAME_STYLES = ("31", "32", "33", "35", "36", "91", "92", "93", "95", "96")  # no blue: the rails are blue


@dataclass(eq=False)
class _Frame:
    """One call's box: what its header says and whether the header is printed yet."""

    name: str
    args: list[tuple[str, str]]  # (parameter, short value) as passed
    version: str
    style: str
    depth: int
    parent: Optional["_Frame"]
    hidden: bool = False  # exempt_from_tracking: prints nothing, its children print at its depth
    shown: bool = False


_frames: dict[str, _Frame] = {}  # running calls by invocation id, so a child finds its parent's box
_lock = threading.Lock()  # one block is written at a time, and a parent's header only once
_last: Optional[_Frame] = None  # whose block was printed last (to name a call whose blocks interleave)


def _never_raises(hook: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(hook)
    def guarded(*args: Any, **kwargs: Any) -> None:
        try:
            hook(*args, **kwargs)
        except Exception as exc:  # printing is a convenience: the call goes on
            tracking.warn_once("verbose", f"could not print a call (verbose=True): {tracking.error_text(exc)}")

    return guarded


# -- hooks called by Call -----------------------------------------------------------------------
@_never_raises
def started(call: Call) -> None:
    """The call began (its prompt function has not run yet): register its box; print nothing yet."""
    frame = _new_frame(call)
    with _lock:
        _frames[call.id] = frame


@_never_raises
def prompted(call: Call) -> None:
    """The prompt is ready and the model is about to be asked: print the header and the prompt."""
    frame = _frame_of(call)
    if frame.hidden:
        return
    with _lock:
        lines = _open(frame)
        box = _Box(frame.depth)
        label = "Prompt:" if lines or not _interleaved(frame) else f"Prompt of {frame.name}:"
        lines += [box.split(), *box.title([(label, BOLD)], _prompt_meta(call)), box.thin()]
        lines += box.conversation(call.messages, _tool_names(call.messages))
        _write(lines, frame)


@_never_raises
def finished(call: Call, outputs: list[Any], usage: Optional[dict], error: Optional[BaseException],
             latency_ms: float, cached: bool) -> None:
    """The call ended: print its outputs (or error) with latency and tokens, and close its box."""
    with _lock:
        frame = _frames.pop(call.id, None)
    if frame is None:
        frame = _new_frame(call)
    if frame.hidden:
        return
    messages = [o if isinstance(o, Message) else Message("assistant", str(o)) for o in outputs]
    meta = [_duration(latency_ms)] + _tokens(usage) + (["replayed (frozen)"] if cached else [])
    with _lock:
        lines = _open(frame)
        box = _Box(frame.depth)
        of = "" if lines or not _interleaved(frame) else f" of {frame.name}"
        if messages or error is None:
            label = f"Output{' (until the error)' if error is not None else ''}{of}:"
            lines += [box.thin(), *box.title([(label, BOLD)], meta), box.thin()]
            lines += box.conversation(messages, _tool_names([*call.messages, *messages]), choices=True)
            meta = []
        if error is not None:
            lines += [box.thin(), *box.title([(f"Error{of}:", ERROR + ";1")], meta), box.thin()]
            lines += [box.body(seg) for seg in wrap(tracking.error_text(error), box.w - 4, ERROR)]
        lines.append(box.bottom())
        _write(lines, frame)


# -- frames -------------------------------------------------------------------------------------
def _new_frame(call: Call) -> _Frame:
    with _lock:
        parent = _frames.get(call.parent) if call.parent else None
    depth = 0 if parent is None else parent.depth + (0 if parent.hidden else 1)
    name = call.wrapper.__qualname__.rsplit(".<locals>.", 1)[-1]
    args = [(k, short_value(v)) for k, v in call.bound_args().items()]
    version = call.version.version_id if call.version is not None else ""
    style = NAME_STYLES[zlib.crc32(name.encode()) % len(NAME_STYLES)]
    return _Frame(name, args, version, style, depth, parent, hidden=call.spec.exempt_from_tracking)


def _frame_of(call: Call) -> _Frame:
    with _lock:
        frame = _frames.get(call.id)
    if frame is None:  # verbose was turned on while this call ran
        frame = _new_frame(call)
        with _lock:
            _frames[call.id] = frame
    return frame


def _open(frame: _Frame) -> list[Line]:
    """The headers not printed yet of `frame` and of its enclosing boxes, outermost first."""
    if frame.shown or frame.hidden:
        return []
    lines = _open(frame.parent) if frame.parent is not None else []
    frame.shown = True
    return lines + _Box(frame.depth).header(frame)


def _interleaved(frame: _Frame) -> bool:
    """Whether another call's block came since this call's last one (its own children's do not count)."""
    return _last is not frame and (_last is None or _last.parent is not frame)


def _write(lines: list[Line], frame: _Frame) -> None:
    global _last
    out = sys.stdout
    if out is None:
        return
    colour = _use_colour(out)
    out.write("".join(render(line, colour) + "\n" for line in lines))
    out.flush()
    _last = frame


def _use_colour(out: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "0") not in ("", "0"):
        return True
    isatty = getattr(out, "isatty", None)
    return bool(isatty is not None and isatty())


def _width() -> int:
    override = config.override_wrapped_logging_width
    return int(override) if override else shutil.get_terminal_size((80, 20)).columns


# -- one box ------------------------------------------------------------------------------------
class _Box:
    """The lines of one call's box, drawn inside the rails of the boxes enclosing it."""

    def __init__(self, depth: int) -> None:
        self.prefix: Line = [("║   " * depth, RAIL)] if depth else []
        self.w = max(MIN_BOX, _width() - 4 * depth)

    def _rule(self, left: str, fill: str, right: str) -> Line:
        return self.prefix + [(left + fill * (self.w - 2) + right, RAIL)]

    def top(self) -> Line:
        return self._rule("╔", "═", "╗")

    def split(self) -> Line:
        return self._rule("╠", "═", "╣")

    def thin(self) -> Line:
        return self._rule("╟", "─", "╢")

    def bottom(self) -> Line:
        return self._rule("╚", "═", "╝")

    def title(self, label: Line, meta: Sequence[str] = ()) -> list[Line]:
        """`label` then the dim `meta` items, continued on more lines when they do not fit."""
        avail = self.w - 2
        lines: list[Line] = []
        current, used, on_line = list(label), sum(len(t) for t, _ in label), 0
        for item in meta:
            item = cut(item, avail - 2)
            sep = " · " if on_line else "  "
            if on_line and used + len(sep) + len(item) > avail:
                lines.append(current)
                current, used, on_line, sep = [], 0, 0, "  "
            current.append((sep + item, DIM))
            used, on_line = used + len(sep) + len(item), on_line + 1
        lines.append(current)
        return [self.prefix + [("║ ", RAIL)] + line for line in lines]

    def body(self, line: Line) -> Line:
        return self.prefix + [("│   ", RAIL)] + line

    def gap(self) -> Line:
        return self.prefix + [("│", RAIL)]

    def header(self, frame: _Frame) -> list[Line]:
        avail = self.w - 2
        name: Line = [(frame.name, f"{frame.style};1;4"), ("(", frame.style)]
        args = [[(k, DIM), ("=", ""), (v, ARG)] for k, v in frame.args]
        flat = len(frame.name) + 2 + sum(len(k) + 1 + len(v) for k, v in frame.args) + 2 * max(0, len(args) - 1)
        version = [(frame.version, DIM)] if frame.version else []
        if flat <= avail:
            line = name + [seg for i, a in enumerate(args) for seg in ([(", ", "")] if i else []) + a]
            line.append((")", frame.style))
            if version and flat + 2 + len(frame.version) <= avail:
                line += [(" " * (avail - flat - len(frame.version)), "")] + version
                version = []
            lines = [line]
        else:  # one argument a line, as black would
            lines = [name] + [[("    ", ""), (k, DIM), ("=", ""), (cut(v, avail - 6 - len(k)), ARG), (",", "")]
                              for k, v in frame.args]
            lines.append([(")", frame.style)])
        if version:
            lines.append([("version ", DIM)] + version)
        return [self.top()] + [self.prefix + [("║ ", RAIL)] + line for line in lines]

    def conversation(self, messages: list[Message], tool_names: dict[str, str], choices: bool = False) -> list[Line]:
        """Messages by role, as ell-ai aligns them; several outputs are numbered choices."""
        role_w = max([9] + [len(m.role) for m in messages])
        text_w = max(20, self.w - 4 - role_w - 2)
        lines: list[Line] = []
        for i, m in enumerate(messages):
            if i:
                lines.append(self.gap())
            if choices and len(messages) > 1:
                lines.append(self.body([(f"choice {i + 1} of {len(messages)}", DIM)]))
            style = ROLE_STYLES.get(m.role, ASSISTANT)
            body = message_lines(m, text_w, style, tool_names) or [[]]
            lines.append(self.body([(f"{m.role.rjust(role_w)}: ", style)] + body[0]))
            lines += [self.body([(" " * (role_w + 2), "")] + rest) for rest in body[1:]]
        return lines


# -- what the titles say ------------------------------------------------------------------------
_HIDDEN_PARAMS = frozenset({"stream_options", "tools", "tool_choice", "response_format"})


def _prompt_meta(call: Call) -> list[str]:
    meta = [str(call.model)]
    for key, value in call.params.items():
        if key not in _HIDDEN_PARAMS and value is not None:
            meta.append(f"{key}={short_value(value, 24)}")
    fmt = call.params.get("response_format")
    if fmt is not None:
        meta.append(f"response_format={getattr(fmt, '__name__', None) or short_value(fmt, 24)}")
    if call.spec.tools:
        meta.append("tools: " + ", ".join(getattr(t, "__name__", "?") for t in call.spec.tools))
    return meta


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _tokens(usage: Optional[dict]) -> list[str]:
    if not usage:
        return []
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if prompt is None and completion is None:
        return []
    return [f"{prompt or 0:,} prompt + {completion or 0:,} completion tokens"]


def _tool_names(messages: list[Message]) -> dict[str, str]:
    """Tool call id → tool name, so a tool result can say which tool it comes from."""
    return {str(tc.tool_call_id): tc.name for m in messages for tc in m.tool_calls if tc.tool_call_id}
