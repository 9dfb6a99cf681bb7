"""The package's floor plan, read from the source: which module may import which.

- The services' areas have an order (services/__init__.py): a module imports from
  its own area or a lower one, never a higher one, so no circle can form between
  areas.
- The lower floors (the engine, models, permissions, PDF, signing) never import the
  services, the web pages or the API; the services never import pages or API.
- No import sits inside a function (where it could hide a circle).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "workflow_app"
AREAS = ("core", "documents", "committee", "reading", "reporting", "notify", "admin")
# Floors below the services: what each may not import.
LOWER = {"workflow": ("services", "web", "api", "models", "flask"), "models": ("services", "web", "api"),
         "permissions": ("services", "web", "api"), "pdf": ("services", "web", "api"),
         "signing": ("services", "web", "api"), "services": ("web", "api")}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def dotted(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, text: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in the file (or `text` as if it were
    that file), relative ones resolved."""
    here = dotted(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(ast.parse(text if text is not None else path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            # `from . import x` may name a module: count both the package and the module
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return found


def area_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] == ["workflow_app", "services"] and len(parts) > 2 and parts[2] in AREAS:
        return parts[2]
    return None


def test_every_service_module_is_in_an_area():
    loose = [p.name for p in (PACKAGE / "services").glob("*.py") if p.name != "__init__.py"]
    assert loose == [], "a service module belongs in an area (services/<area>/)"
    assert sorted(p.name for p in (PACKAGE / "services").iterdir() if p.is_dir() and p.name != "__pycache__") \
        == sorted(AREAS)


def test_areas_import_only_their_own_or_lower_ones():
    upward = []
    for path in (PACKAGE / "services").rglob("*.py"):
        mine = area_of(dotted(path))
        if mine is None:
            continue  # services/__init__.py: the top, which wires the effects
        for line, module in imported(path):
            theirs = area_of(module)
            if theirs and AREAS.index(theirs) > AREAS.index(mine):
                upward.append(f"{path.relative_to(PACKAGE)}:{line} ({mine}) imports {module} ({theirs})")
    assert upward == []


@pytest.mark.parametrize("floor", sorted(LOWER))
def test_lower_floors_do_not_import_higher_ones(floor):
    root = PACKAGE / floor
    paths = list(root.rglob("*.py")) if root.is_dir() else [PACKAGE / f"{floor}.py"]
    assert paths and all(p.exists() for p in paths)
    banned = tuple(f"workflow_app.{name}" if name != "flask" else "flask" for name in LOWER[floor])
    bad = [f"{p.relative_to(PACKAGE)}:{line} imports {module}" for p in paths for line, module in imported(p)
           if any(module == b or module.startswith(b + ".") for b in banned)]
    assert bad == []


def test_no_import_inside_a_function():
    hidden = []
    for path in modules():
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                hidden += [f"{path.relative_to(PACKAGE)}:{n.lineno}" for n in ast.walk(fn)
                           if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert hidden == []


def test_the_checks_see_an_upward_import():
    """The resolver reads relative imports the way Python does: a documents module
    importing `..reporting.dashboard` is seen as importing the reporting area."""
    where = PACKAGE / "services" / "documents" / "decisions.py"
    found = [m for _, m in imported(where, "from ..reporting.dashboard import x\nfrom ...models import Dossier\n")]
    assert "workflow_app.services.reporting.dashboard" in found
    assert area_of("workflow_app.services.reporting.dashboard") == "reporting"
    assert "workflow_app.models" in found
