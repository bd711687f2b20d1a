"""One cart on every device: guests by token, customers by session or app token, merged at sign-in,
priced and checked against stock for the channel asking."""
import pytest

from catalog.models import Channel, Price
from customers.models import Cart, CartLine, Interaction
from tests.customers.conftest import PASSWORD, app_client, browser

pytestmark = pytest.mark.django_db


def add(client, sku, quantity=1, **headers):
    return client.post("/api/v1/cart/lines/", {"sku": sku, "quantity": quantity}, format="json", headers=headers)


def lines_of(body) -> dict[str, int]:
    return {line["sku"]: line["quantity"] for line in body["lines"]}


def test_a_guest_cart_is_found_again_by_its_token(api, priced):
    added = add(api, "TEE-NAVY-M", 2)
    token = added.json()["token"]

    again = api.get("/api/v1/cart/", headers={"X-Cart-Token": token})

    assert added.status_code == 201 and added["X-Cart-Token"] == token
    body = again.json()
    assert lines_of(body) == {"TEE-NAVY-M": 2}
    assert (body["subtotal"], body["currency"], body["item_count"]) == ("40.00", "GBP", 2)


def test_the_same_cart_comes_back_through_the_web_session_and_the_app_token(ada, priced):
    phone, laptop = app_client(ada), browser(ada)

    add(phone, "TEE-NAVY-M", 1)
    add(laptop, "HOOD-GREY-L", 1)

    on_phone, on_laptop = phone.get("/api/v1/cart/").json(), laptop.get("/api/v1/cart/").json()
    assert lines_of(on_phone) == lines_of(on_laptop) == {"TEE-NAVY-M": 1, "HOOD-GREY-L": 1}
    assert on_phone["token"] == on_laptop["token"]
    assert Cart.objects.filter(customer=ada).count() == 1
    line_channels = dict(CartLine.objects.values_list("variant__sku", "channel__code"))
    assert line_channels == {"TEE-NAVY-M": "mobile", "HOOD-GREY-L": "web"}
    kinds = list(ada.interactions.filter(kind=Interaction.Kind.CART_CHANGED).values_list("channel__code", flat=True))
    assert sorted(kinds) == ["mobile", "web"]


def test_signing_in_merges_the_guest_cart_adding_quantities_capped_by_stock(api, ada, priced):
    phone = app_client(ada)
    add(phone, "TEE-NAVY-M", 2)
    guest_token = add(api, "TEE-NAVY-M", 1).json()["token"]
    add(api, "HOOD-GREY-L", 1, **{"X-Cart-Token": guest_token})

    signed_in = api.post("/api/v1/auth/session/", {"email": "ADA@example.com", "password": PASSWORD},
                         format="json", headers={"X-Cart-Token": guest_token})

    body = signed_in.json()
    assert lines_of(body["cart"]) == {"TEE-NAVY-M": 3, "HOOD-GREY-L": 1}
    assert [n["message"] for n in body["merged"]] == [
        "TEE-NAVY-M: added 1 from the cart you filled before signing in.",
        "HOOD-GREY-L: added 1 from the cart you filled before signing in.",
    ]
    assert lines_of(phone.get("/api/v1/cart/").json()) == {"TEE-NAVY-M": 3, "HOOD-GREY-L": 1}
    assert Cart.objects.get(token=guest_token).status == Cart.Status.MERGED
    assert api.get("/api/v1/cart/", headers={"X-Cart-Token": guest_token}).json()["token"] == body["cart"]["token"]


def test_a_merge_that_would_pass_what_is_in_stock_keeps_what_there_is_and_says_so(api, ada, priced):
    phone = app_client(ada)
    add(phone, "TEE-NAVY-M", 2)  # 5 on hand, 2 safety stock: 3 can be sold online
    guest_token = add(api, "TEE-NAVY-M", 2).json()["token"]

    body = api.post("/api/v1/auth/token/", {"email": ada.email, "password": PASSWORD}, format="json",
                    headers={"X-Cart-Token": guest_token}).json()

    assert lines_of(body["cart"]) == {"TEE-NAVY-M": 3}
    assert body["merged"] == [{
        "sku": "TEE-NAVY-M", "wanted": 4, "kept": 3,
        "message": "TEE-NAVY-M: only 3 available for delivery, so your cart has 3 (you had 4).",
    }]


def test_cart_availability_keeps_safety_stock_back_online_but_not_at_the_till(ada, priced, store):
    ada.user.is_staff = True  # a shop assistant who also shops
    ada.user.save()
    phone = app_client(ada)
    phone.put("/api/v1/cart/fulfilment/", {"method": "pickup", "store": store.code}, format="json")
    add(phone, "TEE-NAVY-M", 1)

    online = phone.get("/api/v1/cart/").json()["lines"][0]
    at_till = phone.get("/api/v1/cart/", headers={"X-Channel": "till"}).json()["lines"][0]

    assert (online["available"], at_till["available"]) == (3, 5)


