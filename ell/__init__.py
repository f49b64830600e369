"""ell: prompts are programs, and every version of a prompt program is a git commit.

Where things happen: the decorators are in `ell.lmp` (`decorators.py`, `tool.py`); one call is
`ell.lmp.call.Call` and is handed to `config.store` (`ell.store.Store`) in `Call.finish`; versions
come from `ell.versioning`; the git store is the separate package `ell_git`.
"""

from __future__ import annotations

from typing import Any

from . import models as models
from . import providers as providers
from . import types as types
from .__version__ import __version__ as __version__
from .configurator import Config as Config
from .configurator import MissingAPIKeyError as MissingAPIKeyError
from .configurator import UnknownClientError as UnknownClientError
from .configurator import config as config
from .configurator import get_store as get_store
from .configurator import init as init
from .configurator import register_provider as register_provider
from .configurator import set_store as set_store
from .evaluation import Evaluation as Evaluation
from .feedback import feedback as feedback
from .lmp import complex as complex
from .lmp import lm as lm
from .lmp import simple as simple
from .lmp import tool as tool
from .providers import ModelRefusalError as ModelRefusalError
from .store import MemoryStore as MemoryStore
from .store import Store as Store
from .types import ContentBlock as ContentBlock
from .types import ImageContent as ImageContent
from .types import Message as Message
from .types import assistant as assistant
from .types import lstr as lstr
from .types import system as system
from .types import user as user


def version_of(lmp: Any) -> str:
    """The version id of a tracked function, computing it now if it has not been yet."""
    from .versioning import compute_version

    return compute_version(lmp).version_id


__all__ = [
    "Config",
    "ContentBlock",
    "Evaluation",
    "ImageContent",
    "Message",
    "MemoryStore",
    "MissingAPIKeyError",
    "ModelRefusalError",
    "Store",
    "UnknownClientError",
    "__version__",
    "assistant",
    "complex",
    "config",
    "feedback",
    "get_store",
    "init",
    "lm",
    "lstr",
    "models",
    "providers",
    "register_provider",
    "set_store",
    "simple",
    "system",
    "tool",
    "types",
    "user",
    "version_of",
]
