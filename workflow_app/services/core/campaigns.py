"""Campaigns: per dossier kind and year, the filing deadline, the registered applicant
units and the district's own criteria count, as data in states/campaigns/<year>.yaml
(not in states/ itself: every states/*.yaml is read as a workflow definition).

`load_campaigns(folder)` is pure (no Flask, no database) and names the file and key of
every problem; `filing_status(dossier, today)` says how a dossier stands against its
campaign's deadline: days left while unfiled, on time or late once submitted (the
first submission's day in +07:00). A dossier without a campaign has no status.
"""
from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml
from flask import current_app

from ...clock import local_date, local_today
from ...extensions import db
from ...models import AuditRecord
from ...workflow.yamlfile import load_yaml
from .common import first_filing, is_filing
from .reference import UNITS_FILE, reform_files

log = logging.getLogger(__name__)

_YEAR_FILE = re.compile(r"^(\d{4})\.yaml$")
_CODE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_KIND = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = {"year", "source", "kinds", "district_criteria"}
_KIND_KEYS = {"deadline", "label", "registered", "note"}


class CampaignError(Exception):
    """A campaign file is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class Campaign:
    kind: str
    year: int
    deadline: date
    label: dict            # {"vi": ..., "en": ...}
    registered: tuple[str, ...]  # applicant unit codes registered by 1 December of year - 1


@dataclass(frozen=True)
class CampaignYear:
    year: int
    path: str
    kinds: dict[str, Campaign]
    district_criteria: dict[str, dict]  # {"tam-duong": {"met": 3, "total": 9}}


@dataclass(frozen=True)
class FilingStatus:
    deadline: date
    days_left: int          # calendar days to the deadline from today (unfiled) or from filing; < 0: late
    filed_on: date | None   # the first submission's day (+07:00), None while unfiled

    @property
    def late(self) -> bool:
        return self.days_left < 0

    @property
    def days_late(self) -> int:
        return max(0, -self.days_left)


# ----------------------------------------------------------------------------- loading

def _fail(path: Path, key: str, problem: str) -> CampaignError:
    return CampaignError(f"campaigns/{path.name}: {key}: {problem}")


def _date(value, path: Path, key: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise _fail(path, key, f"must be a date YYYY-MM-DD, got {value!r}") from None
    return value


def _label(value, path: Path, key: str) -> dict:
    if not isinstance(value, dict) or not value.get("vi") or not value.get("en"):
        raise _fail(path, key, "needs both 'vi' and 'en'")
    return {"vi": str(value["vi"]), "en": str(value["en"])}


def load_campaign_file(path: Path, known_kinds: set[str] | None = None,
                       known_units: set[str] | None = None) -> CampaignYear:
    """One <year>.yaml; CampaignError naming the file and key of the first problem."""
    m = _YEAR_FILE.match(path.name)
    if not m:
        raise CampaignError(f"campaigns/{path.name}: a campaign file is named <year>.yaml, e.g. 2024.yaml")
    year = int(m.group(1))
    try:
        doc = load_yaml(path)
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: an impossible date like 2024-09-31
        raise _fail(path, "(top)", f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise _fail(path, "(top)", "must be a mapping")
    unknown = sorted(set(map(str, doc)) - _TOP_KEYS)
    if unknown:
        raise _fail(path, unknown[0], f"unknown key (known: {', '.join(sorted(_TOP_KEYS))})")
    if doc.get("year") != year:
        raise _fail(path, "year", f"must be {year}, the year in the file name (got {doc.get('year')!r})")
    kinds_doc = doc.get("kinds")
    if not isinstance(kinds_doc, dict) or not kinds_doc:
        raise _fail(path, "kinds", "must be a mapping of dossier kinds, e.g. {<kind>: {deadline: ...}}")
    kinds: dict[str, Campaign] = {}
    for kind, body in kinds_doc.items():
        where = f"kinds.{kind}"
        if not isinstance(kind, str) or not _KIND.match(kind):
            raise _fail(path, where, "a dossier kind is a lowercase name (a-z, 0-9, _), as in states/*.yaml `kind:`")
        if known_kinds is not None and kind not in known_kinds:
            raise _fail(path, where, f"unknown dossier kind (known: {', '.join(sorted(known_kinds))})")
        if not isinstance(body, dict):
            raise _fail(path, where, "must be a mapping with deadline, label and registered")
        extra = sorted(set(map(str, body)) - _KIND_KEYS)
        if extra:
            raise _fail(path, f"{where}.{extra[0]}", f"unknown key (known: {', '.join(sorted(_KIND_KEYS))})")
        if "deadline" not in body:
            raise _fail(path, f"{where}.deadline", "missing")
        deadline = _date(body["deadline"], path, f"{where}.deadline")
        if deadline.year != year:
            raise _fail(path, f"{where}.deadline", f"{deadline} is outside {year}")
        label = _label(body.get("label"), path, f"{where}.label")
        registered = body.get("registered") or []
        if not isinstance(registered, list):
            raise _fail(path, f"{where}.registered", "must be a list of unit codes")
        seen: set[str] = set()
        for i, code in enumerate(registered):
            key = f"{where}.registered[{i}]"
            if not isinstance(code, str) or not _CODE.match(code):
                raise _fail(path, key, f"not a unit code: {code!r}")
            if code in seen:
                raise _fail(path, key, f"'{code}' is listed twice")
            if known_units is not None and code not in known_units:
                raise _fail(path, key, f"unknown unit '{code}'")
            seen.add(code)
        kinds[kind] = Campaign(kind, year, deadline, label, tuple(registered))
    district_criteria: dict[str, dict] = {}
    for code, counts in (doc.get("district_criteria") or {}).items():
        where = f"district_criteria.{code}"
        if known_units is not None and code not in known_units:
            raise _fail(path, where, f"unknown unit '{code}'")
        if not isinstance(counts, dict) or set(counts) != {"met", "total"}:
            raise _fail(path, where, "must be {met: N, total: M}")
        met, total = counts["met"], counts["total"]
        if any(isinstance(x, bool) or not isinstance(x, int) for x in (met, total)) or not 0 <= met <= total \
                or total < 1:
            raise _fail(path, where, f"needs whole numbers 0 <= met <= total, total >= 1 (got {met!r} of {total!r})")
        district_criteria[str(code)] = {"met": met, "total": total}
    return CampaignYear(year, str(path), kinds, district_criteria)


def load_campaigns(folder: str | Path, known_kinds: set[str] | None = None,
                   known_units: set[str] | None = None) -> dict[int, CampaignYear]:
    """Every <year>.yaml of `folder` (none when the folder is missing)."""
    folder = Path(folder)
    found: dict[int, CampaignYear] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in (".yaml", ".yml"):
            continue  # README and the like
        c = load_campaign_file(path, known_kinds, known_units)
        found[c.year] = c
    return found


def reference_unit_codes() -> set[str]:
    """Unit codes `init-db` loads: reference_data/units.yaml and the shipped reforms' new units."""
    codes = {str(u["code"]) for u in (load_yaml(Path(UNITS_FILE)) or {}).get("units", [])}
    for path in reform_files():
        codes |= {str(u["code"]) for u in (load_yaml(path) or {}).get("new_units", [])}
    return codes


