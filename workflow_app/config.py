"""Configuration from the environment (names fixed by the CONTRACT)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _dev_secret_key() -> str:
    # Development keeps one generated key in instance/ so sessions survive restarts.
    INSTANCE.mkdir(parents=True, exist_ok=True)
    path = INSTANCE / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


class Config:
    def __init__(self) -> None:
        env = os.environ
        self.APP_ENV = env.get("APP_ENV", "development")
        self.SQLALCHEMY_DATABASE_URI = normalize_db_url(
            env.get("DATABASE_URL", f"sqlite:///{INSTANCE / 'app.db'}")
        )
        self.STORAGE_DIR = env.get("STORAGE_DIR", str(INSTANCE / "storage"))
        # Where the files live (services/core/storage/): unset or file:///path, a folder of this
        # machine; "database" (the app's own) or postgresql://...; s3://bucket/prefix, an
        # S3-compatible store at STORAGE_S3_ENDPOINT (none: AWS). Not a folder: STORAGE_DIR is a cache.
        self.STORAGE_URL = _storage_url(env.get("STORAGE_URL", "").strip())
        if self.STORAGE_URL.startswith("file:"):
            self.STORAGE_DIR = unquote(urlsplit(self.STORAGE_URL).path)
        self.STORAGE_S3_ENDPOINT = env.get("STORAGE_S3_ENDPOINT", "").strip()
        self.STORAGE_S3_REGION = env.get("STORAGE_S3_REGION", "").strip()
        # Per issuer <code>.key.pem + <code>.cert.pem (+ root.pem): decisions are PAdES-signed.
        self.SIGNING_DIR = env.get("SIGNING_DIR", str(INSTANCE / "signing"))
        # PDFs are laid out in worker processes (workflow_app/pdf/worker.py): a time
        # limit per render, and a worker replaced after so many renders (memory).
        self.PDF_RENDER_TIMEOUT = float(env.get("PDF_RENDER_TIMEOUT", "60"))
        self.PDF_RENDER_RECYCLE = int(env.get("PDF_RENDER_RECYCLE", "50"))
        self.PDF_RENDER_WORKERS = int(env.get("PDF_RENDER_WORKERS", "1"))
        # Memory (data segment) a worker may use for one render; 0 lifts the cap.
        self.PDF_RENDER_MAX_MB = _count(env.get("PDF_RENDER_MAX_MB", "1024"), "PDF_RENDER_MAX_MB")
        # Papers issued by a request (receipt, appraisal report, apology slip) are rendered by a
        # background thread after the answer ("background"), or before it ("inline"): documents/after_commit.py.
        self.PAPERS_RENDER = _choice(env.get("PAPERS_RENDER", "background"), "PAPERS_RENDER", ("background", "inline"))
        self.REDIS_URL = env.get("REDIS_URL")
        # Reverse proxies in front of the app whose X-Forwarded-For / -Proto to believe
        # (0: none, the connection's address is the client's). Rate limits and the
        # verification log use the client address this gives.
        self.PROXY_HOPS = _count(env.get("PROXY_HOPS", "0"), "PROXY_HOPS")
        # Public decision checks per client address (flask-limiter syntax: "30/minute", "100/hour;10/minute").
        self.VERIFY_RATE_LIMIT = env.get("VERIFY_RATE_LIMIT", "30/minute")
        self.VERIFY_UPLOAD_RATE_LIMIT = env.get("VERIFY_UPLOAD_RATE_LIMIT", "10/minute")
        # Wrong passwords allowed per account and per client address (signin_throttle.py).
        self.SIGNIN_ACCOUNT_RATE_LIMIT = env.get("SIGNIN_ACCOUNT_RATE_LIMIT", "5/minute;20/hour")
        self.SIGNIN_ADDRESS_RATE_LIMIT = env.get("SIGNIN_ADDRESS_RATE_LIMIT", "20/minute;100/hour")
        # A step clock with this many days left or fewer is flagged "due soon" (services/core/clocks.py).
        self.STEP_DUE_SOON_DAYS = int(env.get("STEP_DUE_SOON_DAYS", "2"))
        secret = env.get("SECRET_KEY")
        if not secret:
            if self.APP_ENV == "production":
                raise RuntimeError(
                    "SECRET_KEY is required when APP_ENV=production / "
                    "Cần đặt biến môi trường SECRET_KEY khi APP_ENV=production"
                )
            secret = _dev_secret_key()
        self.SECRET_KEY = secret
        self.STATES_DIR = str(ROOT / "states")
        # Demo marker drawn diagonally on every PDF page (templates/pdf/_watermark.html):
        # papers made in development must never pass for real ones. Empty: none.
        self.PDF_WATERMARK = env.get("PDF_WATERMARK", "MẪU" if self.APP_ENV == "development" else "")
        # Largest request body (413 past it): room for an evidence file (EVIDENCE_MAX_BYTES,
        # its own limit) and the form around it. JSON bodies: JSON_MAX_BYTES (validation.py).
        self.MAX_CONTENT_LENGTH = _count(env.get("MAX_REQUEST_BYTES", str(20 * 1024 * 1024)), "MAX_REQUEST_BYTES",
                                         minimum=1024)
        self.JSON_MAX_BYTES = _count(env.get("JSON_MAX_BYTES", str(1024 * 1024)), "JSON_MAX_BYTES", minimum=1024)
        # Database connections each process keeps open. A request that finds none
        # free opens one and closes it afterwards (on PostgreSQL a new server process,
        # ~25 ms of its CPU): keep it at least the server's threads (WEB_THREADS).
        self.DB_POOL_SIZE = _count(env.get("DB_POOL_SIZE", str(DEFAULT_POOL_SIZE)), "DB_POOL_SIZE", minimum=1)
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI, self.DB_POOL_SIZE)
        # OpenAPI document served at /api/v1/openapi.json (flask-smorest)
        self.API_TITLE = "NTM dossiers API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        # A form's CSRF token lives as long as the signed-in session, not one hour: an
        # appraiser who takes an afternoon over fourteen verdicts must not lose them.
        self.WTF_CSRF_TIME_LIMIT = None
        # The place the service covers, after the app's name in every page's header and title.
        self.SITE_PLACE = env.get("SITE_PLACE", "Lai Châu").strip()
        self.PUBLIC_BASE_URL = _public_base_url(env.get("PUBLIC_BASE_URL", "").strip(), self.APP_ENV)
        # Reminder e-mails (flask reminders send). Without SMTP_HOST nothing is sent:
        # the outbox is read in the app at /outbox (development).
        self.SMTP_HOST = env.get("SMTP_HOST", "")
        self.SMTP_PORT = int(env.get("SMTP_PORT", "587"))
        self.SMTP_USER = env.get("SMTP_USER", "")
        self.SMTP_PASSWORD = env.get("SMTP_PASSWORD", "")
        self.SMTP_FROM = env.get("SMTP_FROM", "")
        self.SMTP_STARTTLS = env.get("SMTP_STARTTLS", "1").strip().lower() not in ("0", "false", "no", "off", "")


def _count(value: str, name: str, minimum: int = 0) -> int:
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise RuntimeError(f"{name} must be a whole number of {minimum} or more, not {value!r} / "
                           f"{name} phải là số nguyên từ {minimum} trở lên, không phải {value!r}")
    return number


def _choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    value = value.strip().lower()
    if value not in choices:
        raise RuntimeError(f"{name} must be one of {', '.join(choices)}, not {value!r} / "
                           f"{name} phải là một trong {', '.join(choices)}, không phải {value!r}")
    return value


def _public_base_url(url: str, app_env: str) -> str:
    """Decisions print it in their verification links and QR codes: a wrong one
    makes every decision issued with it unverifiable, so production must say it,
    and any value must be an absolute http(s) address (a path prefix is fine)."""
    if not url:
        if app_env == "production":
            raise RuntimeError(
                "PUBLIC_BASE_URL is required when APP_ENV=production: the address citizens open to check "
                "a decision, e.g. https://ntm.tamduong.example / Cần đặt biến môi trường PUBLIC_BASE_URL khi "
                "APP_ENV=production: địa chỉ người dân mở để kiểm tra quyết định, ví dụ https://ntm.tamduong.example")
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or any(c.isspace() for c in url):
        raise RuntimeError(
            f"PUBLIC_BASE_URL must be an absolute http:// or https:// address such as "
            f"https://ntm.tamduong.example, not {url!r} / PUBLIC_BASE_URL phải là địa chỉ đầy đủ bắt đầu bằng "
            f"http:// hoặc https://, ví dụ https://ntm.tamduong.example, không phải {url!r}")
    return url


def _storage_url(url: str) -> str:
    parts = urlsplit(url)
    good = (not url or url == "database" or (parts.scheme == "file" and parts.path.startswith("/"))
            or (parts.scheme in ("postgresql", "postgres") and parts.netloc)
            or (parts.scheme == "s3" and parts.netloc))
    if not good:
        raise RuntimeError(
            f"STORAGE_URL phải để trống, hoặc là file:///thư-mục, database, postgresql://... hay s3://bucket/tiền-tố, "
            f"không phải {url!r} / STORAGE_URL must be empty, file:///folder, database, postgresql://... "
            f"or s3://bucket/prefix, not {url!r}")
    return url


def normalize_db_url(url: str) -> str:
    """Plain postgresql:// URLs use psycopg 3, the driver we install."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


DEFAULT_POOL_SIZE = 10


def engine_options(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> dict:
    if url.startswith("sqlite"):
        # Writers wait for the lock instead of failing at once; compare-and-set
        # UPDATEs (see services) decide the winner.
        options = {"connect_args": {"timeout": 30, "check_same_thread": False}}
        if not sqlite_in_memory(url):  # in memory: one shared connection, no pool to size
            options["pool_size"] = pool_size
        return options
    # No JIT: the app's statements are short, and at a province's size PostgreSQL's cost
    # estimates crossed the JIT threshold and spent up to 2.5 s compiling a 0.2 s query.
    return {"pool_pre_ping": True, "pool_size": pool_size, "connect_args": {"options": "-c jit=off"}}


def sqlite_in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory"
