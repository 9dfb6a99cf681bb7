"""Template helpers: labels from the definitions, in the page's language."""
from __future__ import annotations

from flask import Flask

from ..clock import local_today
from ..i18n import request_lang
from ..models import Dossier
from ..months import FIRST_MONTH, INPUT_PATTERN, current_month
from ..services.core.common import engine


def state_label(dossier: Dossier) -> str:
    d = engine().definition(dossier.kind, dossier.definition_version)
    return d.states[dossier.state].labels[request_lang()]


def action_label(name: str, dossier: Dossier | None = None) -> str:
    lang = request_lang()
    definitions = [engine().definition(dossier.kind, dossier.definition_version)] if dossier else \
        [engine().definition(k) for k in engine().kinds()]
    for d in definitions:
        if name in d.events:
            return d.events[name].labels[lang]
        if name in d.actions:
            return d.actions[name].labels[lang]
    return name


def shows_create(user) -> bool:
    """Whether the navigation offers "Tạo hồ sơ": the user holds, at a unit alive today,
    a role@level that may create some kind on the road in force today (the definitions'
    `create.by`; which units exactly is the form's business)."""
    today = local_today()
    creators = {(a.role, a.level) for kind in engine().kinds()
                for a in engine().definition_for(kind, today.year, today).actions["create"].by}
    return any((ra.role, ra.unit.level) in creators and ra.unit.live_on(today) for ra in user.roles)


def kind_label(kind: str) -> str:
    return engine().kind_label(kind, request_lang())


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(state_label=state_label, action_label=action_label, shows_create=shows_create,
                                 kind_label=kind_label, FIRST_MONTH=FIRST_MONTH, MONTH_INPUT_PATTERN=INPUT_PATTERN,
                                 current_month=current_month)
