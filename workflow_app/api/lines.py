"""The table of a dossier made of lines (definitions with `lines` instead of criteria):
read a round of it, add, change and remove lines. Thin views as in dossiers.py: each
write loads the dossier, calls one service (services/core/lines.py) and builds its
answer inside one unit of work."""
from __future__ import annotations

from flask.views import MethodView

from ..auth import acting_user
from ..i18n import request_lang
from ..services.core.common import definition_of, load_dossier
from ..services.core.lines import add_line, remove_line, update_line
from ..services.core.persist import unit_of_work
from ..workflow.errors import BadRequest
from . import schemas as s
from .boundary import Blueprint
from .serialize import line_dict, lines_answer

blp = Blueprint("lines", __name__, description="Dossiers made of lines: the table of lines")

def _columns(body: dict) -> tuple[dict, int | None]:
    """The line's columns and the `version` sent alongside them."""
    values = dict(body)
    return values, values.pop("version", None)


@blp.route("/dossiers/<int:dossier_id>/lines", endpoint="lines")
class Lines(MethodView):

    @blp.arguments(s.LinesQuery, location="query")
    @blp.response(200, s.LinesOut)
    @blp.doc(security=[{"bearer": []}])
    def get(self, query: dict, dossier_id: int):
        """The lines of the current round (or of `round`), with their totals.

        An accepted funding plan amended into a new version keeps the accepted one
        readable as its round; a return starts a new round too. 422 for a dossier of criteria."""
        dossier = load_dossier(dossier_id, acting_user())
        return lines_answer(dossier, query.get("round", dossier.round), request_lang())

    @blp.arguments(s.LineIn)
    @blp.response(201, s.LineOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body: dict, dossier_id: int):
        """Add a line {column: value, ...} (who may edit the lines, in draft or returned).

        A sequence column (a priority) given inserts the line at that rank and moves the
        others down; left out, the line goes last. 400 for a column the kind does not have,
        403 for who may not edit the lines, 409 once the dossier is submitted or when
        `version` changed, 422 for a dossier of criteria and for values the columns refuse
        (`error.details.cells`: {column: reason})."""
        values, version = _columns(body)

        def work() -> dict:
            dossier = load_dossier(dossier_id, acting_user())
            line = add_line(acting_user(), dossier, values, version)
            return {**line_dict(definition_of(dossier), line), "version": dossier.version}
        return unit_of_work(work, version)


@blp.route("/dossiers/<int:dossier_id>/lines/<int:line_id>", endpoint="line")
class Line(MethodView):
    # One rule for both methods, as for attachments: an id out of range is a 404 for each.

    @blp.arguments(s.LineChange)
    @blp.response(200, s.LineOut)
    @blp.doc(security=[{"bearer": []}])
    def put(self, body: dict, dossier_id: int, line_id: int):
        """Change some columns of a line of the current round (the others keep their values).

        A new rank in a sequence column moves the lines between. 400 without a column or
        with a column the kind does not have, 403 for who may not edit the lines, 404 for a
        line not in the current round, 409 once the dossier is submitted or when `version`
        changed, 422 for values the columns refuse (`error.details.cells`: {column: reason})."""
        values, version = _columns(body)
        if not values:
            raise BadRequest("Hãy gửi ít nhất một cột cần sửa dưới dạng {tên cột: giá trị}.",
                             "Send at least one column to change as {column: value}.")

        def work() -> dict:
            dossier = load_dossier(dossier_id, acting_user())
            line = update_line(acting_user(), dossier, line_id, values, version)
            return {**line_dict(definition_of(dossier), line), "version": dossier.version}
        return unit_of_work(work, version)

    @blp.arguments(s.LineDeleteQuery, location="query")
    @blp.response(204)
    @blp.doc(security=[{"bearer": []}])
    def delete(self, query: dict, dossier_id: int, line_id: int):
        """Remove a line of the current round; a sequence column closes the gap.

        Earlier rounds keep their lines. 403 for who may not edit the lines, 404 for a line
        not in the current round, 409 once the dossier is submitted or when `version` changed."""
        version = query.get("version")

        def work() -> None:
            remove_line(acting_user(), load_dossier(dossier_id, acting_user()), line_id, version)
        unit_of_work(work, version)
