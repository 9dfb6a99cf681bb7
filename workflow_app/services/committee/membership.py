"""Who is on the district steering committee (Ban chỉ đạo) and what each member
owns: communes and criteria, from reference_data/committee.yaml (`flask committee
load`); the standing office that follows the reports. Visits and monthly reports
are committee/visits.py.

The standing office is a role, not a list: an `appraiser` at a live district-level
unit whose role is not limited to some criteria — the office that leads the
appraisal team (Phòng NN&PTNT); other offices' appraisers check only the criteria
they own. It sees the members and communes of its own district's subtree."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ...clock import local_today
from ...extensions import db
from ...models import CommitteeMember, Unit, User
from ...permissions import Scope as Subtree, scope_clause
from ...workflow.errors import NotFound, NotPermitted
from ...workflow.vocabulary import COMMUNE_LEVELS
from ...workflow.yamlfile import load_yaml
from ..core.common import engine
from ..core.reference import REFERENCE_DIR

COMMITTEE_FILE = REFERENCE_DIR / "committee.yaml"




def member_of(user: User | None) -> CommitteeMember | None:
    if user is None or not user.active:
        return None
    return db.session.get(CommitteeMember, user.id)


def standing_office_units(user: User | None) -> list[Unit]:
    """The districts whose standing office this user is (see the module docstring)."""
    if user is None or not user.active:
        return []
    return [ra.unit for ra in user.roles
            if ra.role == "appraiser" and ra.unit.level == "district" and not ra.criteria
            and ra.unit.live_on(local_today())]


def is_standing_office(user: User | None) -> bool:
    return bool(standing_office_units(user))


def require_member(user: User) -> CommitteeMember:
    member = member_of(user)
    if member is None:
        raise NotPermitted(
            "Bạn không phải thành viên Ban chỉ đạo: chỉ thành viên được ghi chuyến đi cơ sở và gửi báo cáo tháng.",
            "You are not a member of the steering committee: only members log visits and file monthly reports.")
    return member


def require_office(user: User) -> list[Unit]:
    units = standing_office_units(user)
    if not units:
        raise NotPermitted(
            "Chỉ cơ quan thường trực Ban chỉ đạo (Phòng Nông nghiệp và PTNT huyện) được xem tình hình báo cáo.",
            "Only the committee's standing office (the district agriculture office) may see the reports' status.")
    return units


@dataclass(frozen=True)
class OwnedCriterion:
    kind: str
    code: str
    name: dict        # {"vi": ..., "en": ...}
    kind_label: dict  # the dossier kind's label


@dataclass
class Scope:
    member: CommitteeMember
    communes: list[Unit]
    criteria: list[OwnedCriterion]
    _kinds: dict = field(default_factory=dict, repr=False)

    def criteria_for(self, commune: Unit) -> list[OwnedCriterion]:
        """The owned criteria that apply to this commune (its kinds of dossier)."""
        if commune.id not in self._kinds:
            self._kinds[commune.id] = applicable_kinds(commune)
        kinds = self._kinds[commune.id]
        return [c for c in self.criteria if c.kind in kinds]

    def commune(self, code: str) -> Unit | None:
        return next((u for u in self.communes if u.code == code), None)


def applicable_kinds(unit: Unit) -> list[str]:
    """Dossier kinds whose applicants are this unit or lie in its subtree
    (a commune: village dossiers; the town: the town's own dossier)."""
    kinds = []
    for kind in engine().kinds():
        level = engine().definition(kind).applicant_level
        under = scope_clause(Unit.id, Subtree.of_unit(unit))  # the unit's subtree, in every period
        if level == unit.level or db.session.execute(
                db.select(Unit.id).where(Unit.level == level, under).limit(1)).first():
            kinds.append(kind)
    return kinds


def owned_criteria(member: CommitteeMember) -> list[OwnedCriterion]:
    out = []
    for kind in engine().kinds():  # the definitions' order, not the file's
        codes = set((member.criteria or {}).get(kind) or ())
        d = engine().definition(kind)
        label = {lang: engine().kind_label(kind, lang) for lang in d.labels}
        out += [OwnedCriterion(kind, c.code, c.name, label) for c in d.criteria if c.code in codes]
    return out


def criterion_name(kind: str, code: str, lang: str = "vi") -> str:
    """The criterion's name in the definition now in force, or its code when gone."""
    d = engine().definition(kind) if kind in engine().kinds() else None
    c = d.criterion(code) if d else None
    return c.name[lang] if c else code


def units_of(codes: list[str]) -> list[Unit]:
    """The units of these codes, in the given order (unknown codes skipped)."""
    if not codes:
        return []
    found = {u.code: u for u in db.session.execute(db.select(Unit).where(Unit.code.in_(codes))).scalars()}
    return [found[c] for c in codes if c in found]


def my_scope(user: User) -> Scope:
    """The communes and criteria the member owns; 403 for a non-member."""
    member = require_member(user)
    return Scope(member=member, communes=units_of(list(member.communes or [])), criteria=owned_criteria(member))


def own_commune(user: User, commune_code: str) -> tuple[CommitteeMember, Unit]:
    member = require_member(user)
    unit = db.session.execute(db.select(Unit).where(Unit.code == (commune_code or ""))).scalar_one_or_none()
    if unit is None or unit.level not in COMMUNE_LEVELS:
        raise NotFound(f"Không có xã hoặc thị trấn mã '{commune_code}'.",
                       f"No commune or town with code '{commune_code}'.")
    if unit.code not in (member.communes or []):
        raise NotPermitted(
            f"{unit.name} không thuộc địa bàn bạn phụ trách trong Ban chỉ đạo.",
            f"{unit.name} is not one of the communes you are responsible for on the committee.")
    return member, unit


class CommitteeFileError(Exception):
    """The committee file is invalid; `problems` names each entry and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class LoadResult:
    added: int
    updated: int
    unchanged: int
    removed: list[str]

    @property
    def members(self) -> int:
        return self.added + self.updated + self.unchanged


def load_committee(path: Path | str = COMMITTEE_FILE) -> LoadResult:
    """Make the committee_members table equal to the file (idempotent). Every
    problem is collected and raised together, naming the entry; nothing changes
    then. Members no longer in the file are removed; their visits and reports stay."""
    path = Path(path)
    name = path.name
    try:
        doc = load_yaml(path)
    except FileNotFoundError:
        raise CommitteeFileError([f"{path}: file not found"]) from None
    except yaml.YAMLError as exc:  # a syntax error, with its line
        raise CommitteeFileError([f"{name}: not valid YAML: {exc}"]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("members"), list):
        raise CommitteeFileError([f"{name}: needs a top-level 'members:' list"])
    problems: list[str] = []
    wanted: dict[int, dict] = {}
    usernames: dict[int, str] = {}
    kinds = engine().kinds()
    for i, item in enumerate(doc["members"]):
        where = f"{name}: members[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a mapping with username, title, criteria, communes")
            continue
        unknown_keys = set(item) - {"username", "title", "criteria", "communes"}
        if unknown_keys:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown_keys)))}")
        username = str(item.get("username") or "").strip()
        where = f"{where} ({username or '?'})"
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none() \
            if username else None
        if not username:
            problems.append(f"{where}: username is missing")
        elif user is None:
            problems.append(f"{where}: unknown user '{username}' "
                            f"(create it with: flask --app wsgi users create {username} ...)")
        elif user.id in wanted:
            problems.append(f"{where}: user '{username}' is listed twice")
        title = item.get("title") or ""
        if not isinstance(title, str) or len(title) > 200:
            problems.append(f"{where}: title must be text of at most 200 characters")
        criteria: dict[str, list[str]] = {}
        raw_criteria = item.get("criteria") or {}
        if not isinstance(raw_criteria, dict):
            problems.append(f"{where}: criteria must map a dossier kind to a list of criterion codes")
            raw_criteria = {}
        for kind, codes in raw_criteria.items():
            if kind not in kinds:
                problems.append(f"{where}: unknown dossier kind '{kind}' (known: {', '.join(kinds)})")
                continue
            if not isinstance(codes, list):
                problems.append(f"{where}: criteria.{kind} must be a list of criterion codes")
                continue
            d = engine().definition(kind)
            clean = []
            for code in codes:
                code = str(code)
                if d.criterion(code) is None:
                    problems.append(f"{where}: unknown criterion '{code}' of {kind} "
                                    f"(known: {', '.join(c.code for c in d.criteria)})")
                elif code not in clean:
                    clean.append(code)
            if clean:
                criteria[kind] = clean
        communes = item.get("communes") or []
        if not isinstance(communes, list):
            problems.append(f"{where}: communes must be a list of commune codes")
            communes = []
        clean_communes = []
        for code in communes:
            code = str(code)
            unit = db.session.execute(db.select(Unit).where(Unit.code == code)).scalar_one_or_none()
            if unit is None:
                problems.append(f"{where}: unknown commune '{code}'")
            elif unit.level not in COMMUNE_LEVELS:
                problems.append(f"{where}: '{code}' is a {unit.level}, not a commune or town")
            elif code not in clean_communes:
                clean_communes.append(code)
        if user is not None and user.id not in wanted:
            wanted[user.id] = {"title": title.strip() if isinstance(title, str) else "",
                               "criteria": criteria, "communes": clean_communes}
            usernames[user.id] = username
    if problems:
        raise CommitteeFileError(problems)
    existing = {m.user_id: m for m in db.session.execute(db.select(CommitteeMember)).scalars()}
    added = updated = unchanged = 0
    for user_id, values in wanted.items():
        row = existing.get(user_id)
        if row is None:
            db.session.add(CommitteeMember(user_id=user_id, **values))
            added += 1
        elif (row.title, row.criteria, row.communes) != (values["title"], values["criteria"], values["communes"]):
            row.title, row.criteria, row.communes = values["title"], values["criteria"], values["communes"]
            updated += 1
        else:
            unchanged += 1
    removed = []
    for user_id, row in existing.items():
        if user_id not in wanted:
            removed.append(row.user.username)
            db.session.delete(row)
    db.session.flush()
    return LoadResult(added, updated, unchanged, sorted(removed))


def members() -> list[CommitteeMember]:
    rows = list(db.session.execute(db.select(CommitteeMember)).scalars())
    return sorted(rows, key=lambda m: (m.user.name, m.user.username))
