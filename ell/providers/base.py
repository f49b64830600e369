"""What a provider is: the translation between ell's messages and one client library's API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Iterator, Optional

from ..types import Message


class ModelRefusalError(ValueError):
    """The model refused to answer (OpenAI's `refusal` field). A ValueError, as in ell-ai."""


@dataclass
class ProviderCall:
    """Everything needed for one model call."""

    model: str
    messages: list[Message]
    client: Any
    api_params: dict[str, Any]
    tools: list[Callable[..., Any]] = field(default_factory=list)
    origin_id: Optional[str] = None  # the invocation id, stamped on outputs (lstr origin)

    def tool_by_name(self, name: str) -> Any:
        for t in self.tools:
            if getattr(t, "__name__", None) == name:
                return t
        return None


@dataclass
class ProviderResult:
    messages: list[Message]  # one per choice
    usage: dict[str, Any]  # token counts and their details, as reported
    api_params: dict[str, Any]  # the parameters actually sent (without messages)
    metadata: dict[str, Any] = field(default_factory=dict)


class Provider:
    """Base class; subclasses implement the sync, async and streaming calls for their client type."""

    def call(self, call: ProviderCall) -> ProviderResult:
        raise NotImplementedError

    async def acall(self, call: ProviderCall) -> ProviderResult:
        raise NotImplementedError

    def stream(self, call: ProviderCall) -> tuple[Iterator[str], Callable[[], ProviderResult]]:
        """Text deltas, and a function giving the full result once the deltas are consumed."""
        raise NotImplementedError

    def astream(self, call: ProviderCall) -> tuple[AsyncIterator[str], Callable[[], ProviderResult]]:
        raise NotImplementedError
