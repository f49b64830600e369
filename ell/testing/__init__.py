"""ell.testing: an offline, scripted, OpenAI-compatible model server.

    from ell.testing import serve, Reply, ToolCall

    with serve() as server:                       # 127.0.0.1, random port
        client = server.client(max_retries=0)     # openai.OpenAI for it
        server.queue("hi", Reply(error=429), Reply(tool_calls=[ToolCall("add", {"a": 1})]))
        server.script(lambda request: None)       # fallback when the queue is empty
        ...
        server.requests                           # request bodies received

Replies (see ``ell.testing.replies``): ``str``; ``dict``/pydantic instance
(JSON content); ``Reply(text, tool_calls, refusal, finish_reason, error,
error_message, delay, break_stream_after, usage)``; a list (one per choice);
or ``callable(request) -> any of those | None`` (None = default answer).

Endpoints: ``POST /v1/chat/completions`` (JSON or SSE streaming, ``n``,
tools, ``response_format``, images) and ``GET /v1/models[/{id}]``; the
``/v1`` prefix is optional.  Without a script the replies are
deterministic and derived from the request (see ``ell.testing.behaviour``).

Self-contained: stdlib (+ orjson when present); the openai SDK is only
imported by ``client()``/``async_client()``.  ``python -m ell.testing``
runs it in the foreground; ``ell.testing.fixtures`` provides pytest fixtures.
"""

from __future__ import annotations

from .replies import Reply, ReplyLike, ToolCall, ToolCallReply
from .schema_fake import fake_instance
from .server import DEFAULT_MODELS, TEST_API_KEY, ModelServer, serve

__all__ = [
    "serve",
    "ModelServer",
    "Reply",
    "ToolCall",
    "ToolCallReply",
    "ReplyLike",
    "fake_instance",
    "DEFAULT_MODELS",
    "TEST_API_KEY",
]
