"""The apps depend one way (DESIGN.md): catalog ← inventory ← customers ← orders ← fulfillment ←
{backoffice, storefront}. A lower app never imports a higher one, and the two top apps never import
each other; where a lower app must react to a higher one, it sends a signal and the higher app reacts."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEVELS = [{"catalog"}, {"inventory"}, {"customers"}, {"orders"}, {"fulfillment"}, {"backoffice", "storefront"}]
APPS = sorted(set().union(*LEVELS))


def imported_apps(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found & set(APPS)


def not_below(app: str) -> set[str]:
    level = next(i for i, apps in enumerate(LEVELS) if app in apps)
    return set().union(*LEVELS[level:]) - {app}


@pytest.mark.parametrize("app", APPS)
def test_an_app_imports_only_apps_below_it(app):
    forbidden = not_below(app)
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_apps(path) & forbidden)
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and imported_apps(path) & forbidden
    }
    assert offenders == {}
