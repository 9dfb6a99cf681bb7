"""The JSON API (/api/v1). flask-smorest generates the OpenAPI document from
these views and schemas; errors use the CONTRACT's shape (see errors.py)."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api
from marshmallow import Schema, fields

from ..extensions import csrf
from .apology import blp as apology_blp
from .batch import blp as batch_blp
from .committee import blp as committee_blp
from .documents import blp as documents_blp
from .dossiers import blp as dossiers_blp
from .lines import blp as lines_blp
from .reference import blp as reference_blp
from .summaries import blp as summaries_blp


class _ErrorBody(Schema):
    code = fields.String(required=True, metadata={"description": "stable machine code, e.g. not_found"})
    message = fields.String(required=True, metadata={"description": "Vietnamese, or English with Accept-Language: en"})
    details = fields.Dict(metadata={"description": "what a schema refused in the request, by field"})


class ErrorOut(Schema):
    """What errors.error_response sends for every refusal (400-503)."""

    error = fields.Nested(_ErrorBody, required=True)


class _Api(Api):
    ERROR_SCHEMA = ErrorOut  # the documented default and 422 responses


def register_api(app: Flask) -> Api:
    # Its HTTP error handler is replaced by errors.register_error_handlers.
    api = _Api(app, spec_kwargs={
        "info": {"description": "Hồ sơ công nhận nông thôn mới / NTM recognition dossiers. "
                                "Authenticate with 'Authorization: Bearer <token>' (flask users token)."},
    })
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})

    for blp in (reference_blp, dossiers_blp, lines_blp, batch_blp, documents_blp):
        api.register_blueprint(blp, url_prefix="/api/v1")

    api.register_blueprint(committee_blp, url_prefix="/api/v1")

    api.register_blueprint(apology_blp, url_prefix="/api/v1")
    api.register_blueprint(summaries_blp, url_prefix="/api/v1")
    csrf.exempt(summaries_blp)  # GET only, Bearer tokens
    # Bearer-token API: no cookies, so no CSRF. Only these module-level blueprints are
    # exempted: the one flask-smorest makes per app (api-docs) serves GET alone, and
    # adding it to the extension's set would keep every app ever built alive.
    for blp in (reference_blp, dossiers_blp, lines_blp, batch_blp, documents_blp, committee_blp, apology_blp):
        csrf.exempt(blp)
    # Free-form {name: value}, but not empty: the view answers 400 to {} (nothing to set).
    api.spec.components.schemas["FieldsIn"]["minProperties"] = 1
    api.spec.components.schemas["LineChange"]["minProperties"] = 1  # at least a column (the view: 400)
    return api
