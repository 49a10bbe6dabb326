"""HTML forms: one way to take a posted form, and one way to check it against a msgspec struct
so that every error names its field (FieldError), whichever page the form is on."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
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
