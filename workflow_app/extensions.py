"""Extensions, unbound; attached in create_app with init_app."""
from __future__ import annotations

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
login_manager.session_protection = "strong"
login_manager.login_view = "web.login"
login_manager.login_message = "Hãy đăng nhập để tiếp tục."
csrf = CSRFProtect()


def on_postgresql() -> bool:
    """The session's database is PostgreSQL (else SQLite, the embedded default)."""
    return db.session.get_bind().dialect.name == "postgresql"


def insert_or_skip(table):
    """INSERT ... ON CONFLICT for the session's database (PostgreSQL's or SQLite's)."""
    return (pg_insert if on_postgresql() else sqlite_insert)(table)
