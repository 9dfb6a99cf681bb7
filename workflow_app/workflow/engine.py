"""The workflow engine: one `transitions` Machine per definition version, built
once and shared; events fire on plain holder objects, never on database rows."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from transitions import Machine

from .definitions import Definition, EventDef, StateDef, load_all
from .errors import EventNotAvailable, GuardFailed, RuleRefused, Text
from .guards import GUARDS, DossierFacts
from .vocabulary import APPLICANT_ORDER

log = logging.getLogger(__name__)


@dataclass
class StateHolder:
    """The object the machine moves: just a `state` attribute."""

    state: str


def _distance(d: Definition, day: date) -> int:
    start, end = d.in_force.start, d.in_force.end
    if start is not None and day < start:
        return (start - day).days
    return (day - end).days if end is not None else 0


def build_machine(definition: Definition) -> Machine:
    # Only the keys `transitions` understands; ours (by, guards, labels...) stay out.
    transitions = [
        {"trigger": e.name, "source": list(e.sources), "dest": e.dest}
        for e in definition.events.values()
    ]
    return Machine(
        model=None, states=list(definition.states), transitions=transitions,
        initial=definition.initial, auto_transitions=False, send_event=True,
        name=f"{definition.kind}-v{definition.version}",
    )


class Engine:
    def __init__(self, definitions: dict[tuple[str, int], Definition]) -> None:
        self.definitions = definitions
        self.machines = {key: build_machine(d) for key, d in definitions.items()}
        self.latest = {}
        for (kind, version), d in definitions.items():
            if kind not in self.latest or version > self.latest[kind].version:
                self.latest[kind] = d

    @classmethod
    def from_dir(cls, states_dir: str | Path) -> Engine:
        return cls(load_all(states_dir))

    def kinds(self) -> list[str]:
        return sorted(self.latest)

    def kinds_by_level(self) -> list[str]:
        """Kinds with the most local applicants first (vocabulary.APPLICANT_ORDER:
        villages, communes, towns, districts, provinces), then by name: the default
        kind of a page is the first, and reports list kinds in this order."""
        order = {level: i for i, level in enumerate(APPLICANT_ORDER)}
        return sorted(self.latest, key=lambda k: (order.get(self.latest[k].applicant_level, len(order)), k))

    def kind_label(self, kind: str, lang: str = "vi") -> str:
        """A kind's display name ("Hồ sơ công nhận bản ..."), from its latest definition:
        a name belongs to the kind, not to one road. The code itself for an unknown kind."""
        d = self.latest.get(kind)
        if d is None:
            return kind
        return d.labels.get(lang) or d.labels["vi"]

    def kind_labels(self, kinds: list[str] | None = None, lang: str = "vi") -> str:
        """"'Hồ sơ công nhận bản ...', ...": the kinds by name, as a refusal lists the
        choices to a person (never the internal codes)."""
        return ", ".join(f"'{self.kind_label(k, lang)}'" for k in (self.kinds_by_level() if kinds is None else kinds))

    def state_options(self, kind: str | None = None) -> dict[str, StateDef]:
        """Every state of the kind's roads (of every kind when None), by name, in
        definition order: the choices of a state filter."""
        out: dict[str, StateDef] = {}
        for k in ([kind] if kind in self.latest else self.kinds_by_level()):
            for d in self.roads(k):
                for name, st in d.states.items():
                    out.setdefault(name, st)
        return out

    def definition(self, kind: str, version: int | None = None) -> Definition | None:
        if version is None:
            return self.latest.get(kind)
        return self.definitions.get((kind, version))

    def roads(self, kind: str) -> list[Definition]:
        """Every definition of a kind (its roads through time), oldest first."""
        return sorted((d for d in self.definitions.values() if d.kind == kind), key=lambda d: d.version)

    def definition_for(self, kind: str, year: int, day: date) -> Definition | None:
        """The road in force on `day` for a dossier of `year` (load_all proves there
        is at most one); before a kind's first road, the earliest one."""
        roads = [d for d in self.definitions.values() if d.kind == kind and d.years.holds(year)]
        now = [d for d in roads if d.in_force.holds(day)]
        if now:
            return now[0]
        # No road that day: the nearest one in time (before the first or after the last).
        return min(roads, key=lambda d: _distance(d, day), default=None)

    def refusals(self, d: Definition, state: str, event_name: str, facts: DossierFacts) -> list[Text]:
        """Why the guards of an event refuse now (empty when they pass)."""
        event = d.events[event_name]
        if not facts.field_labels:
            facts = replace(facts, field_labels={name: fd.labels for name, fd in d.fields.items()})
        reasons: list[Text] = []
        for ref in event.guards:
            reasons.extend(GUARDS[ref.name](facts, ref.params))
        return reasons

    def check(self, d: Definition, state: str, event_name: str, facts: DossierFacts,
              comment: str | None) -> EventDef:
        event = d.events.get(event_name)
        if event is None:
            known = ", ".join(d.events)
            raise RuleRefused(f"Không có thao tác '{event_name}' cho loại hồ sơ này (có: {known}).",
                              f"There is no event '{event_name}' for this dossier kind (known: {known}).")
        if state not in event.sources:
            label = d.states[state].labels
            raise EventNotAvailable(
                f"Không thể '{event.labels['vi']}' khi hồ sơ đang ở trạng thái '{label['vi']}'. "
                "Hãy tải lại trang để xem trạng thái mới nhất.",
                f"'{event.labels['en']}' is not possible while the dossier is '{label['en']}'. "
                "Reload to see its current state.")
        if event.comment_required and not (comment or "").strip():
            raise RuleRefused(f"Thao tác '{event.labels['vi']}' cần ghi rõ lý do: hãy nhập nhận xét.",
                              f"'{event.labels['en']}' needs a reason: enter a comment.")
        reasons = self.refusals(d, state, event_name, facts)
        if reasons:
            raise GuardFailed(f"Chưa thể '{event.labels['vi']}'.", f"Cannot '{event.labels['en']}' yet.", reasons)
        return event

    def fire(self, d: Definition, state: str, event_name: str, facts: DossierFacts,
             comment: str | None = None) -> str:
        """Check, then move a holder through the shared machine; returns the new state."""
        self.check(d, state, event_name, facts, comment)
        holder = StateHolder(state)
        machine = self.machines[(d.kind, d.version)]
        if not machine.events[event_name].trigger(holder):
            raise EventNotAvailable("Không thể thực hiện thao tác này.", "The event could not be fired.")
        log.debug("%s: %s --%s--> %s", d.kind, state, event_name, holder.state)
        return holder.state

    def available_events(self, d: Definition, state: str) -> list[str]:
        return [e.name for e in d.events_from(state)]
