"""Build a real ell repository for the web tests by running real LMPs against ell.testing's server.

Each version of the prompts module is written to its own file and imported under the same module
name, so `webfix_prompts.greet` gets several versions the way a user editing a file would.
"""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import ell
from user_module import import_version

MODULE = "webfix_prompts"
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
GREET_DOCS = (
    "You are a friendly greeter.",
    "You are a very friendly greeter. Keep it short.",
    "You greet people like a pirate.",
)

_SOURCE = '''
import ell

PUNCTUATION = {{"end": "{end}"}}


@ell.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@ell.simple(model="gpt-4o-mini")
def greet(name: str):
    """{doc}"""
    return f"Say hello to {{name}}{{PUNCTUATION['end']}}"


@ell.simple(model="gpt-4o-mini", temperature=0.2)
def shout(text: str):
    """You repeat text in capitals."""
    return f"Shout this: {{text}}"


@ell.simple(model="gpt-4o-mini")
def story(name: str):
    """You write one-line stories."""
    opening = greet(name)
    return f"Write a story that begins with: {{opening}}"


@ell.complex(model="gpt-4o-mini", tools=[add])
def calculator(question: str):
    """You answer arithmetic questions with the add tool."""
    return [ell.user(question)]


@ell.complex(model="gpt-4o")
def describe(image):
    """You describe images."""
    return [ell.user(["What is in this picture?", image])]
'''


def png_data_url() -> str:
    """A real 8×8 red PNG as a data URL (PIL when present, else fixed bytes)."""
    try:
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (8, 8), (220, 30, 30)).save(buf, format="PNG")
        raw = buf.getvalue()
    except ImportError:  # a 1×1 PNG
        raw = base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
        )
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def load_version(workdir: Path, doc: str, end: str = "!") -> ModuleType:
    """The prompts module with greet's system prompt `doc`, imported from a file of its own
    (named after the content, so the same text reloads the same file)."""
    return import_version(workdir, MODULE, _SOURCE.format(doc=doc, end=end))


class _Session:
    """ell pointed at `repo` and the model server; afterwards the config is as it was.

    The web fixtures are session-scoped, so they run outside the per-test config reset of
    tests/conftest.py: leaving a default client behind would leak into other packages' tests.
    """

    def __init__(self, repo: Path, server: Any) -> None:
        self.repo, self.server = repo, server

    def __enter__(self) -> None:
        cfg = ell.config
        self.saved = (cfg.default_client, dict(cfg.default_api_params), cfg.autocommit, dict(cfg.registry))
        ell.init(store=str(self.repo), default_client=self.server.client(max_retries=0, timeout=10),
                 autocommit=False)

    def __exit__(self, *exc: Any) -> None:
        store = ell.get_store()
        try:
            if store is not None and exc[0] is None:
                store.flush()
        finally:
            ell.set_store(None)
            sys.modules.pop(MODULE, None)
            cfg = ell.config
            cfg.default_client, cfg.autocommit = self.saved[0], self.saved[2]
            cfg.default_api_params.clear()
            cfg.default_api_params.update(self.saved[1])
            cfg.registry.clear()
            cfg.registry.update(self.saved[3])


def build(repo: Path, server: Any, workdir: Path) -> dict[str, Any]:
    """Run the LMPs into the git store at `repo`; return what the tests need to know."""
    from ell.testing import Reply, ToolCall

    facts: dict[str, Any] = {"module": MODULE, "xss": XSS}
    with _Session(repo, server):
        # Three versions of greet, called a few times each.
        for n, doc in enumerate(GREET_DOCS):
            mod = load_version(workdir, doc, "!" if n < 2 else "!!")
            for who in ("Ada", "Grace"):
                mod.greet(who)
        # The XSS payload as an argument and as the model's output.
        server.queue(XSS)
        facts["xss_output"] = str(mod.greet(XSS))
        # Nested: story calls greet inside itself (parent/children).
        mod.story("Linus")
        # lstr origins: greet's output passed on to shout (origins/consumers).
        hello = mod.greet("Margaret")
        mod.shout(hello)
        # A tool call, then the tool run (the tool is tracked too).
        server.queue(Reply(tool_calls=[ToolCall("add", {"a": 2, "b": 3})]))
        answer = mod.calculator("What is 2 + 3?")
        answer.call_tools_and_collect_as_message()
        # An image input.
        facts["image_url"] = png_data_url()
        mod.describe(ell.ImageContent(url=facts["image_url"]))
    facts["names"] = {short: f"{MODULE}.{short}" for short in ("greet", "shout", "story", "calculator", "describe", "add")}
    return facts


def add_invocation(repo: Path, server: Any, workdir: Path, name: str, *, doc: str | None = None) -> None:
    """Write one more greet invocation into `repo` (as another process would while the UI is
    open); with `doc`, greet first gets that new system prompt, so a new version appears too."""
    with _Session(repo, server):
        mod = load_version(workdir, doc or GREET_DOCS[-1], "!!")
        mod.greet(name)
