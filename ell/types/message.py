"""Messages and their content blocks: what prompts are made of and what models answer.

Shapes follow ell-ai 0.0.17 (`Message(role, content)`, `ContentBlock`, `ToolCall`, `ToolResult`,
`ImageContent`). Each type also has `__ell_json__` (its canonical JSON form, used by stores) and a
`from_json` inverse used by `store.freeze`.
"""

from __future__ import annotations

import base64
import io
import json
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Any, Callable, Optional, Union

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, PrivateAttr, field_serializer

from .lmp import params_model_of
from .lstr import lstr


def _keep_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    return value  # as is: an lstr keeps its origin trace (pydantic would copy it to a plain str)


#: A str field that keeps `lstr` instances.
Text = Annotated[str, PlainValidator(_keep_str)]


def _is_pil_image(value: Any) -> bool:
    return type(value).__module__.startswith("PIL.") and hasattr(value, "save") and hasattr(value, "mode")


def image_to_data_url(image: Any) -> str:
    """A PIL image as a PNG data URL (what OpenAI-compatible endpoints accept)."""
    if image.mode not in ("L", "RGB", "RGBA"):
        image = image.convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class ImageContent(BaseModel):
    """An image given as a PIL image or as a URL (http(s) or data:)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    image: Optional[Any] = None
    url: Optional[str] = None
    detail: Optional[str] = None

    @field_serializer("image", when_used="json")
    def _image_as_data_url(self, image: Any) -> Optional[str]:  # JSON dumps carry the PNG, as in ell-ai
        return None if image is None else image_to_data_url(image)

    def model_post_init(self, __context: Any) -> None:
        if (self.image is None) == (self.url is None):
            raise ValueError("ImageContent needs exactly one of image= (a PIL image) or url=")
        if self.image is not None and not _is_pil_image(self.image):
            raise TypeError(f"ImageContent(image=...) expects a PIL image, got {type(self.image).__name__}")

    @classmethod
    def coerce(cls, value: Any) -> "ImageContent":
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            if value.startswith(("http://", "https://", "data:image/")):
                return cls(url=value)
            raise ValueError("an image string must be an http(s) URL or a data:image/... URL")
        if _is_pil_image(value):
            return cls(image=value)
        if hasattr(value, "ndim") and getattr(value, "ndim", 0) == 3:  # numpy HxWxC
            from PIL import Image as PILImage

            return cls(image=PILImage.fromarray(value))
        raise ValueError(f"cannot use a {type(value).__name__} as an image")

    def as_url(self) -> str:
        return self.url if self.url is not None else image_to_data_url(self.image)

    def __ell_json__(self) -> dict[str, Any]:
        d: dict[str, Any] = {"url": self.as_url()}
        if self.detail:
            d["detail"] = self.detail
        return d


class ToolResult(BaseModel):
    """What a tool returned for one tool call, as content blocks."""

    tool_call_id: Text
    result: list["ContentBlock"]

    @property
    def text(self) -> str:
        return _content_to_text(self.result)

    @property
    def text_only(self) -> str:
        return _content_to_text_only(self.result)

    def __repr__(self) -> str:  # ell-ai's, unquoted; str() stays pydantic's `tool_call_id='…' result=[…]`
        return f"ToolResult(tool_call_id={self.tool_call_id}, result={_content_to_text(self.result)})"

    def __ell_json__(self) -> dict[str, Any]:
        return {"tool_call_id": str(self.tool_call_id), "result": [b.__ell_json__() for b in self.result]}


class ToolCall(BaseModel):
    """A model's request to call one of the LMP's tools."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    tool: Any
    tool_call_id: Optional[Text] = None
    params: Any  # the tool's params model instance, or the raw dict when the model's arguments were invalid
    error: Optional[str] = Field(default=None, exclude=True, repr=False)  # ours only: kept out of str()

    @field_serializer("tool", when_used="json")
    def _tool_name(self, tool: Any) -> str:  # a function has no JSON form: dump its name
        return getattr(tool, "__name__", str(tool))

    def __init__(self, tool: Any, params: Any, tool_call_id: Optional[str] = None, **kw: Any) -> None:
        error = kw.pop("error", None)
        model = params_model_of(tool)
        if model is not None and isinstance(params, dict):
            try:
                params = model(**params)
            except Exception as exc:  # keep the call inspectable; calling it raises
                error = f"invalid arguments for tool {getattr(tool, '__name__', tool)!s}: {exc}"
        super().__init__(tool=tool, params=params, tool_call_id=tool_call_id, error=error)

    @property
    def name(self) -> str:
        return getattr(self.tool, "__name__", str(self.tool))

    def arguments(self) -> dict[str, Any]:
        return self.params.model_dump() if isinstance(self.params, BaseModel) else dict(self.params)

    def __call__(self, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError("a ToolCall is called with the params the model chose; pass no arguments")
        if self.error:
            raise ValueError(self.error)
        return self.tool(**self._call_kwargs())

    def _call_kwargs(self) -> dict[str, Any]:
        # As in ell-ai, the tool is called with `params.model_dump()`: nested models (and lists of
        # them) arrive as plain dicts, which is what ell-ai programs index (`address["city"]`).
        if isinstance(self.params, BaseModel):
            return self.params.model_dump()
        return dict(self.params)

    def call_and_collect_as_content_block(self) -> "ContentBlock":
        if self.error:
            result = ToolResult(tool_call_id=self.tool_call_id or "", result=[ContentBlock(text=f"Error: {self.error}")])
        else:
            result = self.tool(**self._call_kwargs(), _tool_call_id=self.tool_call_id)
        return ContentBlock(tool_result=result)

    def call_and_collect_as_message_block(self) -> "ContentBlock":
        return self.call_and_collect_as_content_block()

    def call_and_collect_as_message(self) -> "Message":
        return Message(role="user", content=[self.call_and_collect_as_content_block()])

    def __repr__(self) -> str:  # ell-ai's: `ToolCall(add(a=1 b=2), tool_call_id='c1')`, quoting even None
        return f"ToolCall({self.name}({self.params}), tool_call_id='{self.tool_call_id}')"

    def __ell_json__(self) -> dict[str, Any]:
        d = {"id": str(self.tool_call_id or ""), "name": self.name, "arguments": self.arguments()}
        if self.error:
            d["error"] = self.error
        return d


class ContentBlock(BaseModel):
    """One piece of a message: exactly one of text, image, audio, tool_call, tool_result, parsed."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    text: Optional[Text] = None
    image: Optional[ImageContent] = None
    audio: Optional[Any] = None
    tool_call: Optional[ToolCall] = None
    tool_result: Optional[ToolResult] = None
    parsed: Optional[BaseModel] = None

    def __init__(self, **data: Any) -> None:
        # As in ell-ai: `image=` may be a PIL image, a numpy array or a URL (coerced before
        # validation), and the legacy `image_detail=` keyword sets the detail of a coerced image.
        detail = data.pop("image_detail", None)
        image = data.get("image")
        if image is not None and not isinstance(image, (ImageContent, dict)):
            data["image"] = image = ImageContent.coerce(image)
            if detail:
                image.detail = detail
        super().__init__(**data)

    def model_post_init(self, __context: Any) -> None:
        set_fields = [k for k in _BLOCK_KINDS if getattr(self, k) is not None]
        if len(set_fields) > 1:
            raise ValueError(f"a ContentBlock holds one kind of content, got {', '.join(set_fields)}")
        if self.image is not None and not isinstance(self.image, ImageContent):
            self.image = ImageContent.coerce(self.image)

    @property
    def type(self) -> Optional[str]:
        for kind in _BLOCK_KINDS:
            if getattr(self, kind) is not None:
                return kind
        return None

    @property
    def content(self) -> Any:
        kind = self.type
        return getattr(self, kind) if kind else None

    @classmethod
    def coerce(cls, content: Any) -> "ContentBlock":
        """Turn a str, image, tool call/result, pydantic model or block into a ContentBlock."""
        if isinstance(content, ContentBlock):
            return content
        if isinstance(content, str):
            return cls(text=content)
        if isinstance(content, ToolCall):
            return cls(tool_call=content)
        if isinstance(content, ToolResult):
            return cls(tool_result=content)
        if isinstance(content, ImageContent):
            return cls(image=content)
        if _is_pil_image(content) or (hasattr(content, "ndim") and getattr(content, "ndim", 0) == 3):
            return cls(image=ImageContent.coerce(content))
        if isinstance(content, BaseModel):
            return cls(parsed=content)
        if isinstance(content, dict) and content and set(content) <= _BLOCK_KEYS:
            # a dumped block ({"text": "hi"}): `Message.model_validate(m.model_dump())` round-trips, as in ell-ai
            return cls(**content)
        raise ValueError(
            f"cannot put a {type(content).__name__} in a message: use str, a PIL image, ell.ImageContent(url=...), "
            "a pydantic model, a ToolCall/ToolResult or a ContentBlock"
        )

    def __repr__(self) -> str:
        # ell-ai's: only the field that is set, by its str(): `ContentBlock(text=hi)`,
        # `ContentBlock(parsed=name='Ann' age=3)`; str() is the same.
        fields = ", ".join(f"{k}={v}" for k, v in self.__dict__.items() if v is not None)
        return f"ContentBlock({fields})"

    __str__ = __repr__

    def __ell_json__(self) -> dict[str, Any]:
        if self.text is not None:
            return {"text": self.text}
        if self.image is not None:
            return {"image": self.image.__ell_json__()}
        if self.tool_call is not None:
            return {"tool_call": self.tool_call.__ell_json__()}
        if self.tool_result is not None:
            return {"tool_result": self.tool_result.__ell_json__()}
        if self.parsed is not None:
            return {"parsed": self.parsed.model_dump(mode="json"), "parsed_type": type(self.parsed).__name__}
        if self.audio is not None:
            return {"audio": "<audio>"}
        return {}


_BLOCK_KINDS = ("text", "image", "audio", "tool_call", "tool_result", "parsed")
_BLOCK_KEYS = frozenset((*_BLOCK_KINDS, "image_detail"))


def to_content_blocks(content: Any = None, **block_kwargs: Any) -> list[ContentBlock]:
    if content is None:
        return [ContentBlock(**block_kwargs)]
    if not isinstance(content, list):
        content = [content]
    return [ContentBlock.coerce(c) for c in content]


class Message(BaseModel):
    """One chat message: a role and a list of content blocks."""

    role: str
    content: list[ContentBlock]
    _origin: Optional[str] = PrivateAttr(default=None)  # the invocation that produced it

    def __init__(self, role: str, content: Any = None, **block_kwargs: Any) -> None:
        super().__init__(role=role, content=to_content_blocks(content, **block_kwargs))

    @classmethod
    def of_text(cls, role: str, text: str) -> "Message":
        """A one-text-block message built without validation, for messages ell makes itself on
        every call's path (validation is ~7 µs a message, most of the framework's own cost)."""
        block = _trusted(ContentBlock, {**_EMPTY_BLOCK, "text": text}, {"text"}, None)
        return _trusted(cls, {"role": role, "content": [block]}, {"role", "content"}, {"_origin": None})

    @property
    def text(self) -> str:
        """All text, with non-text content shown by its repr."""
        return _content_to_text(self.content)

    @property
    def text_only(self) -> str:
        """Only the text (and tool results' text)."""
        return _content_to_text_only(self.content)

    @property
    def images(self) -> list[ImageContent]:
        return [c.image for c in self.content if c.image is not None]

    @property
    def audios(self) -> list[Any]:
        return [c.audio for c in self.content if c.audio is not None]

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [c.tool_call for c in self.content if c.tool_call is not None]

    @property
    def tool_results(self) -> list[ToolResult]:
        return [c.tool_result for c in self.content if c.tool_result is not None]

    @property
    def parsed(self) -> Union[BaseModel, list[BaseModel]]:
        """The structured output: one model, or a list when there are several."""
        parsed = [c.parsed for c in self.content if c.parsed is not None]
        return parsed[0] if len(parsed) == 1 else parsed

    @field_serializer("content")
    def _dump_content(self, content: list[ContentBlock], info: Any) -> list[dict[str, Any]]:
        # As in ell-ai, a dumped block holds only its one kind of content: [{"text": "hi"}].
        dumped = []
        for b in content:
            d = b.model_dump(mode=info.mode, exclude_none=True, exclude={"parsed"})
            if b.parsed is not None:  # by its own class: the field's declared type (BaseModel) has no fields
                d["parsed"] = b.parsed.model_dump(mode=info.mode)
            dumped.append(d)
        return dumped

    def call_tools_and_collect_as_message(self, parallel: bool = False, max_workers: Optional[int] = None) -> "Message":
        """Run every tool call in this message; the results come back as one user message."""
        calls = self.tool_calls
        if parallel and len(calls) > 1:
            # Each tool runs in its own copy of the caller's context, so its invocation records the
            # caller's current invocation as parent, as a sequential run does; results keep the calls' order.
            with ThreadPoolExecutor(max_workers=max_workers) as pool:
                futures = [pool.submit(copy_context().run, c.call_and_collect_as_content_block) for c in calls]
                blocks = [f.result() for f in futures]
        else:
            blocks = [c.call_and_collect_as_content_block() for c in calls]
        return Message(role="user", content=blocks)

    def __ell_json__(self) -> dict[str, Any]:
        return {"role": self.role, "content": [b.__ell_json__() for b in self.content]}

    def __ell_plain_json__(self) -> Optional[dict[str, Any]]:
        """`__ell_json__` when every block is text (cheap to write anywhere), else None."""
        content = []
        for b in self.content:
            if b.text is None:
                return None
            content.append({"text": b.text})
        return {"role": self.role, "content": content}

    @classmethod
    def from_json(cls, data: dict[str, Any], tools: Optional[list[Callable[..., Any]]] = None) -> "Message":
        """Rebuild a message from its `__ell_json__` form (tools resolve recorded tool calls)."""
        by_name = {getattr(t, "__name__", ""): t for t in tools or []}
        blocks = [_block_from_json(b, by_name) for b in data.get("content", [])]
        return cls(role=data["role"], content=blocks)

    # repr() and str() are pydantic's, as in ell-ai: `Message(role='user', content=[ContentBlock(text=hi)])`.


def _trusted(cls: type[BaseModel], fields: dict[str, Any], fields_set: set[str],
             private: Optional[dict[str, Any]]) -> Any:
    """An instance of `cls` with `fields` set as given: pydantic v2's own layout, no validation.
    `fields_set` and `private` become the instance's own (pass new ones)."""
    obj = _new(cls)
    _set(obj, "__dict__", fields)
    _set(obj, "__pydantic_fields_set__", fields_set)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", private)
    return obj


_new, _set = object.__new__, object.__setattr__
_EMPTY_BLOCK = {k: None for k in ContentBlock.model_fields}


def _block_from_json(b: dict[str, Any], tools: dict[str, Any]) -> ContentBlock:
    if "text" in b:
        return ContentBlock(text=b["text"])
    if "image" in b:
        return ContentBlock(image=ImageContent(url=b["image"]["url"], detail=b["image"].get("detail")))
    if "tool_call" in b:
        tc = b["tool_call"]
        tool = tools.get(tc["name"]) or tc["name"]
        return ContentBlock(tool_call=ToolCall(tool=tool, params=tc.get("arguments", {}), tool_call_id=tc.get("id")))
    if "tool_result" in b:
        tr = b["tool_result"]
        return ContentBlock(
            tool_result=ToolResult(tool_call_id=tr["tool_call_id"], result=[_block_from_json(x, tools) for x in tr["result"]])
        )
    if "parsed" in b:
        return ContentBlock(text=json.dumps(b["parsed"]))
    return ContentBlock(text="")


def _content_to_text_only(content: list[ContentBlock]) -> str:
    if len(content) == 1 and content[0].text is not None:  # the common case, on every call's path
        return content[0].text
    parts = [t for c in content if (t := (c.tool_result.text_only if c.tool_result else c.text))]
    return lstr("\n").join(parts)


def _content_to_text(content: list[ContentBlock]) -> str:
    if len(content) == 1 and content[0].text is not None:
        return content[0].text
    return lstr("\n").join(t for c in content if (t := c.text or repr(c.content)))


#: ell-ai's typing aliases (annotations in ell-ai programs import them from here).
AnyContent = Union[ContentBlock, str, ToolCall, ToolResult, ImageContent, BaseModel]  # + PIL images, arrays
InvocableTool = Callable[..., Union[ToolResult, str, list[ContentBlock]]]
MessageOrDict = Union[Message, dict[str, str]]
Chat = list[Message]
LMPParams = dict[str, Any]
MultiTurnLMP = Callable[..., Chat]
OneTurn = Callable[..., str]
ChatLMP = Callable[[Chat, Any], Chat]
LMP = Union[OneTurn, MultiTurnLMP, ChatLMP]
InvocableLM = Callable[..., str]


def system(content: Any) -> Message:
    """A system message."""
    return Message(role="system", content=content)


def user(content: Any) -> Message:
    """A user message (text, images, tool results...)."""
    return Message(role="user", content=content)


def assistant(content: Any) -> Message:
    """An assistant message."""
    return Message(role="assistant", content=content)


ToolResult.model_rebuild()
ContentBlock.model_rebuild()
Message.model_rebuild()
