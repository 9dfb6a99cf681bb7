"""One function per business action. Services take the actor as an argument,
never read the request, and flush without committing: the caller owns the
transaction, so a refusal rolls everything back.

Areas, lowest first; a module imports only from its own area or lower ones
(tests/test_layers.py checks it):
  core       dossiers, events, evidence, clocks, campaigns, audit, users, units
  documents  decisions, receipts and appraisal reports, apology slips
  committee  the steering committee's members, visits and monthly reports
  reading    the dossier page, lists and work queues
  reporting  dashboard, monthly report, register, exports
  notify     reminders and mail
  admin      set-up, reforms' takeover, unit import, doctor, demo data
"""
from .core.dossiers import appraise_criterion, create_dossier, self_assess, set_fields
from .core.effects import install as install_effects
from .core.events import allowed_events, fire_batch, fire_batch_decision, fire_event
from .core.evidence import attach_evidence, find_attachment
from .documents import decisions, papers
from .notify import reminders

# What each effect named in states/*.yaml does: the one place they are wired.
install_effects({
    "issue_receipt": papers.issue_receipt,
    "issue_appraisal_report": papers.issue_appraisal_report,
    "issue_decision": decisions.issue_decision,
    "revoke_decision": decisions.revoke_decision,
    "notify_returned": reminders.notify_returned,
    "notify_decision": reminders.notify_decision,
})

__all__ = ["appraise_criterion", "create_dossier", "self_assess", "set_fields",
           "allowed_events", "fire_batch", "fire_batch_decision", "fire_event", "attach_evidence", "find_attachment"]
