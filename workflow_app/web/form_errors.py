"""A refused form is shown again: what was typed, each message next to its field and
a summary at the top (templates/_forms.html). Views collect the messages in a
FormErrors, roll back, and render the form with the submitted values; the status is
422, 409 when someone changed the dossier first, or 400 when the only problem is a value
the page never offers (a hidden field or a choice altered by hand)."""
from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from markupsafe import Markup
from wtforms import BooleanField, DateField, HiddenField
from wtforms.validators import Length

from ..i18n import request_lang
from ..validation import InputRefused
from ..workflow.errors import DomainError

# What a form shows again; anything else (403, 404, 413, 415) keeps its own page.
FORM_STATUSES = (400, 409, 422)


class FormErrors:
    """Messages of one refused form: (field id or None for the summary only, text)."""

    def __init__(self) -> None:
        self.items: list[tuple[str | None, str]] = []
        self.refusals: list[int] = []  # the statuses of the domain refusals added
        self.forced: int | None = None

    @property
    def status(self) -> int:
        """A clash (409) says most; a form with only malformed values (400) is 400; else 422."""
        if self.forced:
            return self.forced
        if 409 in self.refusals:
            return 409
        if self.refusals and len(self.refusals) == len(self.items) and set(self.refusals) == {400}:
            return 400
        return 422

    @status.setter
    def status(self, value: int) -> None:
        self.forced = value

    def __bool__(self) -> bool:
        return bool(self.items)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def add(self, message: str, field: str | None = None) -> None:
        self.items.append((field, message))

    def add_exception(self, exc: DomainError, field: str | None = None, labels: dict[str, str] | None = None,
                      *, fields: dict[str, str] | None = None) -> None:
        """A domain refusal in the page's language. `fields` (the refusal's `field` key -> the
        id of the control on this page) places it at that control; a key the page does not
        map stays in the summary only. `labels` (field id -> label) names the field a
        boundary refusal concerns by its label, never by its input name; 409 wins."""
        message = exc.message(request_lang())
        if field is None and fields and exc.field is not None:
            field = fields.get(exc.field)
        if isinstance(exc, InputRefused) and labels:
            for field_id, label in labels.items():
                if exc.field in (field_id, field_id.split("-", 1)[-1]):
                    field = field or field_id
                    message = message.replace(f"'{exc.field}'", f"'{label}'")
                    break
        self.refusals.append(exc.status)
        self.add(message, field)

    def add_form(self, form, ids: dict[str, str] | None = None) -> None:
        """WTForms' refusals in our words (its own texts are English), one per field."""
        for name in form.errors:
            if name == "csrf_token":
                self.add(_("Biểu mẫu đã hết hạn. Hãy tải lại trang rồi gửi lại; những gì bạn nhập vẫn còn ở đây."))
                continue
            field = form[name]
            # A hidden value has no control to go to: the summary says it.
            at = None if isinstance(field, HiddenField) else (ids or {}).get(name, name)
            self.add(field_problem(field), at)

    def in_summary_only(self) -> None:
        """For a page that no longer shows the form: every message in the summary, no links."""
        self.items = [(None, message) for _field, message in self.items]

    def at(self, field: str) -> str | None:
        texts = [m for f, m in self.items if f == field]
        return " ".join(texts) if texts else None

    def attrs(self, field: str) -> Markup:
        """aria attributes for a control written in HTML: ` aria-invalid=... aria-describedby=...`."""
        if self.at(field) is None:
            return Markup("")
        return Markup(' aria-invalid="true" aria-describedby="{0}-error"').format(field)

    def kw(self, field: str) -> dict:
        """The same attributes for a control rendered by WTForms: `form.x(**errors.kw('x'))`."""
        if self.at(field) is None:
            return {}
        return {"aria_invalid": "true", "aria_describedby": f"{field}-error"}



def checked(form, errors: FormErrors, ids: dict[str, str] | None = None) -> bool:
    """Whether the form passed its own checks; if not, its messages are in `errors`."""
    try:
        if form.validate_on_submit():
            return True
    except DomainError as exc:  # a number the boundary refuses (validation.parse_int)
        if not refusable(exc):
            raise
        # Fields the page labels are named by their label; hidden ones (version) keep their name.
        labels = {(ids or {}).get(f.name, f.name): f.label.text for f in form
                  if f.label.text != f.name.replace("_", " ").title()}
        errors.add_exception(exc, labels=labels)
        return False
    errors.add_form(form, ids)
    return False


def field_problem(field) -> str:
    label = field.label.text
    raw = (field.raw_data or [""])[0] if field.raw_data else ""
    if isinstance(field, BooleanField):
        return _("Hãy đánh dấu ô “%(label)s”.", label=label)
    if not str(raw).strip():
        return _("Hãy điền “%(label)s”.", label=label)
    if isinstance(field, DateField):
        return _("“%(label)s” phải là một ngày có thật (ngày/tháng/năm).", label=label)
    for v in field.validators:
        if isinstance(v, Length):
            low, high = v.min, v.max
            if high != -1 and len(raw) > high:
                return _("“%(label)s” dài tối đa %(n)s ký tự; bạn đã nhập %(m)s.", label=label, n=high, m=len(raw))
            if low != -1 and len(raw) < low:
                return _("“%(label)s” cần ít nhất %(n)s ký tự.", label=label, n=low)
    return _("“%(label)s” chưa hợp lệ. Hãy sửa rồi gửi lại.", label=label)


def refusable(exc: DomainError) -> bool:
    """Whether a refusal belongs on the form (the rules, a clash) rather than on a page of its own."""
    return exc.status in FORM_STATUSES


def show_again(template: str, errors: FormErrors, **context):
    """The refused form's page with the messages (the caller has rolled back and passes
    what was typed in the context): 422, or 409 for a change made by someone else."""
    return render_template(template, errors=errors, **context), errors.status

