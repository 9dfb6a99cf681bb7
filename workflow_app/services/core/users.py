"""Users, role assignments and API tokens."""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy.orm import joinedload

from ...clock import local_iso, utcnow
from ...extensions import db
from ...models import ApiToken, RoleAssignment, Unit, UnitLink, User
from ...models.users import ROLES
from ...signin_throttle import password_attempt
from ...workflow.errors import DomainError, NotPermitted, RuleRefused

log = logging.getLogger(__name__)

CAPACITIES = ("chairman", "vice_chairman", "on_behalf")
TOKEN_DAYS = 90  # an API token's life unless `users token --days N` says otherwise
TOKEN_MAX_DAYS = 3650


class TokenRefused(DomainError):
    """An API token that exists but no longer works: 401 saying what to do."""

    status, code = 401, "token_revoked"


class TokenExpired(TokenRefused):
    code = "token_expired"


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
            set_new_password(user, password)
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

    return current_app.config.get("PASSWORD_HASH_METHOD") if has_app_context() else None


def token_hash(token: str) -> str:
    """What api_tokens stores of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, days: int = TOKEN_DAYS) -> str:
    return new_token(user, days)[0]


def new_token(user: User, days: int = TOKEN_DAYS) -> tuple[str, ApiToken]:
    """A new token (shown once; only its hash is kept) valid for `days` days."""
    if not 1 <= days <= TOKEN_MAX_DAYS:
        raise RuleRefused(f"Số ngày hiệu lực của mã truy cập phải từ 1 đến {TOKEN_MAX_DAYS}, không phải {days}.",
                          f"A token's lifetime must be 1 to {TOKEN_MAX_DAYS} days, not {days}.")
    token = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=token_hash(token), expires_at=utcnow() + timedelta(days=days))
    db.session.add(row)
    db.session.flush()
    return token, row


def revoke_tokens(user: User) -> int:
    """Every working token of the user stops working; how many there were."""
    result = db.session.execute(
        db.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    if result.rowcount:
        log.info("revoked %d API token(s) of %s", result.rowcount, user.username)
    return result.rowcount


def check_token_lifetime(expires_at: datetime, revoked_at: datetime | None) -> None:
    """TokenRefused for a revoked or expired token."""
    if revoked_at is not None:
        raise TokenRefused(
            "Mã truy cập (token) này đã bị thu hồi (thu hồi chủ động, đổi mật khẩu hoặc khóa tài khoản). "
            "Hãy xin quản trị viên cấp mã mới: flask users token <tên đăng nhập>.",
            "This API token has been revoked (by hand, a password change or a disabled account). "
            "Ask an administrator for a new one: flask users token <username>.")
    if expires_at <= utcnow():
        when = local_iso(expires_at, "minutes")
        raise TokenExpired(
            f"Mã truy cập (token) này đã hết hạn lúc {when}. "
            "Hãy xin quản trị viên cấp mã mới: flask users token <tên đăng nhập> [--days N].",
            f"This API token expired at {when}. Ask an administrator for a new one: "
            "flask users token <username> [--days N].")


# Built once: a statement object memoizes its cache key, so executing it again skips
# SQLAlchemy's per-call statement analysis. One round trip for token, user, roles, their
# units and those units' paths (what the scope rule reads): every API request starts
# here. A path's parent unit is read only if something asks for it.
_USER_FOR_TOKEN = (
    db.select(User, ApiToken.expires_at, ApiToken.revoked_at).join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == db.bindparam("token_hash"))
    .options(joinedload(User.roles).joinedload(RoleAssignment.unit).joinedload(Unit.links)
             .lazyload(UnitLink.parent)))


def user_for_token(token: str) -> User | None:
    """The token's user; None for an unknown token or a disabled user, TokenRefused
    for a revoked or expired one."""
    row = db.session.execute(_USER_FOR_TOKEN, {"token_hash": token_hash(token)}).unique().one_or_none()
    if row is None:
        return None
    user, expires_at, revoked_at = row
    check_token_lifetime(expires_at, revoked_at)
    return user if user.active else None


def find_user(username: str) -> User | None:
    return db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()


def authenticate(username: str, password: str, address: str | None = None) -> User:
    """The user for a sign-in, or a refusal that says what to do. SignInThrottled
    (429) while the account's or the address's budget of wrong passwords is spent,
    whatever the password."""
    account = (username or "").strip()
    attempt = password_attempt(account, address)
    user = find_user(account)
    if user is None or not user.check_password(password or ""):
        log.info("sign-in failed: wrong username or password for %r from %s", account, address)
        raise NotPermitted("Sai tên đăng nhập hoặc mật khẩu. Hãy kiểm tra lại (phân biệt chữ hoa, chữ thường).",
                           "Wrong username or password. Check them (passwords are case-sensitive).")
    attempt.succeeded()
    if not user.active:
        raise NotPermitted("Tài khoản này đã bị khóa. Hãy liên hệ quản trị viên của huyện để mở lại.",
                           "This account is disabled. Ask the district administrator to enable it.")
    return user


def rotate_session(user: User) -> None:
    """Old session cookies stop working (logout, password change, disable)."""
    user.session_token = secrets.token_hex(16)


def set_new_password(user: User, password: str) -> bool:
    """The one rule for what a new password ends: when it differs from the user's
    present one, every session (cookie) and every API token of the user stops
    working. The same password again is no change and ends nothing. Whether it
    changed."""
    if user.check_password(password):
        return False
    user.set_password(password, _hash_method())
    rotate_session(user)
    revoke_tokens(user)
    return True


def change_password(user: User, current: str, new: str, address: str | None = None) -> bool:
    """New password (set_new_password: a different one ends the user's other
    sessions and API tokens); whether it changed. The current password is throttled
    as a sign-in is (same budgets)."""
    attempt = password_attempt(user.username, address)
    if not user.check_password(current or ""):
        log.info("password change: wrong current password for %r from %s", user.username, address)
        raise RuleRefused("Mật khẩu hiện tại không đúng.", "The current password is wrong.", field="current")
    attempt.succeeded()
    if len(new or "") < 8:
        raise RuleRefused("Mật khẩu mới cần ít nhất 8 ký tự.", "The new password needs at least 8 characters.",
                          field="new")
    changed = set_new_password(user, new)
    db.session.flush()
    return changed


def set_active(admin: User, user: User, active: bool) -> None:
    if not any(ra.role == "admin" for ra in admin.roles):
        raise NotPermitted("Chỉ quản trị viên được khóa hoặc mở tài khoản.",
                           "Only an administrator may disable or enable accounts.")
    if admin.id == user.id and not active:
        raise RuleRefused("Bạn không thể tự khóa tài khoản của mình.", "You cannot disable your own account.")
    user.active = active
    rotate_session(user)
    if not active:
        revoke_tokens(user)
    db.session.flush()
