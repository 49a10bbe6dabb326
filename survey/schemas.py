"""Survey definitions and submissions as msgspec structs (CONTRACT "Survey definition")."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec

Key = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,62}$", description="question key")]
Texts = Annotated[dict[str, Annotated[str, msgspec.Meta(max_length=2000)]], msgspec.Meta(description="text per language code")]

KINDS = ("likert5", "choice", "multi", "text", "yesno")
GOALS = ("closer", "useful")
ROLES = ("gender", "age_band", "newly_arrived", "disability")
GENDERS = ("woman", "man", "non_binary", "undisclosed")


class QuestionDef(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    key: Key
    kind: Literal["likert5", "choice", "multi", "text", "yesno"]
    text: Texts
    goal: Literal["closer", "useful"] | None = None
    role: Literal["gender", "age_band", "newly_arrived", "disability"] | None = None
    options: list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]] | None = None
    # Option labels per language: {"woman": {"sv": "Tjej/kvinna", ...}}
    option_text: dict[str, Texts] | None = None
    required: bool = False


class SurveyDef(msgspec.Struct, forbid_unknown_fields=True):
    unit: str
    title: Texts
    opens: dt.date
    closes: dt.date
    questions: Annotated[list[QuestionDef], msgspec.Meta(min_length=1, max_length=60)]
    access: Literal["code", "open"] = "code"
    shared_device: bool = False


class SurveyCreated(msgspec.Struct):
    id: int
    slug: str
    version: int


class Published(msgspec.Struct):
    url: str


class CodesRequest(msgspec.Struct, forbid_unknown_fields=True):
    count: Annotated[int, msgspec.Meta(ge=1, le=2000)]


class Codes(msgspec.Struct):
    codes: list[str]


class Submission(msgspec.Struct, forbid_unknown_fields=True):
    answers: dict[str, Any]
    code: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    language: Annotated[str, msgspec.Meta(max_length=8)] | None = None


class Receipt(msgspec.Struct):
    receipt: str
    results_url: str


class SurveyUpdated(msgspec.Struct):
    id: int
    slug: str
    version: int
    new_series: list[str]
