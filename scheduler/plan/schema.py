"""The plan file's schema (pydantic): header, organizations, events and sessions, as the JSON seed writes them.

Shape only; what the schema cannot say (references, windows, themes, series) is checked in `plan/checks.py`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from scheduler.plan.models import OrgKind, Precision
from scheduler.plan.vocabulary import DEFAULT_CHAINS, DEFAULT_OFFICE, DEFAULT_TYPES
from scheduler.validation import no_control_characters

MAX_SEED_BYTES = 5 * 1024 * 1024

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
SessionKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
# NUL and control characters are refused in every text: PostgreSQL cannot store NUL, mail and feeds break on others.
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(no_control_characters)
]
LongText = Annotated[str, Field(max_length=5000), AfterValidator(no_control_characters)]
# An activity type's key: the 2023 notice's (quarterly_theme …) or, for a type a plan adds, its label (科技沙龙).
TypeKey = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32), AfterValidator(no_control_characters)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanHeader(_Strict):
    id: Slug
    year: int = Field(ge=2000, le=2100)
    title: Text
    source: Text
    published: date
    timezone: Text
    themes: dict[str, Text]
    office: Slug | None = None  # filled with DEFAULT_OFFICE by PlanFile when the file names none and lists it
    chains: list[Text] = Field(default_factory=lambda: list(DEFAULT_CHAINS))
    types: dict[TypeKey, Text] = Field(default_factory=lambda: dict(DEFAULT_TYPES))  # key → label
    bankuai: list[Slug] | None = None  # None: every district/park unit the plan lists


class OrganizationIn(_Strict):
    id: Slug
    name: Text
    short_name: Text
    aliases: list[Text] = []
    kind: OrgKind
    duties: LongText | None = None
    members: list[Slug] = []
    parent: Slug | None = None


class SessionIn(_Strict):
    key: SessionKey
    title: Text
    location: Text
    date_text: Text
    start: date
    end: date
    precision: Precision
    start_at: AwareDatetime | None = None
    end_at: AwareDatetime | None = None


class EventIn(_Strict):
    seq: int = Field(ge=1, le=9999)
    quarter: int = Field(ge=1, le=4)
    type: TypeKey  # one of plan.types
    theme: Text | None = None
    title: Text
    content: LongText
    locations: list[Text]
    date_text: Text
    hosts: list[Slug]
    co_organizers: list[Slug] = []
    chains: list[Text] = []
    series: Slug | None = None
    sessions: list[SessionIn]


class PlanFile(_Strict):
    plan: PlanHeader
    organizations: list[OrganizationIn]
    events: list[EventIn]

    @model_validator(mode="before")
    @classmethod
    def _default_office(cls, data: Any) -> Any:
        """Name the default office unit when the header names none and the file lists it (else check_plan says so)."""
        if not isinstance(data, dict) or not isinstance(data.get("plan"), dict) or data["plan"].get("office"):
            return data
        units = data.get("organizations")
        ids = {o.get("id") if isinstance(o, dict) else getattr(o, "id", None) for o in units or []} \
            if isinstance(units, list) else set()
        if DEFAULT_OFFICE in ids:
            return {**data, "plan": {**data["plan"], "office": DEFAULT_OFFICE}}
        return data

