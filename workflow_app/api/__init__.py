"""The JSON API (/api/v1). flask-smorest generates the OpenAPI document from
these views and schemas; errors use the CONTRACT's shape (see errors.py)."""
from __future__ import annotations

import threading
from collections.abc import Callable

from apispec import APISpec
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
    """flask-smorest's Api, with the OpenAPI document written when it is first read
    (/api/v1/openapi.json, `flask openapi`) instead of while the app is built:
    writing it is most of an app's start-up (~20 ms), and most processes (CLI
    commands, workers between two readings of the document, tests) never read it."""

    ERROR_SCHEMA = ErrorOut  # the documented default and 422 responses

    def __init__(self, app: Flask, *, spec_kwargs: dict, finish: Callable[[APISpec], None]):
        self._undocumented: list[tuple] = []  # (blueprint, name, parameters) registered, not yet written
        self._finish = finish  # amendments to the written document
        self._writing = threading.Lock()  # two first readers at once: one writes, both read it whole
        self._spec: APISpec | None = None
        super().__init__(app, spec_kwargs=spec_kwargs)

    @property
    def spec(self) -> APISpec | None:
        if self._undocumented:
            with self._writing:
                if self._undocumented:
                    self._write_document()
        return self._spec

    @spec.setter
    def spec(self, value: APISpec | None) -> None:
        self._spec = value

    def register_blueprint(self, blp, *, parameters=None, **options) -> None:
        """Api.register_blueprint, the documentation left for the first reading."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def _write_document(self) -> None:
        for blp, name, parameters in self._undocumented:
            blp.register_views_in_doc(self, self._app, self._spec, name=name, parameters=parameters)
            self._spec.tag({"name": name, "description": blp.description})
        self._finish(self._spec)
        self._undocumented = []


def _amend(spec: APISpec) -> None:
    # Free-form {name: value}, but not empty: the view answers 400 to {} (nothing to set).
    spec.components.schemas["FieldsIn"]["minProperties"] = 1
    spec.components.schemas["LineChange"]["minProperties"] = 1  # at least a column (the view: 400)


def register_api(app: Flask) -> Api:
    # Its HTTP error handler is replaced by errors.register_error_handlers.
    api = _Api(app, spec_kwargs={
        "info": {"description": "Hồ sơ công nhận nông thôn mới / NTM recognition dossiers. "
                                "Authenticate with 'Authorization: Bearer <token>' (flask users token)."},
    }, finish=_amend)
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
    return api
