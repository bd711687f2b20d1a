"""The inventory back office as staff see it: stock shown but never edited in place, the stock forms
and document actions going through inventory.services, and changelists that cost the same at any size."""
import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains

from inventory import services
from inventory.models import StockLevel, StockMovement, Transfer
from inventory.services import StockLine
from tests.factories import UserFactory, VariantFactory

pytestmark = pytest.mark.django_db

Reason = StockMovement.Reason
STOCK_LEVELS = reverse("admin:inventory_stocklevel_changelist")
RECEIVE = reverse("admin:inventory_stocklevel_receive")
ADJUST = reverse("admin:inventory_stocklevel_adjust")
MARK_UNAVAILABLE = reverse("admin:inventory_stocklevel_mark_unavailable")


def buckets(location, variant) -> dict:
    found = StockLevel.objects.filter(location=location, variant=variant).values(
        "on_hand", "committed", "reserved", "unavailable", "incoming", "safety_stock"
    )
    return found[0] if found else {}


def page(response) -> str:
    return response.content.decode()


def run_action(client, model: str, action: str, *objects):
    return client.post(
        reverse(f"admin:inventory_{model}_changelist"),
        {"action": action, "_selected_action": [str(obj.pk) for obj in objects]},
        follow=True,
    )


# Stock levels: shown, not edited ----------------------------------------------------------------


def test_the_stock_level_changelist_shows_every_bucket_and_the_stock_forms(admin_client, store, variant, web, till):
    services.stock_receive(location=store, variant=variant, quantity=10)
    services.stock_reserve(lines=[StockLine(store, variant, 3)], channel=web)
    services.stock_commit(lines=[StockLine(store, variant, 1)], channel=till)
    services.stock_mark_unavailable(location=store, variant=variant, quantity=2)
    services.stock_set_safety_stock(location=store, variant=variant, quantity=1)

    html = page(admin_client.get(STOCK_LEVELS))

    for column, value in {
        "sku": "TEE-NAVY-M", "on_hand": 10, "committed": 1, "reserved": 3, "unavailable": 2, "incoming": 0,
        "safety_stock": 1, "available": 4,
    }.items():
        assert f'<td class="field-{column}">{value}</td>' in html
    for button in ("Receive stock", "Adjust stock", "Mark unavailable", "Set safety stock"):
        assert f">{button}</a>" in html
    assert 'name="form-0-on_hand"' not in html


