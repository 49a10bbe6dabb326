"""HTML forms: one way to take a posted form, and one way to check it against a msgspec struct
so that every error names its field (FieldError), whichever page the form is on; and text that is
not text (broken UTF-8, lone surrogates) refused in forms and JSON bodies before any handler runs."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import unquote_to_bytes

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body

from .errors import FieldError

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

T = TypeVar("T")


def parse_form(data: dict[str, Any], struct: type[T], messages: dict[str, str] | None = None) -> T:
    """The form as `struct`: strings are converted (numbers, dates, booleans from checkboxes), unknown
    fields such as the CSRF token are ignored, and the first problem is a FieldError naming its field,
    with the plain message from `messages` for that field (an English message id) when there is one."""
    clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items() if not k.startswith("_")}
    try:
        return msgspec.convert(clean, struct, strict=False)
    except msgspec.ValidationError as e:
        field, message = _field_and_message(str(e))
        raise FieldError(field, (messages or {}).get(field, message)) from None


def _field_and_message(text: str) -> tuple[str, str]:
    # msgspec says e.g. "Expected `int`, got `str` - at `$.count`" or "Object missing required field `date`".
    if " - at `$." in text:
        message, _, path = text.rpartition(" - at `$.")
        return path.rstrip("`").split(".")[0].split("[")[0], message
    if "missing required field `" in text:
        return text.rsplit("`", 2)[-2], "this field is required"
    return "form", text


# ---------- text that is not text ----------
#
# Litestar reads a form with urllib's parse_qsl, which turns bytes that are not UTF-8 into U+FFFD
# without a word: what a young person's phone sent would be stored changed. A JSON body is decoded
# by msgspec, which refuses such bytes and lone surrogates (\ud800) but with a 400 that names no
# field. Both are refused here, before the handler, with a 422 naming the field.

BROKEN = "this text is not valid UTF-8 (or has a lone surrogate); send it again as UTF-8 text"
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def broken_form_field(body: bytes) -> str | None:
    """The first form field whose name or value is not UTF-8 once percent-decoded, or None."""
    for pair in body.split(b"&"):
        raw_name, _, raw_value = pair.partition(b"=")
        name = unquote_to_bytes(raw_name.replace(b"+", b" "))
        value = unquote_to_bytes(raw_value.replace(b"+", b" "))
        try:
            name.decode("utf-8")
        except UnicodeDecodeError:
            return name.decode("utf-8", "replace") or "form"
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            return name.decode("utf-8") or "form"
    return None


def _surrogate_at(value: object, path: str, depth: int = 0) -> str | None:
    if isinstance(value, str):
        return path if any("\ud800" <= c <= "\udfff" for c in value) else None
    if depth > 50:
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}" if path != "body" else str(k)
            if any("\ud800" <= c <= "\udfff" for c in k):
                return here
            if (found := _surrogate_at(v, here, depth + 1)) is not None:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            if (found := _surrogate_at(v, f"{path}[{i}]", depth + 1)) is not None:
                return found
    return None


def broken_json_field(body: bytes) -> str | None:
    """Where in a JSON body there is text that is not UTF-8 or a lone surrogate ("answers.comment"),
    "body" when it cannot be told, None when the text is sound. The common body (ASCII without a
    surrogate escape, or valid UTF-8) costs one pass over the bytes."""
    if body.isascii():
        if not _SURROGATE.search(body):
            return None
    else:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if not _SURROGATE.search(body):
                return None
    # Something is off: read the body leniently (broken bytes become lone surrogates too) to name it.
    # A pair of escapes (\ud83d\ude00) is one character and not refused; json joins it.
    try:
        parsed = json.loads(body.decode("utf-8", "surrogateescape"))
    except (ValueError, RecursionError):
        return None  # not JSON at all: the handler's own parser answers that
    return _surrogate_at(parsed, "body")


_BODY_KIND: dict[int, str | None] = {}


def _body_kind(handler: Any) -> str | None:
    """"form" or "json" by what the handler's `data` is read as (Litestar reads it that way whatever
    the Content-Type says), None for a handler that takes no body."""
    key = id(handler)
    if key not in _BODY_KIND:
        data = handler.parsed_fn_signature.parameters.get("data")
        media = getattr(data.kwarg_definition, "media_type", None) if data is not None else None
        _BODY_KIND[key] = None if data is None else "form" if media == RequestEncodingType.URL_ENCODED else "json"
    return _BODY_KIND[key]


async def refuse_broken_text(request: Request) -> None:
    """before_request hook: a form or JSON body with text that is not text is a 422 naming the field
    (an HTML page for a form, JSON for the API, as every FieldError), and nothing is stored."""
    kind = _body_kind(request.route_handler)
    if kind is None:
        return
    body = await request.body()  # kept by Litestar for the handler: read once
    field = broken_form_field(body) if kind == "form" else broken_json_field(body)
    if field is not None:
        raise FieldError(field, BROKEN)


def refusing_broken_text(hook: Callable[[Request], Awaitable[None]]) -> Callable[[Request], Awaitable[None]]:
    """`hook`, then `refuse_broken_text`, as the app's one before_request hook (Litestar takes one)."""

    async def before_request(request: Request) -> None:
        await hook(request)
        await refuse_broken_text(request)

    return before_request
