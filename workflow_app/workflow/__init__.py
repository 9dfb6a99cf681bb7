"""The workflow core. Imports nothing from Flask: a script can load states/,
build an Engine and fire events on plain objects."""
from .definitions import Definition, EventDef, load_all, load_definition
from .engine import Engine, StateHolder
from .errors import DefinitionError, DomainError
from .guards import CriterionFacts, DossierFacts

__all__ = ["Definition", "EventDef", "load_all", "load_definition", "Engine", "StateHolder",
           "DefinitionError", "DomainError", "CriterionFacts", "DossierFacts"]
