"""Forms. Every form carries a CSRF token (Flask-WTF)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..validation import parse_int


class BoundaryForm(FlaskForm):
    """A form whose whole numbers are database-range integers in the digits 0-9
    (WTForms' own int() takes "٣" and 10**20): 422/400 naming the field. Text is
    checked for control characters before any view runs (validation._scan_request)."""

    def validate(self, extra_validators=None) -> bool:
        for field in self:
            if isinstance(field, IntegerField) and field.raw_data and str(field.raw_data[0]).strip():
                parse_int(field.name, str(field.raw_data[0]))
        return super().validate(extra_validators)


class LoginForm(BoundaryForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired()])


class PasswordForm(BoundaryForm):
    current = PasswordField(_l("Mật khẩu hiện tại"), validators=[DataRequired()])
    new = PasswordField(_l("Mật khẩu mới (ít nhất 8 ký tự)"), validators=[DataRequired(), Length(min=8, max=200)])


class PostForm(BoundaryForm):
    """A bare form: a button that posts with CSRF protection."""


class NewDossierForm(BoundaryForm):
    # The service decides what may be created (403/422 with a reason); the
    # choices only offer the likely ones.
    kind = SelectField(_l("Loại hồ sơ"), validators=[DataRequired()], validate_choice=False)
    unit = SelectField(_l("Đơn vị"), validators=[DataRequired()], validate_choice=False)
    year = SelectField(_l("Năm"), coerce=int, validators=[InputRequired()])


class EventForm(BoundaryForm):
    event = HiddenField(validators=[DataRequired()])
    version = IntegerField(validators=[Optional()])
    comment = TextAreaField(_l("Nhận xét / lý do"), validators=[Optional(), Length(max=5000)])
    confirm = BooleanField(_l("Tôi xác nhận thực hiện thao tác này"), validators=[DataRequired()])


class UploadForm(BoundaryForm):
    criterion = HiddenField()
    version = IntegerField(validators=[Optional()])
    file = FileField(_l("Tệp minh chứng"), validators=[FileRequired()])


class LineForm(BoundaryForm):
    """A line of a dossier's table: the cells come as `line-<column>` fields (read by the view)."""

    version = IntegerField(validators=[Optional()])


class RemoveLineForm(BoundaryForm):
    version = IntegerField(validators=[Optional()])
    confirm = BooleanField(_l("Tôi xác nhận xoá dòng này"), validators=[DataRequired()])


class ImportLinesForm(BoundaryForm):
    version = IntegerField(validators=[Optional()])
    file = FileField(_l("Tệp Excel (.xlsx) đã điền theo mẫu"), validators=[FileRequired()])


class BatchForm(BoundaryForm):
    """The dossiers come as repeated `dossier` fields "<id>:<version>" (read by the view)."""

    comment = TextAreaField(_l("Nhận xét (không bắt buộc)"), validators=[Optional(), Length(max=5000)])
    confirm = BooleanField(_l("Tôi xác nhận ban hành một quyết định công nhận các hồ sơ đã chọn"),
                           validators=[DataRequired()])


# --- steering committee (web/committee_views.py); length and date rules are the service's (422)
class VisitForm(BoundaryForm):
    commune = SelectField(_l("Xã / thị trấn"), validators=[DataRequired()], validate_choice=False)
    visited_on = DateField(_l("Ngày đi cơ sở"), validators=[InputRequired()])
    notes = TextAreaField(_l("Ghi chép"), validators=[Optional()])


class ReportForm(BoundaryForm):
    """The criteria come as `status-<kind>-<code>` and `note-<kind>-<code>` fields (read by the view)."""

    commune = HiddenField(_l("Xã / thị trấn"), validators=[DataRequired()])
    month = HiddenField(_l("Tháng"), validators=[DataRequired()])
    body = TextAreaField(_l("Tình hình trong tháng"), validators=[Optional()])
