"""Campaigns as code: one YAML file per campaign, validated before anything is sent.

A definition says who is targeted (an RFM segment, a country, or an analyst's SQL run as
the read-only BI role), how many products each customer gets, the file layout the email
tool loads (``braze``, ``klaviyo``, or the generic ``wide``/``long`` files), the share held
out, when it goes out (``daily``, ``weekly:mon``, ``monthly:1``, ``once:2024-01-01``) and
where the files go (the outbox folder by default, another folder, or an object-storage
URL delivered by the ``crm_campaigns`` DAG)::

    name: new_for_you
    description: Weekly picks for every consenting customer
    audience: {segment: loyal}
    k: 4
    layout: braze
    holdout_share: 0.1
    cadence: weekly:mon
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from recsys.contracts.marts import RfmSegment
from recsys.publishing.export_files import ExportFormat

Layout = Literal["braze", "klaviyo", "wide", "long"]
LAYOUTS: tuple[str, ...] = typing.get_args(Layout)
#: Layouts that reach a customer by address only (Klaviyo's first column is the e-mail).
NEEDS_ADDRESS = ("klaviyo",)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CADENCE = re.compile(
    r"^(daily|weekly:(mon|tue|wed|thu|fri|sat|sun)|monthly:([1-9]|1\d|2[0-8])|once:\d{4}-\d{2}-\d{2})$"
)


class CampaignError(ValueError):
    """A campaign definition that cannot be used, named with its file and field."""


class AudienceSpec(BaseModel):
    """Who a campaign targets: everyone with a published list, narrowed by segment and
    country, or the customers an analyst's query returns (run as the read-only BI role)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    segment: RfmSegment | None = None
    country: str | None = None
    sql: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> AudienceSpec:
        if self.sql and (self.segment or self.country):
            raise ValueError("audience: give sql, or segment/country, not both")
        return self


class Campaign(BaseModel):
    """One campaign definition (a YAML file of the definitions folder)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
    description: str = ""
    audience: AudienceSpec = AudienceSpec()
    k: int = Field(default=5, ge=1, le=50)
    layout: Layout = "braze"
    format: ExportFormat = "csv"
    holdout_share: float = Field(default=0.1, ge=0.0, le=0.5)
    cadence: str = "daily"
    destination: str | None = None
    priority: int = 100
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    attribution_days: int | None = Field(default=None, ge=1, le=60)

    @field_validator("cadence")
    @classmethod
    def _cadence(cls, value: str) -> str:
        if not _CADENCE.match(value):
            raise ValueError("cadence must be daily, weekly:<mon..sun>, monthly:<1..28> or once:<YYYY-MM-DD>")
        if value.startswith("once:"):
            dt.date.fromisoformat(value[5:])
        return value

    @model_validator(mode="after")
    def _tool_files_are_csv(self) -> Campaign:
        if self.layout in ("braze", "klaviyo") and self.format != "csv":
            raise ValueError(f"layout {self.layout} is imported as CSV: use format csv")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self

    def is_due(self, send_date: dt.date) -> bool:
        """Whether the campaign goes out on ``send_date``."""
        if (self.start_date and send_date < self.start_date) or (self.end_date and send_date > self.end_date):
            return False
        kind, _, value = self.cadence.partition(":")
        if kind == "daily":
            return True
        if kind == "weekly":
            return send_date.weekday() == _WEEKDAYS.index(value)
        if kind == "monthly":
            return send_date.day == int(value)
        return send_date == dt.date.fromisoformat(value)

    def tool_campaign_name(self, send_date: dt.date) -> str:
        """The name the email tool's campaign carries, so its events come back to this send."""
        return f"{self.name}_{send_date:%Y-%m-%d}"


def parse_campaign(text: str, source: str = "<text>") -> Campaign:
    """A campaign from YAML text; every problem in one line naming ``source`` and the field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CampaignError(f"{source}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict):
        raise CampaignError(f"{source}: a campaign is a mapping of fields (name, audience, layout, ...)")
    try:
        return Campaign(**data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'campaign'}: {error['msg']}" for error in exc.errors()
        )
        raise CampaignError(f"{source}: {problems}") from None


def load_campaigns(folder: Path) -> list[Campaign]:
    """Every ``*.yml``/``*.yaml`` campaign of ``folder``, in sending order (priority, name).

    Raises
    ------
    CampaignError
        A file that does not validate, or two files with the same campaign name.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CampaignError(f"{folder}: no campaign definitions folder (RECSYS_CAMPAIGNS__DEFINITIONS_DIR)")
    campaigns: dict[str, tuple[Campaign, Path]] = {}
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        campaign = parse_campaign(path.read_text(), path.name)
        if campaign.name in campaigns:
            raise CampaignError(
                f"{path.name}: campaign {campaign.name!r} is also defined in {campaigns[campaign.name][1].name}"
            )
        campaigns[campaign.name] = (campaign, path)
    return sorted((c for c, _ in campaigns.values()), key=lambda c: (c.priority, c.name))


def due_campaigns(campaigns: list[Campaign], send_date: dt.date) -> list[Campaign]:
    """The campaigns that go out on ``send_date``, in sending order."""
    return [c for c in campaigns if c.is_due(send_date)]
