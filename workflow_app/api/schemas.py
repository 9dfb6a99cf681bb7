"""Marshmallow schemas: request validation and the OpenAPI description."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, ValidationError, fields, post_dump, validate

from ..workflow.errors import BadRequest
from .boundary import BoundarySchema, Code, Int, Text


class UnitRef(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class UnitOut(UnitRef):
    level = fields.String()
    parent = fields.String(allow_none=True, metadata={"description": "the parent's code on the day asked"})


class UnitDetail(UnitOut):
    """One unit on a day: `parent` is null for a province, and outside the unit's life."""

    valid_from = fields.String(allow_none=True, metadata={"description": "YYYY-MM-DD, first day; null: always"})
    valid_to = fields.String(allow_none=True, metadata={"description": "YYYY-MM-DD, last day; null: still exists"})


class RoleOut(Schema):
    role = fields.String()
    unit = fields.Nested(UnitRef)
    criteria = fields.List(fields.String(), allow_none=True)
    # False once the unit no longer exists (a reform abolished it): the role still reads.
    acts = fields.Boolean(metadata={"description": "the role may act today (its unit exists)"})
    ended_on = fields.Date(allow_none=True, metadata={"description": "the unit's last day, when it has ended"})


class MeOut(Schema):
    id = fields.Integer()
    username = fields.String()
    name = fields.String()
    roles = fields.List(fields.Nested(RoleOut))


class AttachmentOut(Schema):
    id = fields.Integer()
    filename = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    criterion = fields.String(allow_none=True)
    mime = fields.String()
    round = fields.Integer()


class CriterionOut(Schema):
    code = fields.String()
    name = fields.String()
    self_assessment = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    verdict = fields.String(allow_none=True)
    verdict_note = fields.String(allow_none=True)
    evidence = fields.List(fields.Integer(), metadata={"description": "attachment ids"})


class HistoryOut(Schema):
    event = fields.String()
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String(allow_none=True)
    actor = fields.String()
    role = fields.String()
    unit = fields.String()
    comment = fields.String(allow_none=True)
    at = fields.String(metadata={"description": "ISO 8601 with offset"})


class DecisionRef(Schema):
    number = fields.Integer()
    symbol = fields.String()
    issued_on = fields.String()
    status = fields.String()
    pdf_url = fields.String()
    verify_url = fields.String()
    sha256 = fields.String()


class DocumentOut(Schema):
    """A paper of the dossier other than a decision (see api/documents.py)."""

    id = fields.Integer()
    kind = fields.String(metadata={"description": "receipt | appraisal_report | apology:<state>"})
    round = fields.Integer()
    number = fields.Integer(allow_none=True,
                            metadata={"description": "null for receipts (the dossier code identifies them)"})
    symbol = fields.String(allow_none=True)
    issued_at = fields.String(metadata={"description": "ISO 8601 with offset"})
    issuer = fields.Nested(UnitRef)
    pdf_url = fields.String()


class ClockOut(Schema):
    """The step clock of the dossier's state (states with a time limit only)."""

    state = fields.String()
    started_on = fields.String(metadata={"description": "YYYY-MM-DD (+07:00): entered the state"})
    due_on = fields.String(allow_none=True, metadata={
        "description": "YYYY-MM-DD; an apology's new date replaces it; null when a holiday calendar is missing"})
    unit = fields.String(metadata={"description": "working | calendar"})
    limit = fields.Integer(metadata={"description": "days of the time limit"})
    days_left = fields.Integer(allow_none=True, metadata={"description": "in `unit` days; negative when late"})
    overdue = fields.Boolean()
    due_soon = fields.Boolean()
    paused_days = fields.Integer(metadata={"description": "days spent returned (clock paused)"})
    apology = fields.String(allow_none=True, metadata={"description": "the latest apology's new date"})
    calendar_gap = fields.Integer(allow_none=True, metadata={"description": "a year without a holiday file"})


class FilingOut(Schema):
    """The dossier against its campaign's filing deadline (states/campaigns/<year>.yaml)."""

    deadline = fields.String(metadata={"description": "YYYY-MM-DD"})
    days_left = fields.Integer(metadata={
        "description": "calendar days to the deadline (from today, or from filing); negative: late"})
    filed_on = fields.String(allow_none=True, metadata={"description": "first submission day, null while unfiled"})
    late = fields.Boolean()


class DossierSummary(Schema):
    id = fields.Integer()
    code = fields.String()
    kind = fields.String()
    unit = fields.Nested(UnitRef)
    year = fields.Integer()
    state = fields.String()
    version = fields.Integer()
    round = fields.Integer()


