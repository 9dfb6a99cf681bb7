"""One module per aggregate; importing this registers every table."""
from ..extensions import db
from .audit import AuditCheckpoint, AuditRecord, install_append_only
from .decisions import Counter, Decision, Document, VerificationCheck, decision_dossiers
from .dossiers import Attachment, CriterionEntry, Dossier
from .lines import DossierLine
from .progress import CommitteeMember, CommitteeVisit, MonthlyReport, OutboxMessage
from .times import utcnow
from .units import LEVELS, Reform, Unit, UnitLink
from .users import ROLES, ApiToken, RoleAssignment, User

install_append_only(db.metadata)

__all__ = [
    "CommitteeMember", "CommitteeVisit", "MonthlyReport", "OutboxMessage",
    "AuditCheckpoint", "AuditRecord", "Counter", "Decision", "Document", "VerificationCheck", "decision_dossiers",
    "Attachment",
    "CriterionEntry", "Dossier", "DossierLine", "utcnow", "LEVELS", "Reform", "Unit", "UnitLink", "ROLES", "ApiToken",
    "RoleAssignment", "User",
]
