"""Password guesses are throttled per account and per client address.

Every check of a password (sign-in, and the current password on the password
page) first takes one unit of each budget: the account's (the name typed, known
or not) and the client address's (the one ProxyFix gives under PROXY_HOPS; for
IPv6 its whole /64, ratelimit.address_key). A budget that is spent refuses the
attempt before the password is looked at, so the right password is refused too
while it lasts. A password that turns out right
gives its units back: only wrong passwords spend budgets, and a success never
clears what earlier failures spent (an attacker signing in to an account of
their own from the same address keeps their spent address budget).

Taking a unit is an atomic increment, so parallel attempts cannot all slip past
a check made before any of them counted. Counters live in Redis when REDIS_URL is
set (one budget for every worker) and in this process otherwise; if Redis stops
answering they fall back to this process's memory for a while.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, current_app
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from redis.exceptions import RedisError

from .ratelimit import address_key
from .workflow.errors import DomainError

log = logging.getLogger(__name__)

EXTENSION = "signin_throttle"
DEFAULTS = {"SIGNIN_ACCOUNT_RATE_LIMIT": "5/minute;20/hour", "SIGNIN_ADDRESS_RATE_LIMIT": "20/minute;100/hour"}
_REDIS_RETRY = 30.0  # s in memory after Redis fails, before trying it again
_STORAGE_ERRORS = (RedisError, StorageError, OSError)


class SignInThrottled(DomainError):
    status, code = 429, "too_many_sign_ins"

    def __init__(self, scope: str, retry_after: int) -> None:
        wait_vi, wait_en = _wait(retry_after)
        if scope == "account":
            vi = f"Tài khoản này đã bị nhập sai mật khẩu quá nhiều lần. Hãy đợi {wait_vi} rồi thử lại."
            en = f"Too many wrong passwords for this account. Wait {wait_en} and try again."
        else:
            vi = f"Có quá nhiều lần đăng nhập sai từ địa chỉ của bạn. Hãy đợi {wait_vi} rồi thử lại."
            en = f"Too many wrong passwords from your address. Wait {wait_en} and try again."
        super().__init__(vi + " Nếu quên mật khẩu, hãy liên hệ quản trị viên.",
                         en + " If you forgot the password, ask the administrator.")
        self.scope, self.retry_after = scope, retry_after


def _wait(seconds: int) -> tuple[str, str]:
    if seconds < 120:
        return f"{seconds} giây", f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} phút", f"{minutes} minutes"


@dataclass
class Attempt:
    """The units one attempt took; given back when the password was right."""

    throttle: SignInThrottle | None
    taken: list[tuple[str, int]] = field(default_factory=list)  # (key, expiry)

    def succeeded(self) -> None:
        if self.throttle is not None:
            self.throttle.give_back(self.taken)
        self.taken = []


class SignInThrottle:
    def __init__(self, per_account: list[RateLimitItem], per_address: list[RateLimitItem],
                 storage: Storage, redis_url: str | None) -> None:
        self.per_account, self.per_address = per_account, per_address
        self._storage, self._redis_url = storage, redis_url
        self._fallback = MemoryStorage()
        self._redis_down_until = 0.0
        self._lock = threading.Lock()

    def admit(self, account: str, address: str | None) -> Attempt:
        """Take a unit of each budget, or raise SignInThrottled taking none."""
        budgets = [("account", item, item.key_for("account", account)) for item in self.per_account]
        if address:
            budgets += [("address", item, item.key_for("address", address_key(address))) for item in self.per_address]
        storage = self._store()
        try:
            taken = []
            for scope, item, key in budgets:
                count = storage.incr(key, item.get_expiry())
                taken.append((key, item.get_expiry()))
                if count > item.amount:
                    self._give_back(storage, taken)
                    retry = max(1, math.ceil(storage.get_expiry(key) - time.time()))
                    log.warning("sign-in refused: %s budget %s spent (account %r, address %s); retry in %d s",
                                scope, item, account, address, retry)
                    raise SignInThrottled(scope, retry)
        except _STORAGE_ERRORS as error:  # Redis stopped answering: this process's memory for a while
            if storage is self._fallback:
                raise
            self._redis_failed(error)
            return self.admit(account, address)
        return Attempt(self, taken)

    def give_back(self, taken: list[tuple[str, int]]) -> None:
        storage = self._store()
        try:
            self._give_back(storage, taken)
        except _STORAGE_ERRORS as error:
            if storage is not self._fallback:
                self._redis_failed(error)

    @staticmethod
    def _give_back(storage: Storage, taken: list[tuple[str, int]]) -> None:
        for key, expiry in taken:
            storage.incr(key, expiry, amount=-1)
        taken.clear()

    def _store(self) -> Storage:
        with self._lock:
            if self._redis_url and time.monotonic() < self._redis_down_until:
                return self._fallback
        return self._storage

    def _redis_failed(self, error: Exception) -> None:
        log.warning("sign-in throttle: Redis not answering (%s); counting in this process for %d s", error,
                    _REDIS_RETRY)
        with self._lock:
            self._redis_down_until = time.monotonic() + _REDIS_RETRY


def init_signin_throttle(app: Flask) -> SignInThrottle:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    limits = {}
    for key in DEFAULTS:
        try:
            limits[key] = parse_many(app.config[key])
        except ValueError:
            raise RuntimeError(f"{key} must be limits like '5/minute;20/hour', not {app.config[key]!r} / "
                               f"{key} phải có dạng '5/minute;20/hour', không phải {app.config[key]!r}") from None
    redis_url = app.config.get("REDIS_URL")
    prefix = app.config.get("SIGNIN_KEY_PREFIX", "ntm-signin")
    if redis_url:
        storage = storage_from_string(redis_url, key_prefix=prefix, socket_timeout=1, socket_connect_timeout=1)
    else:
        storage = MemoryStorage()  # one per app: apps built in one process keep their own budgets
    throttle = SignInThrottle(limits["SIGNIN_ACCOUNT_RATE_LIMIT"], limits["SIGNIN_ADDRESS_RATE_LIMIT"], storage,
                              redis_url)
    app.extensions[EXTENSION] = throttle
    log.info("sign-in throttle per account %s, per address %s, counters in %s",
             app.config["SIGNIN_ACCOUNT_RATE_LIMIT"], app.config["SIGNIN_ADDRESS_RATE_LIMIT"],
             "Redis" if redis_url else "memory")
    return throttle


def password_attempt(account: str, address: str | None) -> Attempt:
    """One unit of the account's and the address's budgets (SignInThrottled when
    spent); call .succeeded() on the result when the password was right."""
    throttle = current_app.extensions.get(EXTENSION)
    if throttle is None:
        return Attempt(None)
    return throttle.admit(account, address)
