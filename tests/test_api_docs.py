"""The OpenAPI schema and the interactive docs, which must work with no internet: every script and
stylesheet the docs page loads is served by this site."""
import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_schema_is_openapi_3_and_lists_the_api(client):
    schema = client.get("/api/schema/?format=json").json()

    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/cart/", "/api/v1/cart/lines/", "/api/v1/auth/token/", "/api/v1/me/consent/"} <= set(schema["paths"])


def test_the_docs_page_loads_only_assets_this_site_serves(client):
    page = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', page)

    assert assets, "the docs page should load its Swagger UI assets"
    assert not [a for a in assets if a.startswith(("http://", "https://", "//"))]
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        served.close()
