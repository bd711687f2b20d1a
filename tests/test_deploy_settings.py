"""A real deployment's settings come from the environment: with the variables the README gives for one
behind HTTPS, `manage.py check --deploy` finds nothing to warn about; without them it does (so the test
would notice the settings stop being read), and every page says what may run on it (CSP)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "0", "ALLOWED_HOSTS": "shop.example",
    "SECRET_KEY": "x7#kq-2vLp9!aRt4mZ0wYc8&bN3eHj6uSd1fGi5oQlTr0pKv-Wn2xEo7yUb4sDh9cJ",
    "SECURE_SSL_REDIRECT": "1", "SECURE_HSTS_SECONDS": "31536000", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1", "SECURE_COOKIES": "1", "BEHIND_HTTPS_PROXY": "1",
    "DATABASE_URL": "sqlite:///:memory:",
}


def deploy_check(environ: dict) -> subprocess.CompletedProcess:
    # Only what a server's environment would hold: the test run's own variables (e.g. the browser tests'
    # DJANGO_ALLOW_ASYNC_UNSAFE) would be warned about, rightly.
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ} | environ
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_the_production_environment():
    checked = deploy_check(PRODUCTION)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no issues" in checked.stdout


def test_check_deploy_warns_when_the_https_settings_are_left_out():
    checked = deploy_check({k: v for k, v in PRODUCTION.items() if not k.startswith("SECURE_")})

    assert checked.returncode != 0
    assert "security.W004" in checked.stderr + checked.stdout  # HSTS


@pytest.mark.django_db
def test_every_page_says_what_may_run_on_it():
    for path in ("/", "/admin/login/", "/api/v1/products/"):
        policy = Client().get(path)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


@pytest.mark.django_db
def test_the_checkout_may_load_stripe_js_from_where_the_setting_points(settings):
    settings.STRIPE_JS_URL = "https://stripe-js.example.net/v3/"
    policy = dict(part.split(" ", 1) for part in Client().get("/checkout/")["Content-Security-Policy"].split("; "))
    assert "https://stripe-js.example.net" in policy["script-src"].split()
    assert "https://stripe-js.example.net" in policy["frame-src"].split()
