"""Pages as production serves them: DEBUG off, static files collected (collectstatic, into a temporary folder)
into WhiteNoise's compressed manifest storage, so every {% static %} names a hashed file that exists, with
long cache headers. The rest of the suite serves static files from the finders, which would hide a template
naming a file the manifest does not hold (a 500 on every page in production) or a 500 page that cannot
render itself."""
import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import path

from config import urls as project_urls
from tests.factories import stock_the_shop

pytestmark = pytest.mark.django_db


def boom(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("boom/", boom), *project_urls.urlpatterns]
handler404, handler500 = project_urls.handler404, project_urls.handler500

HASHED = re.compile(r'(?:href|src)="(/static/[\w/.-]+\.[0-9a-f]{12}\.(?:css|js))"')


@pytest.fixture
def production(settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    call_command("collectstatic", interactive=False, verbosity=0)
    settings.ROOT_URLCONF = __name__
    return Client(raise_request_exception=False)


def hashed_files(page) -> list[str]:
    found = HASHED.findall(page.content.decode())
    assert found, "the page names no hashed static file"
    return found


def test_the_shops_pages_name_hashed_static_files_that_are_served_for_a_year(production, store):
    stock_the_shop(store=store)
    for url in ("/", "/shop/", "/shop/organic-tee/", "/cart/", "/account/sign-in/", "/account/register/", "/admin/login/"):
        page = production.get(url)
        assert page.status_code == 200, url
        for static in hashed_files(page):
            served = production.get(static)
            assert served.status_code == 200, static
            assert "max-age=315360000" in served["Cache-Control"] and "immutable" in served["Cache-Control"]
            assert b"".join(served.streaming_content)  # read to the end, as a server would, which closes it


def test_the_not_found_and_server_error_pages_render_with_the_shops_styles(production):
    missing = production.get("/no-such-page/")
    assert missing.status_code == 404
    assert hashed_files(missing)

    broken = production.get("/boom/")
    assert broken.status_code == 500
    assert "Sorry, something went wrong on our side" in broken.content.decode()
    assert hashed_files(broken)

    api = production.get("/api/v1/no-such-thing/")
    assert (api.status_code, api.json()["code"]) == (404, "not_found")