def test_a_stock_level_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, store, variant):
    services.stock_receive(location=store, variant=variant, quantity=4)
    level = StockLevel.objects.get()
    change_url = reverse("admin:inventory_stocklevel_change", args=[level.pk])

    view = admin_client.get(change_url)
    assert view.status_code == 200
    assert 'name="_save"' not in page(view) and 'name="on_hand"' not in page(view)
    assert admin_client.post(change_url, {"on_hand": 99}).status_code == 403
    assert admin_client.get(reverse("admin:inventory_stocklevel_add")).status_code == 403
    delete_url = reverse("admin:inventory_stocklevel_delete", args=[level.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert buckets(store, variant)["on_hand"] == 4


def test_each_row_links_to_that_pairs_movement_history(admin_client, store, other_store, variant, other_variant):
    services.stock_receive(location=store, variant=variant, quantity=5, reference="PO-1")
    services.stock_receive(location=store, variant=other_variant, quantity=6, reference="PO-2")
    services.stock_receive(location=other_store, variant=variant, quantity=7, reference="PO-3")
    history = f"?location__id__exact={store.pk}&amp;variant__id__exact={variant.pk}"
    assert history in page(admin_client.get(STOCK_LEVELS))

    movements = admin_client.get(reverse("admin:inventory_stockmovement_changelist") + history.replace("&amp;", "&"))

    assert list(movements.context["cl"].result_list) == list(StockMovement.objects.filter(reference="PO-1"))


def test_searching_stock_levels_by_barcode_finds_the_row(admin_client, store, variant, other_variant):
    services.stock_receive(location=store, variant=variant, quantity=5)
    services.stock_receive(location=store, variant=other_variant, quantity=5)

    found = admin_client.get(STOCK_LEVELS, {"q": variant.barcode}).context["cl"].result_list

    assert [level.variant_id for level in found] == [variant.pk]


# The stock forms ------------------------------------------------------------------------------------


def test_receiving_through_the_admin_adds_on_hand_and_writes_one_receipt_by_the_user(
    admin_client, admin_user, store, variant
):
    services.stock_receive(location=store, variant=variant, quantity=12)

    response = admin_client.post(
        RECEIVE, {"location": store.pk, "variant": "TEE-NAVY-M", "quantity": "5", "reference": "PO-77"}, follow=True
    )

    assert "Received 5 × TEE-NAVY-M at LDN-OXF; on hand now 17." in page(response)
    assert buckets(store, variant)["on_hand"] == 17
    receipt = StockMovement.objects.get(reference="PO-77")
    assert (receipt.reason, receipt.on_hand_delta, receipt.actor) == (Reason.RECEIPT, 5, admin_user)


def test_receiving_by_barcode_finds_the_variant(admin_client, store, variant):
    admin_client.post(RECEIVE, {"location": store.pk, "variant": variant.barcode, "quantity": "3"})

    assert buckets(store, variant)["on_hand"] == 3


def test_the_adjust_form_without_a_reason_shows_an_error_and_changes_nothing(admin_client, store, variant):
    services.stock_receive(location=store, variant=variant, quantity=8)

    response = admin_client.post(ADJUST, {"location": store.pk, "variant": "TEE-NAVY-M", "quantity": "-2", "note": " "})

    assert response.status_code == 200
    assert response.context["form"].errors == {"note": ["This field is required."]}
    assert buckets(store, variant)["on_hand"] == 8
    assert StockMovement.objects.count() == 1


def test_the_adjust_form_books_a_signed_correction(admin_client, store, variant):
    services.stock_receive(location=store, variant=variant, quantity=8)

    response = admin_client.post(
        ADJUST, {"location": store.pk, "variant": "TEE-NAVY-M", "quantity": "-3", "note": "dropped in the lift"},
        follow=True,
    )

    assert "Adjusted TEE-NAVY-M at LDN-OXF by -3; on hand now 5." in page(response)
    assert StockMovement.objects.get(reason=Reason.ADJUSTMENT).note == "dropped in the lift"


def test_an_unknown_sku_is_a_field_error_and_changes_nothing(admin_client, store, variant):
    response = admin_client.post(RECEIVE, {"location": store.pk, "variant": "NO-SUCH-SKU", "quantity": "5"})

    assert response.context["form"].errors == {"variant": ["No variant has the SKU or barcode “NO-SUCH-SKU”."]}
    assert not StockLevel.objects.exists()


@pytest.mark.parametrize("quantity", ["0", "-4", "2.5", "five"])
def test_receiving_needs_a_positive_whole_number(admin_client, store, variant, quantity):
    response = admin_client.post(RECEIVE, {"location": store.pk, "variant": "TEE-NAVY-M", "quantity": quantity})

    assert list(response.context["form"].errors) == ["quantity"]
    assert not StockLevel.objects.exists()


def test_marking_more_unavailable_than_available_shows_the_shortage_and_changes_nothing(admin_client, store, variant):
    services.stock_receive(location=store, variant=variant, quantity=5)

    response = admin_client.post(MARK_UNAVAILABLE, {"location": store.pk, "variant": "TEE-NAVY-M", "quantity": "6"})

    assert response.context["form"].non_field_errors() == [
        "Not enough stock: TEE-NAVY-M at LDN-OXF: wanted 6, available 5."
    ]
    assert "wanted 6, available 5" in page(response)
    assert buckets(store, variant)["unavailable"] == 0
    assert StockMovement.objects.count() == 1


def test_setting_safety_stock_through_the_admin(admin_client, store, variant):
    services.stock_receive(location=store, variant=variant, quantity=5)

    response = admin_client.post(
        reverse("admin:inventory_stocklevel_safety_stock"),
        {"location": store.pk, "variant": "TEE-NAVY-M", "quantity": "2"},
        follow=True,
    )

    assert "Safety stock of TEE-NAVY-M at LDN-OXF set to 2; 3 available online." in page(response)
    assert buckets(store, variant)["safety_stock"] == 2


def test_staff_without_the_stock_permission_see_stock_but_cannot_move_it(client, store, variant):
    clerk = UserFactory()
    clerk.user_permissions.add(Permission.objects.get(codename="view_stocklevel"))
    client.force_login(clerk)

    assert "Receive stock" not in page(client.get(STOCK_LEVELS))
    assert client.get(RECEIVE).status_code == 403
    assert client.post(RECEIVE, {"location": store.pk, "variant": "TEE-NAVY-M", "quantity": "5"}).status_code == 403
    assert not StockLevel.objects.exists()


# Transfers ------------------------------------------------------------------------------------------


def test_a_draft_transfer_made_in_the_admin_moves_no_stock(admin_client, store, other_store, variant):
    services.stock_receive(location=store, variant=variant, quantity=5)

    admin_client.post(
        reverse("admin:inventory_transfer_add"),
        {
            "source": store.pk, "destination": other_store.pk, "note": "",
            "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000", "lines-0-variant": variant.pk, "lines-0-quantity": "3",
        },
    )

    transfer = Transfer.objects.get()
    assert (transfer.status, [(line.variant, line.quantity) for line in transfer.lines.all()]) == (
        Transfer.Status.DRAFT, [(variant, 3)]
    )
    assert buckets(store, variant)["on_hand"] == 5 and buckets(other_store, variant) == {}


def test_a_transfer_to_its_own_source_is_refused_in_the_form(admin_client, store):
    response = admin_client.post(
        reverse("admin:inventory_transfer_add"),
        {"source": store.pk, "destination": store.pk, "lines-TOTAL_FORMS": "0", "lines-INITIAL_FORMS": "0"},
    )

    assert response.context["adminform"].form.errors == {"destination": ["Choose a destination other than the source."]}
    assert not Transfer.objects.exists()


def test_shipping_then_receiving_a_transfer_through_admin_actions_moves_the_stock(
    admin_client, admin_user, store, other_store, variant
):
    services.stock_receive(location=store, variant=variant, quantity=10)
    transfer = services.transfer_create(source=store, destination=other_store, lines=[(variant, 4)])

    shipped = run_action(admin_client, "transfer", "ship_transfers", transfer)

    assert f"Shipped transfer {transfer.pk} (LDN-OXF → MAN-ARN)." in page(shipped)
    assert buckets(store, variant)["on_hand"] == 6
    assert (buckets(other_store, variant)["incoming"], buckets(other_store, variant)["on_hand"]) == (4, 0)

    received = run_action(admin_client, "transfer", "receive_transfers", transfer)

    assert f"Received transfer {transfer.pk} (LDN-OXF → MAN-ARN)." in page(received)
    assert (buckets(other_store, variant)["incoming"], buckets(other_store, variant)["on_hand"]) == (0, 4)
    transfer.refresh_from_db()
    assert (transfer.status, transfer.shipped_by, transfer.received_by) == (
        Transfer.Status.RECEIVED, admin_user, admin_user
    )


def test_a_transfer_that_cannot_ship_is_reported_and_stays_draft(admin_client, store, other_store, variant):
    services.stock_receive(location=store, variant=variant, quantity=2)
    transfer = services.transfer_create(source=store, destination=other_store, lines=[(variant, 4)])

    response = run_action(admin_client, "transfer", "ship_transfers", transfer)

    assert (
        f"Could not ship transfer {transfer.pk} (LDN-OXF → MAN-ARN): "
        "Not enough stock: TEE-NAVY-M at LDN-OXF: wanted 4, available 2."
    ) in page(response)
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.DRAFT
    assert buckets(store, variant)["on_hand"] == 2


def test_a_shipped_transfer_can_no_longer_be_edited_or_deleted(admin_client, store, other_store, variant):
    services.stock_receive(location=store, variant=variant, quantity=5)
    transfer = services.transfer_create(source=store, destination=other_store, lines=[(variant, 2)])
    draft_page = page(admin_client.get(reverse("admin:inventory_transfer_change", args=[transfer.pk])))
    assert 'name="lines-0-quantity"' in draft_page and 'name="source"' in draft_page
    services.transfer_ship(transfer=transfer)

    shipped_page = page(admin_client.get(reverse("admin:inventory_transfer_change", args=[transfer.pk])))

    assert 'name="lines-0-quantity"' not in shipped_page and 'name="source"' not in shipped_page
    delete = admin_client.post(reverse("admin:inventory_transfer_delete", args=[transfer.pk]), {"post": "yes"})
    assert delete.status_code == 403
    assert Transfer.objects.filter(pk=transfer.pk).exists()


def test_cancelling_draft_transfers_reports_the_ones_already_shipped(admin_client, store, other_store, variant):
    services.stock_receive(location=store, variant=variant, quantity=5)
    draft = services.transfer_create(source=store, destination=other_store, lines=[(variant, 1)])
    shipped = services.transfer_create(source=store, destination=other_store, lines=[(variant, 1)])
    services.transfer_ship(transfer=shipped)

    html = page(run_action(admin_client, "transfer", "cancel_transfers", draft, shipped))

    assert f"Cancelled transfer {draft.pk}" in html
    assert f"Could not cancel transfer {shipped.pk}" in html
    assert dict(Transfer.objects.values_list("pk", "status")) == {
        draft.pk: Transfer.Status.CANCELLED, shipped.pk: Transfer.Status.SHIPPED
    }


# Counts and reservations ----------------------------------------------------------------------------


def test_completing_a_count_through_the_admin_books_the_difference(admin_client, admin_user, store, variant):
    services.stock_receive(location=store, variant=variant, quantity=10)
    count = services.stock_count_start(location=store)
    services.stock_count_record(count=count, variant=variant, counted_quantity=7)

    response = run_action(admin_client, "stockcount", "complete_counts", count)

    assert f"Completed and booked count {count.pk} at LDN-OXF." in page(response)
    assert buckets(store, variant)["on_hand"] == 7
    booked = StockMovement.objects.get(reason=Reason.COUNT)
    assert (booked.on_hand_delta, booked.actor) == (-3, admin_user)
    count_page = admin_client.get(reverse("admin:inventory_stockcount_change", args=[count.pk]))
    assertContains(count_page, '<td class="field-expected_quantity"><p>10</p></td>', html=True)
    assertContains(count_page, '<td class="field-difference"><p>-3</p></td>', html=True)
    assert 'name="lines-0-counted_quantity"' not in page(count_page)


def test_releasing_a_reservation_through_the_admin_gives_the_units_back(admin_client, store, variant, web):
    services.stock_receive(location=store, variant=variant, quantity=5)
    reservation = services.stock_reserve(lines=[StockLine(store, variant, 2)], channel=web)

    response = run_action(admin_client, "reservation", "release_reservations", reservation)

    assert f"Released reservation {reservation.pk}." in page(response)
    assert buckets(store, variant)["reserved"] == 0


# Changelists -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changelist",
    [
        "admin:catalog_product_changelist", "admin:catalog_variant_changelist", "admin:catalog_category_changelist",
        "admin:catalog_price_changelist", "admin:inventory_location_changelist",
        "admin:inventory_stocklevel_changelist", "admin:inventory_stockmovement_changelist",
        "admin:inventory_transfer_changelist", "admin:inventory_stockcount_changelist",
        "admin:inventory_reservation_changelist",
    ],
)
def test_changelists_open(admin_client, store, variant, changelist):
    services.stock_receive(location=store, variant=variant, quantity=3)

    assert admin_client.get(reverse(changelist)).status_code == 200


@pytest.mark.parametrize(
    "changelist", ["admin:inventory_stocklevel_changelist", "admin:inventory_stockmovement_changelist"]
)
def test_the_stock_changelists_cost_the_same_queries_for_more_rows(admin_client, store, other_store, changelist):
    def queries_with(rows: int) -> int:
        services.stock_receive_many(
            lines=[StockLine(location, VariantFactory(), 1) for location in (store, other_store) for _ in range(rows)]
        )
        with CaptureQueriesContext(connection) as context:
            assert admin_client.get(reverse(changelist)).status_code == 200
        return len(context.captured_queries)

    assert queries_with(1) == queries_with(10)
