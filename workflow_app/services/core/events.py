"""Firing a workflow event: permission, availability, guards, the move, the
record, the effects — all in the caller's transaction."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from ...models import CriterionEntry, Dossier, User
from ...permissions import capacities, has_acted
from ...workflow.definitions import Definition
from ...workflow.errors import DomainError, RuleRefused, Text
from .common import acting_capacity, check_version, definition_of, engine, facts_of, record, touch
from .effects import Act, run_effects
from .lines import apply_grants, copy_lines
from .persist import flush_or_conflict
from .wording import who


def fire_event(actor: User, dossier: Dossier, event_name: str, comment: str | None = None,
               expected_version: int | None = None, granted: dict | None = None) -> Dossier:
    """`granted`: for an event with `grants`, {line id: amount} (lines not named get
    what they asked)."""
    comment = (comment or "").strip() or None
    cap, event, d = _move(actor, dossier, event_name, comment, expected_version, granted)
    run_effects(event.effects, Act(actor, cap, [dossier], d, event_name, comment))
    flush_or_conflict()
    return dossier


def fire_batch(actor: User, items: list[tuple[Dossier, int | None]], event_name: str,
               comment: str | None = None) -> list[Dossier]:
    """One act on several dossiers of one kind: every dossier moves, then the
    effects run once for all of them (one decision listing every village).
    The caller's transaction makes it all or nothing: the first refusal
    raises, and the caller rolls back whatever moved before it."""
    if not items:
        raise RuleRefused("Hãy chọn ít nhất một hồ sơ.", "Choose at least one dossier.")
    dossiers = [dossier for dossier, _ in items]
    if len({x.id for x in dossiers}) != len(dossiers):
        raise RuleRefused("Một hồ sơ được chọn hai lần. Hãy bỏ chọn bản trùng.",
                          "A dossier was chosen twice. Remove the duplicate.")
    kinds = {x.kind for x in dossiers}
    if len(kinds) != 1:
        raise RuleRefused("Các hồ sơ được chọn phải cùng một loại (cùng một quyết định). Hãy chọn lại.",
                          "The chosen dossiers must be of one kind (one decision). Choose again.")
    comment = (comment or "").strip() or None
    acted = []
    for dossier, version in items:
        try:
            acted.append(_move(actor, dossier, event_name, comment, version))
        except DomainError as exc:  # same status and code, naming the dossier that failed
            exc.text = Text(f"Hồ sơ {dossier.code} ({dossier.unit.name}): {exc.text.vi} Không hồ sơ nào được xử lý.",
                            f"Dossier {dossier.code} ({dossier.unit.name}): {exc.text.en} No dossier was processed.")
            raise
    issuers = {cap.unit.id for cap, _, _ in acted}
    if len(issuers) != 1:
        raise RuleRefused("Các hồ sơ được chọn thuộc thẩm quyền của nhiều cơ quan khác nhau: mỗi quyết định "
                          "chỉ do một cơ quan ban hành. Hãy chọn các hồ sơ của cùng một cơ quan.",
                          "The chosen dossiers fall to different issuing bodies: one decision has one "
                          "issuer. Choose dossiers of one body.")
    cap, event, d = acted[0]
    run_effects(event.effects, Act(actor, cap, dossiers, d, event_name, comment))
    flush_or_conflict()
    return dossiers


def fire_batch_decision(actor: User, items: list[tuple[Dossier, int | None]],
                        comment: str | None = None) -> list[Dossier]:
    """The batch decision: `fire_batch` with the event that issues the decision
    (`effects: [issue_decision]`) on the chosen dossiers' road."""
    if not items:
        raise RuleRefused("Hãy chọn ít nhất một hồ sơ.", "Choose at least one dossier.")
    d = definition_of(items[0][0])
    if not d.decision_events:
        raise RuleRefused(f"Loại hồ sơ '{engine().kind_label(d.kind, 'vi')}' không có bước ban hành quyết định.",
                          f"The dossier kind '{engine().kind_label(d.kind, 'en')}' has no step that issues a decision.")
    return fire_batch(actor, items, d.decision_events[0], comment)


