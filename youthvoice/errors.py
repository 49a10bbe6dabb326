"""One way to say 'this field is wrong' from any layer: a 422 naming the field."""

from __future__ import annotations

from litestar.exceptions import ValidationException


class FieldError(ValidationException):
    def __init__(self, field: str, message: str):
        super().__init__(detail=f"{field}: {message}", extra=[{"key": field, "message": message}])
        self.field = field
        self.message = message
