"""The JSON API's own description (/schema/openapi.json) says what each route really answers.

Litestar documents a route's success and, for any route with parameters, a 400 "validation error".
This service answers more, and differently (youthvoice/http.py): 401 without a valid token, 403 for
a role that may not, 404 for what the caller cannot see, 409 for a step that does not fit the
state, 413 for a body over 1 MB, 422 naming the field, 429 with Retry-After, 503 while the database
is busy — and exports are CSV or .xlsx files, not JSON. Two parts keep the document true:

- `answers(...)`, given to each route decorator as `responses=`, lists the statuses that route
  gives beyond its success, each with the error body it really has;
- `DescribedJson`, the render plugin of /schema/openapi.json, adds what holds for every route or
  cannot be said per handler: the staff bearer token, the guard's plain-text 400
  (youthvoice/security.py), Retry-After on 429 and 503, the file type of each export path (one
  handler serves .csv and .xlsx), optional bodies, unknown body fields refused, the form of a
  period, and path parameters that cannot hold control characters.

tests/security/test_openapi_truth.py checks the document against the API with Schemathesis.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, route
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin

from .tables import XLSX_MEDIA


class Problem(msgspec.Struct):
    """The body of every refusal but 422 (youthvoice/http.py, http_error_handler)."""

    status_code: int
    detail: str  # "field: message" when one field is at fault
    extra: list[Any] | dict[str, Any] | None = None


class FieldProblem(msgspec.Struct):
    field: str
    message: str


class Invalid(msgspec.Struct):
    """The body of a 422 (youthvoice/http.py, validation_handler): every field at fault, named."""

    status_code: int
    detail: str
    errors: list[FieldProblem]


WHY = {
    400: "The request could not be read: malformed JSON or text, or a Host or path the service refuses "
         "(that one is plain text).",
    401: "No valid bearer token: a staff token (`youthvoice token create`) or, on participant routes, "
         "the participant token from joining.",
    403: "Your role cannot do this.",
    404: "Not found, or not in the units you can see (other units' objects are not revealed).",
    409: "The request does not fit the current state (named in `detail`).",
    413: "The body is larger than 1 MB.",
    422: "A field is invalid: `errors` names each field with a message.",
    429: "Too many requests from here: wait the seconds in Retry-After.",
    503: "The database is busy: nothing was done, try again after the seconds in Retry-After.",
}

# Statuses every route can give: the guard refuses a bad Host or path before routing, and any
# request may meet a busy database.
ALWAYS = (400, 503)


def answers(*statuses: int, body: bool = False) -> dict[int, ResponseSpec]:
    """`responses=` for a route decorator: the statuses this route gives besides its success (400 and
    503 always; 413 and 400 for a route that takes a body), each with its real error body."""
    codes = sorted({*ALWAYS, *statuses, *((413,) if body else ())})
    return {code: ResponseSpec(data_container=Invalid if code == 422 else Problem, description=WHY[code],
                               generate_examples=False)
            for code in codes}


# ---------- what the render plugin adds ----------

CSV = {"schema": {"type": "string", "description": "UTF-8 with BOM, `;` between fields (Swedish Excel)"}}
XLSX = {"schema": {"type": "string", "format": "binary"}}
PLAIN = {"schema": {"type": "string"}}
HTML = {"schema": {"type": "string"}}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                               "schema": {"type": "string", "pattern": r"^\d+$"}}}
# The guard (youthvoice/security.py) refuses control characters in the path before routing.
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
STAFF_TOKEN = {"type": "http", "scheme": "bearer",
               "description": "A staff member's API token: `youthvoice token create --email E`."}
# youthvoice/periods.py: 2026, 2026-VT, 2026-HT, 2026-Q3 (a year outside 2000-2100 is a 422 too).
PERIOD = r"^\d{4}(-(VT|HT|Q[1-4]))?$"


def _strict_structs() -> set[str]:
    """Names of the body types that refuse unknown fields (msgspec forbid_unknown_fields)."""
    found, todo = set(), [msgspec.Struct]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        config = getattr(cls, "__struct_config__", None)
        if config is not None and config.forbid_unknown_fields:
            found.add(cls.__name__)
    return found


def _optional_bodies(request: Request) -> set[tuple[str, str]]:
    """(path, method) of the routes whose body may be left out (`data: X | None = None`)."""
    out = set()
    for r in request.app.routes:
        for handler in getattr(r, "route_handlers", ()):
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is not None and (data.is_optional or data.has_default):
                out.update((r.path_format, method.lower()) for method in handler.http_methods)
    return out


def _set_pattern(param: dict[str, Any], pattern: str) -> None:
    """On a string parameter, also an optional one (`oneOf: [string, null]`)."""
    schema = param.get("schema", {})
    for part in [schema, *schema.get("oneOf", [])]:
        if part.get("type") == "string":
            part["pattern"] = pattern


def describe(schema: dict[str, Any], request: Request) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    strict = _strict_structs()
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        if component.get("type") == "object" and name.rsplit("_", 1)[-1] in strict:
            component["additionalProperties"] = False
    schema.setdefault("components", {})["securitySchemes"] = {"staffToken": STAFF_TOKEN}
    optional = _optional_bodies(request)
    for path, item in schema.get("paths", {}).items():
        download = {".csv": {"text/csv": CSV}, ".xlsx": {XLSX_MEDIA: XLSX}}.get(
            next((s for s in (".csv", ".xlsx") if path.endswith(s)), ""))
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            if not path.startswith("/api/public/"):
                op["security"] = [{"staffToken": []}]
            for param in op.get("parameters", []):
                if param.get("in") == "path" and param.get("schema", {}).get("type") == "string":
                    param["schema"]["pattern"] = NO_CONTROL
                if param.get("in") == "query" and param.get("name") == "period":
                    # left out or empty, an optional period is the current term
                    _set_pattern(param, PERIOD if param.get("required") else f"^({PERIOD[1:-1]})?$")
            if (path, method) in optional and "requestBody" in op:
                op["requestBody"]["required"] = False
            for code, response in op["responses"].items():
                status = int(code)
                if status == 400:
                    response.setdefault("content", {})["text/plain"] = PLAIN
                if status in (429, 503):
                    response["headers"] = RETRY_AFTER
                if download and status < 300:
                    response["content"] = download
                elif download:
                    # A download started in a browser (Accept: text/html) shows its error as a page.
                    response.setdefault("content", {})["text/html"] = HTML
    return schema


class DescribedJson(JsonRenderPlugin):
    """/schema/openapi.json with `describe` applied (once: the schema is the same for the app's life)."""

    _done: bytes | None = None

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        if self._done is None:
            self._done = self.render_json(request, describe(openapi_schema, request))
        return self._done


def options_for(path: str) -> HTTPRouteHandler:
    """OPTIONS for a path that several handlers serve (GET and POST of /api/workshops), listed in
    its router before them. Litestar 2 makes an OPTIONS handler at the first registration on a path
    and keeps it, so its Allow names only the first handler's methods (litestar-org/litestar#4169,
    fixed in 3.0). This one reads the path's methods when asked."""

    def options(request: Request) -> Response:
        template = request.scope.get("path_template")  # without the parameters' types
        methods = {m for r in request.app.routes if getattr(r, "path_format", None) == template for m in r.methods}
        return Response(content=None, status_code=204, headers={"Allow": ", ".join(sorted(methods))},
                        media_type=MediaType.TEXT)

    return route(path, http_method=["OPTIONS"], include_in_schema=False, sync_to_thread=False)(options)


__all__ = ["DescribedJson", "Invalid", "Problem", "answers", "describe", "options_for"]
