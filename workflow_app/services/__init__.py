"""One function per business action. Services take the actor as an argument,
never read the request, and flush without committing: the caller owns the
transaction, so a refusal rolls everything back."""
from .dossiers import appraise_criterion, create_dossier, self_assess, set_fields
from .events import allowed_events, fire_batch, fire_batch_decision, fire_event
from .evidence import attach_evidence, find_attachment

__all__ = ["appraise_criterion", "create_dossier", "self_assess", "set_fields",
           "allowed_events", "fire_batch", "fire_batch_decision", "fire_event", "attach_evidence", "find_attachment"]
