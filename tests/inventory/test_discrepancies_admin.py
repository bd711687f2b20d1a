"""The stock discrepancies page for store managers: every unit booked as found at a till of their stores
(when, where, what, how many, who, which sale), only their stores, read-only; store staff without the
permission are refused, and head office (a superuser) sees every store."""
import re

import pytest
from django.test import Client
from django.urls import reverse

from backoffice.roles import STORE_MANAGER, STORE_STAFF, role_assign
from inventory import services
from inventory.models import StockDiscrepancy
from inventory.services import StockLine
from tests.factories import UserFactory, VariantFactory

pytestmark = pytest.mark.django_db

DISCREPANCIES = reverse("admin:inventory_stockdiscrepancy_changelist")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def found_in_two_stores(store, other_store):
    """Sam found a tee at the Oxford Street till; someone found a hoodie in Manchester; a plain sale and a
    count correction are not discrepancies of this kind."""
    tee = VariantFactory(sku="TEE-NAVY-M", product__name="Organic Tee", options={"size": "M"})
    hoodie = VariantFactory(sku="HOOD-GREY-L", product__name="Harbour Hoodie", options={"size": "L"})
    sam = UserFactory(username="sam", first_name="Sam", last_name="Lee")
    services.stock_sell(lines=[StockLine(store, tee, 2)], reference="order:ROXF0001", actor=sam, book_found=True)
    services.stock_sell(lines=[StockLine(other_store, hoodie, 1)], reference="order:RMAN0001", book_found=True)
    services.stock_receive(location=store, variant=hoodie, quantity=3)
    services.stock_sell(lines=[StockLine(store, hoodie, 1)], reference="order:ROXF0002", book_found=True)
    services.stock_adjust(location=store, variant=hoodie, delta=-1, note="miscount")
    return tee, hoodie


def test_a_store_manager_sees_what_was_found_at_their_stores_tills(store, found_in_two_stores):
    manager = role_assign(user=UserFactory(), role=STORE_MANAGER, stores=[store])

    page = signed_in(manager).get(DISCREPANCIES)

    assert page.status_code == 200
    listed = re.search(r'<table id="result_list">.*?<tbody>(.*?)</tbody>', page.content.decode(), re.S).group(1)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", listed, re.S)
    assert len(rows) == 1
    cells = dict(re.findall(r'class="field-(\w+)[^"]*"[^>]*>(.*?)</t[dh]>', rows[0], re.S))
    assert {name: re.sub(r"<[^>]+>", "", value).strip() for name, value in cells.items() if name != "created_at"} == {
        "location": f"{store.code} · {store.name}", "sku": "TEE-NAVY-M", "item": "Organic Tee (M)", "units": "2",
        "who": "Sam Lee", "sale": "ROXF0001", "reason": "Found at the till"}
    assert "RMAN0001" not in text(page) and "ROXF0002" not in text(page)
    mine, theirs = (StockDiscrepancy.objects.get(reference=r) for r in ("order:ROXF0001", "order:RMAN0001"))
    opened = signed_in(manager).get(reverse("admin:inventory_stockdiscrepancy_change", args=[mine.pk]))
    assert opened.status_code == 200 and "Sam Lee" in text(opened) and 'name="_save"' not in opened.content.decode()
    elsewhere = signed_in(manager).get(reverse("admin:inventory_stockdiscrepancy_change", args=[theirs.pk]))
    assert elsewhere.status_code == 302  # "does not exist" for them


def test_store_staff_without_the_permission_are_refused(store, found_in_two_stores):
    assistant = role_assign(user=UserFactory(), role=STORE_STAFF, stores=[store])

    assert signed_in(assistant).get(DISCREPANCIES).status_code == 403


def test_head_office_sees_every_store_and_nobody_edits_a_discrepancy(store, other_store, found_in_two_stores):
    boss = UserFactory(username="boss", is_superuser=True)
    client = signed_in(boss)

    page = text(client.get(DISCREPANCIES))

    assert "ROXF0001" in page and "RMAN0001" in page
    assert client.get(reverse("admin:inventory_stockdiscrepancy_add")).status_code == 403
    assert "Add stock discrepancy" not in page
