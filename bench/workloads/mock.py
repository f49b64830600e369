"""An in-process OpenAI-compatible transport (httpx.MockTransport): no sockets, no network.

Shared by the benchmark workloads so framework cost is not hidden by HTTP. Works under both our
environment and the peer's virtualenv (it imports only httpx and openai).
"""

from __future__ import annotations

import json

import openai

try:  # openai >= 3 ships its HTTP client as `httpx2`; older releases use httpx
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx

_COMPLETION = {
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there, friend!"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
}
_BODY = json.dumps(_COMPLETION).encode()
_CHUNKS = b"".join(
    b"data: " + json.dumps(c).encode() + b"\n\n"
    for c in [
        {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hello there, friend!"},
                      "finish_reason": None}]},
        {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini",
         "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini", "choices": [],
         "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}},
    ]
) + b"data: [DONE]\n\n"


def _handler(request: httpx.Request) -> httpx.Response:
    if b'"stream":true' in request.content.replace(b" ", b""):
        return httpx.Response(200, content=_CHUNKS, headers={"content-type": "text/event-stream"})
    return httpx.Response(200, content=_BODY, headers={"content-type": "application/json"})


def mock_client() -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-bench", base_url="http://bench.invalid/v1",
                         http_client=httpx.Client(transport=httpx.MockTransport(_handler)), max_retries=0)
