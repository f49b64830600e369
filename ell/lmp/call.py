"""One call of a language model program: prompt → messages → provider → outputs → record.

`LMPSpec` is what the decorator fixed; `Call` is one invocation of it. Sync, async and streaming
calls share the same steps so they record the same invocation shape.
"""

from __future__ import annotations

import functools
import inspect
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Iterator, Optional

from .. import otel, recording
from ..configurator import config
from ..providers import ProviderCall, ProviderResult, resolve_client
from ..records import InvocationRecord, call_key
from ..types import Message
from ..types.lstr import origin_ids, traced_by
from . import tracking, verbose


@dataclass
class LMPSpec:
    model: Optional[str]
    client: Any = None
    tools: list[Callable[..., Any]] = field(default_factory=list)
    api_params: dict[str, Any] = field(default_factory=dict)
    exempt_from_tracking: bool = False
    post_callback: Optional[Callable[[Any], Any]] = None
    text_output: bool = False  # @ell.simple: return lstr instead of Message
    default_system: Optional[str] = None  # @ell.lm's system prompt when there is no docstring


@functools.lru_cache(maxsize=1024)
def _system_message(doc: Optional[str], default_system: Optional[str]) -> Optional[Message]:
    """The system message of an LMP that returns a str: its docstring, else `default_system`.
    Built once per text and shared by every call's record (ell never changes a prompt message)."""
    system = inspect.cleandoc(doc) if doc and doc.strip() else default_system
    return Message.of_text("system", system) if system else None


def prompt_to_messages(prompt: Any, fn: Callable[..., Any], default_system: Optional[str]) -> list[Message]:
    """A returned str is the user message (docstring = system); a list of messages is the prompt."""
    if isinstance(prompt, str):
        system = _system_message(fn.__doc__, default_system)
        # Built without validation: plain text, and this runs on every call.
        user = Message.of_text("user", prompt)
        return [system, user] if system is not None else [user]
    if isinstance(prompt, Message):
        return [prompt]
    if isinstance(prompt, list):
        out = []
        for m in prompt:
            if isinstance(m, Message):
                out.append(m)
            elif isinstance(m, dict) and "role" in m:
                out.append(Message(m["role"], m.get("content")))
            else:
                raise TypeError(f"an LMP's prompt list holds ell.Message objects, got {type(m).__name__}")
        return out
    raise TypeError(
        f"{fn.__qualname__} must return a str (the user message) or a list of ell.Message, got {type(prompt).__name__}"
    )