def _move(actor: User, dossier: Dossier, event_name: str, comment: str | None,
          expected_version: int | None, granted: dict | None = None):
    """Permission, availability, guards, the move and its record; no effects."""
    d = definition_of(dossier)
    event = d.events.get(event_name)
    if event is None:
        known = ", ".join(d.events)
        raise RuleRefused(f"Không có thao tác '{event_name}' (có: {known}).",
                          f"There is no event '{event_name}' (known: {known}).")
    # Order of refusals: who you are (403), then what the dossier is (409),
    # then what it lacks (422) — the most useful answer first.
    cap = acting_capacity(actor, dossier, event)
    check_version(dossier, expected_version)
    from_state = dossier.state
    to_state = engine().fire(d, from_state, event_name, facts_of(dossier, d), comment)
    dossier.state = to_state
    if d.states[to_state].closed:
        dossier.open_key = None  # frees the (kind, applicant, year) slot
    grants = apply_grants(dossier, event, granted)
    if event.starts_round:
        _start_round(dossier, d)
    verdicts = d.actions.get("appraise_criterion")
    if verdicts and event_name in verdicts.not_by_actor_of:
        _drop_own_verdicts(dossier, actor)
    touch(dossier)
    record(dossier, actor, cap, event_name, from_state=from_state, to_state=to_state,
           comment=comment, is_transition=True, data={"granted": grants} if grants is not None else None)
    # The dossier row is updated (compare-and-set) before any effect takes a
    # counter lock: one lock order everywhere, so no deadlocks.
    flush_or_conflict()
    return cap, event, d


def _start_round(dossier: Dossier, d: Definition) -> None:
    """A `starts_round` event (a return, an amendment) opens a new round: claims carry over,
    passed verdicts stay passed, failed ones must be appraised again; lines are copied."""
    old = dossier.current_criteria()
    dossier.round += 1
    if d.lines:
        copy_lines(dossier, dossier.round - 1)
    for e in old:
        keep = e.verdict == "pass"
        dossier.criteria.append(CriterionEntry(
            round=dossier.round, code=e.code, position=e.position,
            self_assessment=e.self_assessment, note=e.note,
            verdict=e.verdict if keep else None, verdict_note=e.verdict_note if keep else None,
            appraiser_id=e.appraiser_id if keep else None, appraised_at=e.appraised_at if keep else None))


def _drop_own_verdicts(dossier: Dossier, actor: User) -> None:
    """Verdicts given by whoever now submits no longer stand: separation of
    duties holds even when an appraiser later becomes the submitter."""
    for e in dossier.current_criteria():
        if e.appraiser_id == actor.id:
            e.verdict = e.verdict_note = e.appraiser_id = e.appraised_at = None


def allowed_events(actor: User, dossier: Dossier, acted: Collection[str] | None = None) -> list[str]:
    """Events the actor may fire in the dossier's state, positive steps first
    (guards are not run: a refused guard says why when fired). `acted`: the events
    the actor has fired on the dossier when the caller has read them already;
    otherwise one grouped statement asks (permissions.has_acted)."""
    d = definition_of(dossier)
    mine = [e for e in d.offered_from(dossier.state) if capacities(actor, dossier.unit, e.by)]
    if acted is None:
        acted = has_acted(dossier, actor, {n for e in mine for n in e.not_by_actor_of})
    return [e.name for e in mine if not set(e.not_by_actor_of) & set(acted)]


@dataclass
class EventOption:
    """An event of the dossier's current state as one user sees it: allowed
    (a button) or not, with the short reasons why not."""

    name: str
    labels: dict
    comment_required: bool
    allowed: bool
    reasons: list[Text] = field(default_factory=list)
    starts_round: bool = False  # a return: its comment lists what to complete
    negative: bool = False      # a return, refusal or revocation: a secondary button


def event_options(actor: User, dossier: Dossier) -> list[EventOption]:
    d = definition_of(dossier)
    facts = facts_of(dossier, d)
    offered = d.offered_from(dossier.state)
    able = {e.name for e in offered if capacities(actor, dossier.unit, e.by)}
    acted = has_acted(dossier, actor, {n for e in offered if e.name in able for n in e.not_by_actor_of})
    options = []
    for event in offered:
        reasons: list[Text] = []
        if event.name not in able:
            reasons.append(Text(f"Chỉ {who(event.by, 'vi')} được thực hiện.",
                                f"Only {who(event.by, 'en')} may do this."))
        elif set(event.not_by_actor_of) & acted:
            reasons.append(Text("Bạn đã nộp hồ sơ này nên không được thực hiện bước này (tách bạch nhiệm vụ).",
                                "You submitted this dossier, so you may not take this step (separation of duties)."))
        else:
            reasons.extend(engine().refusals(d, dossier.state, event.name, facts))
        options.append(EventOption(event.name, event.labels, event.comment_required, not reasons, reasons,
                                   event.starts_round, event.negative))
    return options
