"""ell: prompts are programs, and every version of a prompt program is a git commit.

Where things happen: the decorators are in `ell.lmp` (`decorators.py`, `tool.py`) and return typed
`LMP[P, R]` objects (`ell/lmp/lmp.py`, configuration in `ell/types/lmp.py`); one call is
`ell.lmp.call.Call` and is handed to `config.store` (`ell.store.Store`) in `Call.finish`; versions
come from `ell.versioning`; the git store is the separate package `ell_git`.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from .__version__ import __version__ as __version__
from .feedback import feedback as feedback  # before anything imports the module `ell.feedback` under this name
from .store import MemoryStore as MemoryStore
from .store import Store as Store

if TYPE_CHECKING:
    from . import models as models
    from . import providers as providers
    from . import types as types
    from .configurator import Config as Config
    from .configurator import MissingAPIKeyError as MissingAPIKeyError
    from .configurator import UnknownClientError as UnknownClientError
    from .configurator import config as config
    from .configurator import get_store as get_store
    from .configurator import register_provider as register_provider
    from .evaluation import Evaluation as Evaluation
    # from the defining modules: `ell.lmp.simple` is also a module, which type checkers would take
    from .lmp.decorators import complex as complex
    from .lmp.decorators import lm as lm
    from .lmp.decorators import simple as simple
    from .lmp.tool import tool as tool
    from .providers import ModelRefusalError as ModelRefusalError
    from .startup import init as init
    from .startup import set_store as set_store
    from .types import ContentBlock as ContentBlock
    from .types import ImageContent as ImageContent
    from .types import Message as Message
    from .types import assistant as assistant
    from .types import lstr as lstr
    from .types import system as system
    from .types import user as user

#: Imported on first use, so that `import ell` costs a few ms: the decorators and providers import
#: the openai SDK (~0.4 s), the message types and the configuration pydantic (~0.25 s), which
#: reading history (`ell log`, `ell web`) and the store's writer process do not need.
#: name -> (module, attribute; None: the module itself).
_LAZY: dict[str, tuple[str, str | None]] = {
    "models": (".models", None),
    "providers": (".providers", None),
    "types": (".types", None),
    "ModelRefusalError": (".providers", "ModelRefusalError"),
    "Evaluation": (".evaluation", "Evaluation"),
    "complex": (".lmp", "complex"),
    "lm": (".lmp", "lm"),
    "simple": (".lmp", "simple"),
    "tool": (".lmp", "tool"),
    **{name: (".configurator", name) for name in (
        "Config", "MissingAPIKeyError", "UnknownClientError", "config", "get_store", "register_provider")},
    "init": (".startup", "init"),
    "set_store": (".startup", "set_store"),
    **{name: (".types", name) for name in (
        "ContentBlock", "ImageContent", "Message", "assistant", "lstr", "system", "user")},
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        # ell-ai programs reach submodules as attributes (`ell.evaluation.Evaluation`), which an
        # eager import used to load as a side effect.
        if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module 'ell' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    found = importlib.import_module(module, __name__)
    value = found if attribute is None else getattr(found, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