class Call:
    """State of one invocation; methods are the steps shared by every calling style."""

    __slots__ = ("wrapper", "spec", "args", "kwargs", "call_params", "client", "id", "version", "parent",
                 "token", "started_at", "t0", "messages", "model", "params", "span", "kept")

    def __init__(self, wrapper: Any, spec: LMPSpec, args: tuple, kwargs: dict, call_params: Optional[dict],
                 client: Any) -> None:
        self.wrapper, self.spec, self.args, self.kwargs = wrapper, spec, args, kwargs
        self.call_params, self.client = call_params, client
        self.id = tracking.new_invocation_id()
        self.version = None
        self.messages: list[Message] = []
        self.model: Optional[str] = None
        self.params: dict[str, Any] = {}
        self.span: Any = None  # ell.otel's span of this call, with otel on

    # -- steps --------------------------------------------------------------------------
    def begin(self) -> None:
        if not self.spec.exempt_from_tracking:
            try:
                self.version = tracking.ensure_version(self.wrapper)
            except Exception as exc:  # versioning must never fail a call
                tracking.warn_once("version", f"versioning {self.wrapper.__qualname__} failed: {exc}")
        self.parent = tracking.current_invocation.get()
        self.token = tracking.current_invocation.set(self.id)
        self.kept = recording.begin(self.parent)
        if otel.active:
            self.span = otel.begin_chat(self)
        if config.verbose:
            verbose.started(self)
        self.started_at = time.time()
        self.t0 = time.perf_counter()

    def end_context(self) -> None:
        tracking.current_invocation.reset(self.token)
        if self.span is not None:
            self.span.detach()

    def took(self, res: ProviderResult) -> None:
        """What the provider answered besides messages: parameters sent, response id and model."""
        self.params = res.api_params
        if self.span is not None:
            self.span.meta = res.metadata

    def prepare(self, prompt: Any, asynchronous: bool) -> tuple[ProviderCall, Any]:
        fn = self.wrapper.__wrapped__
        self.messages = prompt_to_messages(prompt, fn, self.spec.default_system)
        params = {**config.default_api_params, **self.spec.api_params, **(self.call_params or {})}
        self.model = params.pop("model", None) or self.spec.model
        if not self.model:
            raise ValueError(f"no model for {fn.__qualname__}: pass model= to the decorator or api_params={{'model': ...}}")
        self.params = params
        if config.verbose:
            verbose.prompted(self)  # before the model answers, as ell-ai does
        client, provider = resolve_client(self.model, self.client or self.spec.client, asynchronous)
        if self.span is not None:
            self.span.client = client
        return ProviderCall(self.model, self.messages, client, params, self.spec.tools, self.id), provider

    def frozen_result(self) -> Optional[list[Message]]:
        """With `store.freeze(lmp)`, the recorded outputs of an identical call, if any."""
        store = config.store
        if self.version is None or store is None or not getattr(store, "is_frozen", None):
            return None
        if not store.is_frozen(self.version.name):
            return None
        from ..redaction import redact_args

        try:  # the key of the record as stored: arguments and globals redacted
            key = call_key(self.version.version_id, redact_args(self.bound_args()),
                           redact_args(tracking.snapshot(self.wrapper)))
            outputs = store.cached_outputs(self.version.version_id, key)
            if outputs is None:
                return None
            return [Message.from_json(o, self.spec.tools) if isinstance(o, dict) else o for o in outputs]
        except Exception as exc:  # a broken cache means a real call, never a failed one
            tracking.warn_once("freeze", f"could not read frozen outputs of {self.version.name}: {exc}")
            return None

    def origins(self) -> tuple[str, ...]:
        """The invocations whose lstr outputs were passed in, sorted."""
        found = origin_ids(self.args)
        if self.kwargs:
            found = found | origin_ids(self.kwargs.values())
        return tuple(sorted(found)) if found else ()

    def bound_args(self) -> dict[str, Any]:
        return self.wrapper.binder.bind(self.args, self.kwargs)

    def shape(self, messages: list[Message]) -> Any:
        """What the user gets back: Message(s) for complex, lstr(s) for simple."""
        for m in messages:
            private = m.__pydantic_private__
            if private is not None:
                private["_origin"] = self.id  # `m._origin = ...` without pydantic's __setattr__
            else:
                m._origin = self.id
        if self.spec.text_output:
            texts = [traced_by(m.text_only, self.id) for m in messages]
            return texts[0] if len(texts) == 1 else texts
        result: Any = messages[0] if len(messages) == 1 else messages
        return self.spec.post_callback(result) if self.spec.post_callback else result

    def finish(self, outputs: list[Any], usage: Optional[dict] = None, error: Optional[BaseException] = None,
               cached: bool = False) -> None:
        latency_ms = (time.perf_counter() - self.t0) * 1000.0
        ids = None
        if self.span is not None:
            try:
                ids = self.span.end(self, outputs, usage, error, cached)
            except Exception as exc:  # tracing never fails a call
                tracking.warn_once("otel-end", f"could not end a span: {exc}")
        if config.verbose:
            verbose.finished(self, outputs, usage, error, latency_ms, cached)
        if self.spec.exempt_from_tracking or config.store is None or self.version is None:
            return
        if not recording.keeps(self.kept, error):
            return
        try:
            tracking.record(
                InvocationRecord(
                    id=self.id,
                    version_id=self.version.version_id,
                    lmp_name=self.version.name,
                    args=self.bound_args(),
                    messages=self.messages,
                    outputs=outputs,
                    model=self.model,
                    api_params=self.params,
                    usage=usage or {},
                    latency_ms=latency_ms,
                    started_at=self.started_at,
                    parent_id=self.parent,
                    origin_ids=self.origins(),
                    bound_globals=tracking.snapshot(self.wrapper),
                    error=None if error is None else tracking.error_text(error),
                    cached=cached,
                    trace_id=format(ids[0], "032x") if ids else None,
                    span_id=format(ids[1], "016x") if ids else None,
                    recording=recording.label(),
                )
            )
        except Exception as exc:
            tracking.warn_once("invocation", f"could not record a call of {self.version.name}: {exc}")

    # -- calling styles -----------------------------------------------------------------
    def run(self, stream: bool) -> Any:
        self.begin()
        try:
            frozen = self.frozen_result()  # before the prompt runs: a frozen LMP calls nothing inside it
            if frozen is not None:
                self.finish(frozen, cached=True)
                return self.shape(frozen)
            prompt = self.wrapper.__wrapped__(*self.args, **self.kwargs)
            call, provider = self.prepare(prompt, asynchronous=False)
            if stream:
                deltas, result = provider.stream(call)
                return TextStream(self, deltas, result)
            res: ProviderResult = provider.call(call)
            self.took(res)
        except BaseException as exc:
            self.finish([], error=exc)
            raise
        finally:
            self.end_context()
        self.finish(res.messages, res.usage)
        return self.shape(res.messages)

    async def arun(self, stream: bool) -> Any:
        self.begin()
        try:
            frozen = self.frozen_result()
            if frozen is not None:
                self.finish(frozen, cached=True)
                return self.shape(frozen)
            prompt = self.wrapper.__wrapped__(*self.args, **self.kwargs)
            if inspect.isawaitable(prompt):
                prompt = await prompt
            call, provider = self.prepare(prompt, asynchronous=True)
            if stream:
                deltas, result = provider.astream(call)
                return AsyncTextStream(self, deltas, result)
            res: ProviderResult = await provider.acall(call)
            self.took(res)
        except BaseException as exc:
            self.finish([], error=exc)
            raise
        finally:
            self.end_context()
        self.finish(res.messages, res.usage)
        return self.shape(res.messages)