def check_campaigns(states_dir: str | Path, known_kinds: set[str] | None = None) -> list[str]:
    """[] when states/campaigns/ is valid, else the problem (for `flask states check`)."""
    try:
        load_campaigns(Path(states_dir) / "campaigns", known_kinds, reference_unit_codes())
    except CampaignError as exc:
        return [str(exc)]
    return []


@functools.lru_cache(maxsize=4)
def _cached(folder: str) -> dict[int, CampaignYear]:
    return load_campaigns(folder)


def clear_cache() -> None:
    _cached.cache_clear()


# ----------------------------------------------------------------------------- the app's view

def campaigns() -> dict[int, CampaignYear]:
    """The app's campaigns (STATES_DIR/campaigns), loaded once. A broken file is
    logged and read as no campaigns, so pages keep working; `states check` names it."""

    folder = str(Path(current_app.config["STATES_DIR"]) / "campaigns")
    try:
        return _cached(folder)
    except CampaignError as exc:
        log.error("campaigns not loaded: %s", exc)
        return {}


def campaign_for(kind: str, year: int) -> Campaign | None:
    c = campaigns().get(year)
    return c.kinds.get(kind) if c else None


def status_for(campaign: Campaign | None, filed_on: date | None, today: date) -> FilingStatus | None:
    """Pure: days left from today while unfiled, else from the filing day."""
    if campaign is None:
        return None
    return FilingStatus(campaign.deadline, (campaign.deadline - (filed_on or today)).days, filed_on)


def first_submission(dossier) -> date | None:
    """The day (+07:00) the dossier was first filed (its `files: true` event), or None."""
    first = first_filing(dossier)
    return local_date(first.at) if first else None


def filing_status(dossier, today: date | None = None) -> FilingStatus | None:
    """How the dossier stands against its campaign's filing deadline; None without a campaign."""
    campaign = campaign_for(dossier.kind, dossier.year)
    if campaign is None:
        return None
    today = today or local_today()
    return status_for(campaign, first_submission(dossier) if dossier.id is not None else None, today)


def first_submissions(dossiers) -> dict[int, date]:
    """`first_submission` of several dossiers with one grouped query (lists, the work
    queue): {dossier id: the day (+07:00) of its first filing}; unfiled ones are absent."""
    by_kind: dict[str, list[int]] = {}
    for dossier in dossiers:
        if dossier.id is not None:
            by_kind.setdefault(dossier.kind, []).append(dossier.id)
    if not by_kind:
        return {}
    # Each kind has its own filing events: one clause per kind of the page.
    filing = db.or_(*(db.and_(AuditRecord.dossier_id.in_(ids), is_filing(kind)) for kind, ids in by_kind.items()))
    first = (db.select(AuditRecord.dossier_id, db.func.min(AuditRecord.seq).label("seq"))
             .where(filing).group_by(AuditRecord.dossier_id).subquery())
    rows = db.session.execute(
        db.select(AuditRecord.dossier_id, AuditRecord.at)
        .join(first, db.and_(AuditRecord.dossier_id == first.c.dossier_id, AuditRecord.seq == first.c.seq))).all()
    return {r.dossier_id: local_date(r.at) for r in rows}


def filing_statuses(dossiers, today: date | None = None) -> dict[int, FilingStatus | None]:
    """`filing_status` of several dossiers: one query for those with a campaign, none without."""
    today = today or local_today()
    found = {d.id: campaign_for(d.kind, d.year) for d in dossiers}
    filed = first_submissions([d for d in dossiers if found[d.id] is not None])
    return {i: status_for(c, filed.get(i), today) for i, c in found.items()}


def filing_dict(status: FilingStatus | None) -> dict | None:
    """The API's `filing` of a dossier."""
    if status is None:
        return None
    return {"deadline": status.deadline.isoformat(), "days_left": status.days_left,
            "filed_on": status.filed_on.isoformat() if status.filed_on else None, "late": status.late}