class LineOut(Schema):
    """One line of a dossier made of lines: `id`, then every column of the definition by
    name (null when not given): integers and numbers as JSON numbers, dates as
    YYYY-MM-DD, units by code, choices by key. `granted` only for a definition with an
    event that grants per line (null until it fires)."""

    class Meta:
        unknown = INCLUDE  # documents the columns as further properties

    id = fields.Integer()
    granted = fields.Raw(allow_none=True, metadata={
        "type": "number", "nullable": True, "description": "what the receiving level granted of the line"})
    version = fields.Integer(metadata={
        "description": "after POST or PUT: the dossier's version once the line is saved (send it back as `version`)"})

    @post_dump(pass_original=True)
    def _columns(self, data: dict, original: dict, **kwargs) -> dict:
        return {**original, **data}


class TotalOut(Schema):
    """The summary's measure added up per value of its breakdown column (in first-seen order)."""

    key = fields.String(allow_none=True, metadata={"description": "the breakdown value (a choice key, a unit code)"})
    label = fields.String(metadata={"description": "its label in the caller's language (a unit's name)"})
    amount = fields.Raw(metadata={"type": "number", "description": "the measure's sum"})
    granted = fields.Raw(allow_none=True, metadata={
        "type": "number", "nullable": True, "description": "the granted sum; null until something is granted"})


class LinesOut(Schema):
    items = fields.List(fields.Nested(LineOut))
    totals = fields.List(fields.Nested(TotalOut))
    round = fields.Integer(metadata={"description": "the version (round) these lines belong to"})
    version = fields.Integer(metadata={"description": "the dossier's version (send it back as `version`)"})


class DossierOut(DossierSummary):
    criteria = fields.List(fields.Nested(CriterionOut))
    fields_ = fields.Dict(data_key="fields", attribute="fields")
    attachments = fields.List(fields.Nested(AttachmentOut))
    history = fields.List(fields.Nested(HistoryOut))
    allowed_events = fields.List(fields.String())
    documents = fields.List(fields.Nested(DocumentOut), metadata={"description": "receipts and appraisal reports"})
    decision = fields.Nested(DecisionRef, allow_none=True)
    revocation = fields.Nested(DecisionRef, allow_none=True, metadata={
        "description": "the decision that revoked the recognition (revoked dossiers), else null"})
    clock = fields.Nested(ClockOut, allow_none=True, metadata={
        "description": "the step clock of the present state, null for states without a time limit"})
    filing = fields.Nested(FilingOut, allow_none=True, metadata={
        "description": "the filing deadline of the dossier's campaign, null without a campaign"})
    lines = fields.List(fields.Nested(LineOut), metadata={
        "description": "dossiers made of lines only: the lines of the current round"})
    totals = fields.List(fields.Nested(TotalOut), metadata={
        "description": "dossiers made of lines only: the lines added up (as in GET .../lines)"})


class Page(Schema):
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()
    next = fields.String(allow_none=True)


class DossierPage(Page):
    items = fields.List(fields.Nested(DossierSummary))


class UnitList(Schema):
    items = fields.List(fields.Nested(UnitOut))


class DossierQuery(BoundarySchema):
    kind = Code()
    state = Code()
    unit = Code(metadata={"description": "unit code; its whole subtree"})
    year = Int()
    page = Int(load_default=1, lo=1)


class UnitDayQuery(BoundarySchema):
    on = fields.Date(metadata={"description": "YYYY-MM-DD: the tree of that day (default today, +07:00)"})

    def handle_error(self, error: ValidationError, data, *, many: bool, **kwargs):
        if isinstance(error.messages, dict) and "on" in error.messages:
            raise BadRequest("Ngày không hợp lệ ở tham số on: hãy ghi theo dạng YYYY-MM-DD, ví dụ 2025-07-01.",
                             "Bad date in 'on': write it as YYYY-MM-DD, e.g. 2025-07-01.")
        super().handle_error(error, data, many=many, **kwargs)


class UnitQuery(UnitDayQuery):
    parent = Code(metadata={"description": "unit code: its children on the day"})


class DossierCreate(BoundarySchema):
    kind = Code(required=True)
    unit = Code(required=True, metadata={"description": "applicant unit code"})
    year = Int(required=True, strict=True)


class SelfAssessmentIn(BoundarySchema):
    self_assessment = Code(required=True, validate=validate.OneOf(["met", "not_met"]))
    note = Text(allow_none=True, validate=validate.Length(max=5000))
    version = Int(allow_none=True, strict=True)


class AppraisalIn(BoundarySchema):
    verdict = Code(required=True, validate=validate.OneOf(["pass", "fail"]))
    note = Text(allow_none=True, validate=validate.Length(max=5000))
    version = Int(allow_none=True, strict=True)