class _StreamBase:
    """Shared bookkeeping of sync and async text streams."""

    def __init__(self, call: Call, result: Callable[[], ProviderResult]) -> None:
        self._call, self._result = call, result
        self._parts: list[str] = []
        self._done = False
        self.value: Any = None  # the shaped result once the stream ended

    @property
    def text(self) -> str:
        """The text received so far (all of it once the stream is exhausted)."""
        return "".join(self._parts)

    def _finish(self, error: Optional[BaseException]) -> None:
        if self._done:
            return
        self._done = True
        if error is None:
            try:
                res = self._result()
            except BaseException as exc:
                self._call.finish([], error=exc)
                raise
            self._call.took(res)
            self._call.finish(res.messages, res.usage)
            self.value = self._call.shape(res.messages)
        else:
            self._call.finish([Message("assistant", self.text)], error=error)


class TextStream(_StreamBase):
    """Iterator of text deltas; the invocation is recorded when it ends (or is closed early)."""

    def __init__(self, call: Call, deltas: Iterator[str], result: Callable[[], ProviderResult]) -> None:
        super().__init__(call, result)
        self._deltas = deltas

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        try:
            delta = next(self._deltas)
        except StopIteration:
            self._finish(None)
            raise
        except BaseException as exc:
            self._finish(exc)
            raise
        self._parts.append(delta)
        return delta

    def close(self) -> None:
        if not self._done:
            self._finish(GeneratorExit("stream closed before its end"))

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class AsyncTextStream(_StreamBase):
    """Async iterator of text deltas; the invocation is recorded when it ends."""

    def __init__(self, call: Call, deltas: AsyncIterator[str], result: Callable[[], ProviderResult]) -> None:
        super().__init__(call, result)
        self._deltas = deltas

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    async def __anext__(self) -> str:
        try:
            delta = await self._deltas.__anext__()
        except StopAsyncIteration:
            self._finish(None)
            raise
        except BaseException as exc:
            self._finish(exc)
            raise
        self._parts.append(delta)
        return delta