def test_adding_more_than_can_be_supplied_is_refused_with_what_is_left(api, priced, store):
    token = add(api, "TEE-NAVY-M", 1).json()["token"]
    api.put("/api/v1/cart/fulfilment/", {"method": "pickup", "store": store.code}, format="json",
            headers={"X-Cart-Token": token})

    refused = add(api, "TEE-NAVY-M", 3, **{"X-Cart-Token": token})

    assert refused.status_code == 409
    assert refused.json()["code"] == "not_enough_stock"
    assert refused.json()["message"] == "Only 3 × TEE-NAVY-M available at London Oxford Street."
    assert lines_of(api.get("/api/v1/cart/", headers={"X-Cart-Token": token}).json()) == {"TEE-NAVY-M": 1}


def test_a_guests_first_add_that_is_refused_leaves_no_cart_behind(api, priced):
    Price.objects.filter(variant__sku="TEE-NAVY-M", channel__code="web").delete()
    refused_price = add(api, "TEE-NAVY-M", 1)
    refused_stock = add(api, "HOOD-GREY-L", 50)

    assert (refused_price.status_code, refused_stock.status_code) == (422, 409)
    assert "X-Cart-Token" not in refused_price and "X-Cart-Token" not in refused_stock
    assert not Cart.objects.exists()
    assert api.get("/api/v1/cart/").json()["lines"] == []


def test_changing_and_removing_lines(api, ada, priced):
    phone = app_client(ada)
    line_id = add(phone, "TEE-NAVY-M", 1).json()["lines"][0]["id"]

    changed = phone.patch(f"/api/v1/cart/lines/{line_id}/", {"quantity": 3}, format="json")
    removed = phone.delete(f"/api/v1/cart/lines/{line_id}/")

    assert lines_of(changed.json()) == {"TEE-NAVY-M": 3}
    assert removed.status_code == 200 and removed.json()["lines"] == []


def test_choosing_pickup_shows_availability_at_that_store(api, priced, store, other_store):
    token = add(api, "HOOD-GREY-L", 1).json()["token"]

    at_manchester = api.put("/api/v1/cart/fulfilment/", {"method": "pickup", "store": other_store.code},
                            format="json", headers={"X-Cart-Token": token}).json()

    assert at_manchester["fulfilment"] == {"method": "pickup", "store": "MAN-ARN", "store_name": other_store.name}
    assert at_manchester["lines"][0]["available"] == 0 and at_manchester["lines"][0]["in_stock"] is False


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"sku": "TEE-NAVY-M", "quantity": 0}, "quantity"),
        ({"sku": "TEE-NAVY-M", "quantity": 100}, "quantity"),
        ({"sku": "TEE-NAVY-M", "quantity": "lots"}, "quantity"),
        ({"sku": "NO-SUCH-SKU", "quantity": 1}, "sku"),
        ({"quantity": 1}, "sku"),
    ],
)
def test_a_bad_cart_line_is_refused_naming_the_field_and_creates_nothing(api, priced, payload, field):
    refused = api.post("/api/v1/cart/lines/", payload, format="json")

    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid"
    assert field in refused.json()["detail"]["fields"]
    assert not Cart.objects.exists()


def test_a_variant_without_a_price_on_the_channel_cannot_be_added(api, priced):
    Price.objects.filter(variant__sku="TEE-NAVY-M", channel__code="mobile").delete()

    refused = add(api, "TEE-NAVY-M", 1, **{"X-Channel": "mobile"})

    assert refused.status_code == 422 and refused.json()["code"] == "not_sold_on_channel"


@pytest.mark.parametrize(
    "payload, field",
    [({"method": "pickup"}, "store"), ({"method": "pickup", "store": "NOPE"}, "store"), ({"method": "drone"}, "method")],
)
def test_a_bad_fulfilment_choice_is_refused_naming_the_field(api, priced, payload, field):
    refused = api.put("/api/v1/cart/fulfilment/", payload, format="json")

    assert refused.status_code == 400 and field in refused.json()["detail"]["fields"]


@pytest.mark.parametrize("token", ["5b0e2f51-1a3c-4a58-9a07-000000000000", "not-a-token", "x" * 5000])
def test_an_unknown_or_stale_cart_token_is_ignored_as_if_none_were_sent(api, priced, token):
    looked = api.get("/api/v1/cart/", headers={"X-Cart-Token": token})
    added = api.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M"}, format="json", headers={"X-Cart-Token": token})

    assert looked.status_code == 200 and looked.json()["lines"] == []
    assert added.status_code == 201 and added.json()["token"] not in (None, token)
    assert Cart.objects.filter(customer__isnull=True).count() == 1  # a new cart, nobody else's


def test_the_channel_must_be_one_we_know_and_the_till_is_for_staff(api, priced):
    unknown = api.get("/api/v1/cart/", headers={"X-Channel": "fax"})
    till = api.get("/api/v1/cart/", headers={"X-Channel": "till"})

    assert unknown.status_code == 400 and "X-Channel" in unknown.json()["detail"]["fields"]
    assert till.status_code == 403


def test_a_cart_remembers_the_channel_it_was_last_changed_through(ada, priced):
    phone = app_client(ada)
    add(phone, "TEE-NAVY-M", 1)
    assert Cart.objects.get(customer=ada).channel.code == Channel.MOBILE