class FieldsIn(BoundarySchema):
    """Free-form {name: value}: the service checks names and types against the
    definition; the base schema has already refused control characters,
    non-finite numbers and integers beyond 2^53."""

    class Meta:
        unknown = INCLUDE


class EventIn(BoundarySchema):
    event = Code(required=True)
    comment = Text(allow_none=True, validate=validate.Length(max=5000))
    version = Int(allow_none=True, strict=True, metadata={"description": "the version you last saw; 409 if it changed"})
    # The amounts are checked by the service (a number from 0 to what the line asks: 422).
    granted = fields.Dict(keys=Code(), values=fields.Raw(metadata={"type": "number"}), metadata={
        "description": "an event that grants per line (accepting a cement request): {line_id: amount}, "
                       "0 up to what the line asks; a line not named is granted in full"})


class UploadIn(BoundarySchema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    criterion = Code()


class AttachmentDeleteQuery(BoundarySchema):
    version = Int(metadata={"description": "the dossier version you last saw; 409 if it changed"})


class LineIn(BoundarySchema):
    """A line as {column: value, ...} by the definition's column names (see LineOut);
    the service checks each value against its column. A column the dossier's kind
    does not have is 400."""

    class Meta:
        unknown = INCLUDE

    version = Int(allow_none=True, strict=True, metadata={"description": "the version you last saw; 409 if it changed"})


class LineChange(LineIn):
    """The columns to change (the others keep their values); at least one."""


class LinesQuery(BoundarySchema):
    round = Int(lo=1, metadata={"description": "an earlier version (round) of the table, 1 up to the dossier's "
                                              "`round` (default: the current one); 404 outside"})


class LineDeleteQuery(AttachmentDeleteQuery):
    """`version`: the dossier version you last saw; 409 if it changed."""


class RegisterQuery(BoundarySchema):
    issuer = Code(required=True)
    year = Int(required=True)
    after = Int(lo=0, metadata={
        "description": "only numbers above this one (paging; without it and `limit`, the whole register)"})
    limit = Int(lo=1, hi=1000, metadata={
        "description": "at most this many numbers (paging; `next` names the following page)"})


class DecisionLink(Schema):
    number = fields.Integer()
    symbol = fields.String()
    issued_on = fields.String()
    verify_url = fields.String()


class RevocationLink(DecisionLink):
    units = fields.List(fields.Dict(), metadata={"description": "the units whose recognition it revoked"})


class RegisterEntry(Schema):
    number = fields.Integer()
    symbol = fields.String()
    issued_on = fields.String()
    type = fields.String()
    status = fields.String()
    signer = fields.String()
    subject = fields.String()
    sha256 = fields.String()
    verify_url = fields.String()
    dossiers = fields.List(fields.Dict())
    reason = fields.String(allow_none=True, metadata={"description": "revocations: the written reason"})
    revokes = fields.Nested(DecisionLink, allow_none=True, metadata={
        "description": "revocations: the decision revoked; else null"})
    revoked_by = fields.List(fields.Nested(RevocationLink), metadata={
        "description": "the revocation decisions citing this one (a partial revocation leaves it valid)"})


class BatchItem(fields.Field):
    """A dossier id, or {"id": id, "version": version}: loads as (id, version or None)."""

    _ID, _VERSION = Int(strict=True), Int(strict=True, allow_none=True)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict) and set(value) <= {"id", "version"} and "id" in value:
            ident, version = value["id"], value.get("version")
        elif not isinstance(value, dict | list):
            ident, version = value, None
        else:
            raise ValidationError("A dossier id or {id, version}.")
        name = self.parent.name if isinstance(self.parent, fields.List) else (self.name or "dossiers")
        return (self._ID.deserialize(ident, name),
                None if version is None else self._VERSION.deserialize(version, name))


_BATCH_ID = {"type": "integer", "minimum": BatchItem._ID.lo, "maximum": BatchItem._ID.hi}  # as Int documents itself


class BatchIn(BoundarySchema):
    dossiers = fields.List(BatchItem(metadata={"oneOf": [
        _BATCH_ID, {"type": "object", "properties": {"id": _BATCH_ID, "version": {**_BATCH_ID, "nullable": True}},
                       "required": ["id"], "additionalProperties": False}]}),
        required=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "dossier ids, or {id, version} objects (409 if a version changed)"})
    comment = Text(allow_none=True, validate=validate.Length(max=5000))


class RegisterOut(Schema):
    items = fields.List(fields.Nested(RegisterEntry))
    next = fields.String(allow_none=True, metadata={
        "description": "with `limit`: the URL of the numbers after these, null at the end"})
