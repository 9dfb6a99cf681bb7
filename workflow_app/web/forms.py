"""Forms. Every form carries a CSRF token (Flask-WTF)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional


class LoginForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired()])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Mật khẩu hiện tại"), validators=[DataRequired()])
    new = PasswordField(_l("Mật khẩu mới (ít nhất 8 ký tự)"), validators=[DataRequired(), Length(min=8, max=200)])


class PostForm(FlaskForm):
    """A bare form: a button that posts with CSRF protection."""


class NewDossierForm(FlaskForm):
    # The service decides what may be created (403/422 with a reason); the
    # choices only offer the likely ones.
    kind = SelectField(_l("Loại hồ sơ"), validators=[DataRequired()], validate_choice=False)
    unit = SelectField(_l("Đơn vị đề nghị công nhận"), validators=[DataRequired()], validate_choice=False)
    year = SelectField(_l("Năm"), coerce=int, validators=[InputRequired()])


class EventForm(FlaskForm):
    event = HiddenField(validators=[DataRequired()])
    version = IntegerField(validators=[Optional()])
    comment = TextAreaField(_l("Nhận xét / lý do"), validators=[Optional(), Length(max=5000)])
    confirm = BooleanField(_l("Tôi xác nhận thực hiện thao tác này"), validators=[DataRequired()])


class UploadForm(FlaskForm):
    criterion = HiddenField()
    version = IntegerField(validators=[Optional()])
    file = FileField(_l("Tệp minh chứng"), validators=[FileRequired()])
