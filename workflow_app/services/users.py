"""Users, role assignments and API tokens."""
from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import ApiToken, RoleAssignment, Unit, User
from ..models.users import ROLES
from ..workflow.errors import NotPermitted, RuleRefused

CAPACITIES = ("chairman", "vice_chairman", "on_behalf")


def create_user(username: str, password: str | None, role: str, unit_code: str,
                name: str | None = None, capacity: str | None = None,
                criteria: list[str] | None = None, email: str | None = None) -> User:
    """Create the user, or add a role to an existing one (idempotent per role-unit)."""
    if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise RuleRefused(f"Địa chỉ thư điện tử '{email}' không hợp lệ (ví dụ: ten@donvi.gov.vn).",
                          f"Invalid e-mail address '{email}' (e.g. name@agency.gov.vn).")
    if role not in ROLES:
        raise RuleRefused(f"Vai trò '{role}' không tồn tại (có: {', '.join(ROLES)}).",
                          f"Unknown role '{role}' (known: {', '.join(ROLES)}).")
    if capacity is not None and capacity not in CAPACITIES:
        raise RuleRefused(f"Thẩm quyền ký '{capacity}' không hợp lệ (có: {', '.join(CAPACITIES)}).",
                          f"Unknown signing capacity '{capacity}' (known: {', '.join(CAPACITIES)}).")
    unit = db.session.execute(db.select(Unit).where(Unit.code == unit_code)).scalar_one_or_none()
    if unit is None:
        raise RuleRefused(f"Không có đơn vị mã '{unit_code}'.", f"No unit with code '{unit_code}'.")
    user = db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        if not password:
            raise RuleRefused("Người dùng mới cần mật khẩu (--password).", "A new user needs a password (--password).")
        user = User(username=username, name=name or username, password_hash="")
        user.set_password(password, _hash_method())
        db.session.add(user)
    else:
        if password:
            user.set_password(password, _hash_method())
        if name:
            user.name = name
    if email is not None:
        user.email = email
    if not any(ra.role == role and ra.unit_id == unit.id for ra in user.roles):
        user.roles.append(RoleAssignment(role=role, unit=unit, unit_id=unit.id, capacity=capacity, criteria=criteria))
    db.session.flush()
    return user


def _hash_method() -> str | None:
    # Werkzeug's default (scrypt) unless configured: tests use a cheap one.
    from flask import current_app, has_app_context

    return current_app.config.get("PASSWORD_HASH_METHOD") if has_app_context() else None


def token_hash(token: str) -> str:
    """What api_tokens stores of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=token_hash(token)))
    db.session.flush()
    return token


# Built once: a statement object memoizes its cache key, so executing it again skips
# SQLAlchemy's per-call statement analysis. One round trip for token, user and roles
# (each role's unit is joined too): every API request starts here.
_USER_FOR_TOKEN = (
    db.select(User).join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == db.bindparam("token_hash"))
    .options(joinedload(User.roles)))


def user_for_token(token: str) -> User | None:
    user = db.session.execute(_USER_FOR_TOKEN, {"token_hash": token_hash(token)}).unique().scalar_one_or_none()
    if user is None or not user.active:
        return None
    return user


def find_user(username: str) -> User | None:
    return db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()


def authenticate(username: str, password: str) -> User:
    """The user for a sign-in, or a refusal that says what to do."""
    user = find_user((username or "").strip())
    if user is None or not user.check_password(password or ""):
        raise NotPermitted("Sai tên đăng nhập hoặc mật khẩu. Hãy kiểm tra lại (phân biệt chữ hoa, chữ thường).",
                           "Wrong username or password. Check them (passwords are case-sensitive).")
    if not user.active:
        raise NotPermitted("Tài khoản này đã bị khóa. Hãy liên hệ quản trị viên của huyện để mở lại.",
                           "This account is disabled. Ask the district administrator to enable it.")
    return user


def rotate_session(user: User) -> None:
    """Old session cookies stop working (logout, password change, disable)."""
    user.session_token = secrets.token_hex(16)


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current or ""):
        raise RuleRefused("Mật khẩu hiện tại không đúng.", "The current password is wrong.")
    if len(new or "") < 8:
        raise RuleRefused("Mật khẩu mới cần ít nhất 8 ký tự.", "The new password needs at least 8 characters.")
    user.set_password(new, _hash_method())
    rotate_session(user)
    db.session.flush()


def set_active(admin: User, user: User, active: bool) -> None:
    if not any(ra.role == "admin" for ra in admin.roles):
        raise NotPermitted("Chỉ quản trị viên được khóa hoặc mở tài khoản.", "Only an administrator may disable or enable accounts.")
    if admin.id == user.id and not active:
        raise RuleRefused("Bạn không thể tự khóa tài khoản của mình.", "You cannot disable your own account.")
    user.active = active
    rotate_session(user)
    db.session.flush()
