"""How the apps depend on each other (DESIGN.md), checked in every module's imports:

* one way, bottom to top: core ← notifications ← catalog ← inventory ← customers ← orders ← fulfillment ←
  {backoffice, storefront} ← demo. A lower app never imports a higher one, nor an app on its own floor;
  where a lower app must react to a higher one, it sends a signal and the higher app listens;
* no app imports another app's faces (api, views, admin, urls): what two faces share lives in the
  owning app's services, selectors or a module of its own;
* no app imports config, which is wiring (settings, URLs, the Celery app, the schedule) that only Django loads.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEVELS = [{"core"}, {"notifications"}, {"catalog"}, {"inventory"}, {"customers"}, {"orders"}, {"fulfillment"},
          {"backoffice", "storefront"}, {"demo"}]
APPS = sorted(set().union(*LEVELS))
FACES = {"api", "views", "admin", "urls"}


def imported_modules(source: str) -> set[str]:
    """Dotted names of what the source imports absolutely (`from x import y` counts as x and x.y)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def is_face(module: str) -> bool:
    return any(part in FACES or part.endswith(("_urls", "_views")) for part in module.split(".")[1:])


def app_modules(app: str):
    for path in (ROOT / app).rglob("*.py"):
        if "migrations" not in path.parts:
            yield path


def not_below(app: str) -> set[str]:
    level = next(i for i, apps in enumerate(LEVELS) if app in apps)
    return set().union(*LEVELS[level:]) - {app}


def broken_rules(app: str, source: str) -> dict[str, list[str]]:
    """Each rule the source breaks, with the imports that break it."""
    imported = imported_modules(source)
    tops = {m.split(".")[0] for m in imported}
    broken = {
        "imports an app not below it": sorted(tops & not_below(app)),
        "imports another app's face": sorted(m for m in imported
                                             if m.split(".")[0] in APPS and m.split(".")[0] != app and is_face(m)),
        "imports config": sorted(m for m in imported if m.split(".")[0] == "config"),
    }
    return {rule: found for rule, found in broken.items() if found}


@pytest.mark.parametrize("app", APPS)
def test_an_app_keeps_to_the_rules(app):
    offenders = {str(path.relative_to(ROOT)): broken
                 for path in app_modules(app) if (broken := broken_rules(app, path.read_text()))}
    assert offenders == {}


def test_every_project_app_is_on_a_floor():
    from django.conf import settings

    project_apps = {name for name in settings.INSTALLED_APPS if (ROOT / name).is_dir()} - {"config"}
    assert project_apps == set(APPS)


@pytest.mark.parametrize("app, planted, rule", [
    ("inventory", "from orders.models import Order", "imports an app not below it"),
    ("catalog", "import notifications.services", None),
    ("notifications", "from catalog.models import Variant", "imports an app not below it"),
    ("backoffice", "from storefront.selectors import place_find", "imports an app not below it"),
    ("orders", "from customers.api import customer_of", "imports another app's face"),
    ("fulfillment", "from orders import admin", "imports another app's face"),
    ("storefront", "from fulfillment.views import scan_station", "imports another app's face"),
    ("backoffice", "from orders.till_urls import urlpatterns", "imports another app's face"),
    ("storefront", "import customers.api", "imports another app's face"),
    ("orders", "from .api import CheckoutAPI", None),
    ("orders", "from orders.api import CheckoutAPI", None),
    ("customers", "from config.exceptions import DomainError", "imports config"),
    ("demo", "import config.settings", "imports config"),
])
def test_the_rules_catch_a_planted_import(app, planted, rule):
    broken = broken_rules(app, planted)
    assert list(broken) == ([rule] if rule else [])
