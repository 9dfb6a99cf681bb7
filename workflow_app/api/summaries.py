"""The receiving level's summary of a lines kind across its communes (funds per source,
cement per village): JSON and XLSX. The rules are services/reporting/line_summary.py."""
from __future__ import annotations

import io

from flask import send_file
from marshmallow import Schema, fields

from ..auth import acting_user
from ..i18n import request_lang
from ..months import FIRST_YEAR, LAST_YEAR
from ..services.reporting.line_summary import summary, summary_dict
from ..services.reporting.line_summary_export import summary_xlsx, xlsx_filename
from ..services.reporting.sheets import XLSX_MIME
from .boundary import Blueprint, BoundarySchema, Code, Int

blp = Blueprint("summaries", __name__, description="The receiving level's summaries of lines across communes")


class SummaryQuery(BoundarySchema):
    issuer = Code(required=True, metadata={
        "description": "the receiving unit's code: the district for a year filed in the district era "
                       "(tam-duong for 2024), the province after the 2025 reform (lai-chau for 2026)"})
    year = Int(required=True, lo=FIRST_YEAR, hi=LAST_YEAR, metadata={"description": "the campaign year"})


class SummaryLabels(Schema):
    vi = fields.String()
    en = fields.String()


class SummaryBreakdown(Schema):
    name = fields.String(metadata={"description": "the definition's column name"})
    label = fields.Nested(SummaryLabels)


class SummaryMeasure(SummaryBreakdown):
    money = fields.Boolean(metadata={"description": "whole đồng"})


class SummaryColumn(Schema):
    key = fields.String(allow_none=True, metadata={"description": "a breakdown value: a choice key, a unit code"})
    label = fields.String(metadata={"description": "its label in the caller's language"})


class SummaryPart(SummaryColumn):
    amount = fields.Raw(metadata={"type": "number", "description": "the measure's sum"})
    granted = fields.Raw(allow_none=True, metadata={
        "type": "number", "nullable": True, "description": "the granted sum; null until something is granted"})


class SummaryUnit(Schema):
    code = fields.String()
    name = fields.String()


class SummaryIssuer(SummaryUnit):
    level = fields.String()


class SummaryDossier(Schema):
    id = fields.Integer()
    code = fields.String()
    state = fields.String()
    filed_on = fields.String(allow_none=True, metadata={"description": "YYYY-MM-DD of the first filing"})


class SummaryCommune(Schema):
    unit = fields.Nested(SummaryUnit)
    dossier = fields.Nested(SummaryDossier, allow_none=True, metadata={
        "description": "the commune's latest dossier of the year; null when it has none"})
    state_label = fields.String(metadata={"description": "the state's label, or 'Chưa lập' / 'Not started'"})
    late = fields.Boolean(allow_none=True, metadata={
        "description": "against the campaign's deadline (first filing; unfiled: today); null without a campaign"})
    days_late = fields.Integer()
    total = fields.Raw(metadata={"type": "number"})
    granted = fields.Raw(allow_none=True, metadata={"type": "number", "nullable": True})
    breakdown = fields.List(fields.Nested(SummaryPart), metadata={"description": "the measure per breakdown value"})


class SummaryTotals(Schema):
    total = fields.Raw(metadata={"type": "number"})
    granted = fields.Raw(allow_none=True, metadata={"type": "number", "nullable": True})
    breakdown = fields.List(fields.Nested(SummaryPart))


class SummaryOut(Schema):
    """The table: `layout` `rows` shows a sub-row per breakdown value under each commune,
    `columns` a column per value (`columns`, in order)."""

    kind = fields.String()
    label = fields.String()
    year = fields.Integer()
    on = fields.String(metadata={"description": "YYYY-MM-DD whose road and unit tree give issuer and communes"})
    issuer = fields.Nested(SummaryIssuer)
    layout = fields.String(metadata={"enum": ["rows", "columns"]})
    measure = fields.Nested(SummaryMeasure)
    breakdown = fields.Nested(SummaryBreakdown)
    grants = fields.Boolean(metadata={"description": "the road grants the measure per line"})
    deadline = fields.String(allow_none=True, metadata={"description": "the campaign's filing deadline"})
    columns = fields.List(fields.Nested(SummaryColumn))
    communes = fields.List(fields.Nested(SummaryCommune), metadata={"description": "every commune, by name"})
    totals = fields.Nested(SummaryTotals)


@blp.route("/summaries/<kind>", methods=["GET"])
@blp.arguments(SummaryQuery, location="query")
@blp.response(200, SummaryOut)
@blp.doc(security=[{"bearer": []}])
def summary_json(query: dict, kind: str):
    """The receiving unit's table of a kind made of lines, for a year: every commune under
    it that year (also those that filed nothing), its latest dossier's state, filing day,
    late flag and sums (requested, granted), broken down as the definition says; totals.
    404: unknown kind or issuer; 403: the issuer's dossiers are not the caller's to read;
    422: a kind made of criteria, or a unit that is not that year's receiving level."""
    return summary_dict(summary(kind, query["issuer"], query["year"], acting_user(), request_lang()))


@blp.route("/summaries/<kind>.xlsx", methods=["GET"])
@blp.arguments(SummaryQuery, location="query")
@blp.doc(security=[{"bearer": []}], responses={200: {
    "description": "the table as an XLSX workbook (sheet 'Tổng hợp'), in Vietnamese",
    "content": {XLSX_MIME: {"schema": {"type": "string", "format": "binary"}}}}})
def summary_xlsx_file(query: dict, kind: str):
    """The same table as an XLSX workbook."""
    s = summary(kind, query["issuer"], query["year"], acting_user(), "vi")
    return send_file(io.BytesIO(summary_xlsx(s)), mimetype=XLSX_MIME, as_attachment=True,
                     download_name=xlsx_filename(s))
