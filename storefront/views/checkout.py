"""Checkout: delivery or pickup at a chosen store, card through Stripe.js (the card Element turns the card
into a PaymentMethod at Stripe; its details never reach this server) or pay at pickup. The form carries a
fresh idempotency key, so a double submit places one order. A card whose bank wants to check it is the
shopper (3-D Secure) gets a page that runs the check with Stripe.js and comes back to `checkout_finish`.
Collecting: the store list says, for the whole basket, how far each store is and from when it can have it (sent
from another location when the store lacks some); the chosen store shows its hours and the collection times it
offers from then, and someone else may be named to collect."""
import dataclasses
import time
import uuid

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from catalog.models import Channel
from customers import services as customer_services
from customers.attribution import visitor_of
from customers.identity import guest_cart_key
from customers.models import Cart
from customers.selectors import cart_view
from inventory.exceptions import InsufficientStock
from inventory.hours import opening_hours_week
from orders import services as order_services
from orders.exceptions import (
    CheckoutInProgress,
    CheckoutNotFinished,
    CheckoutRefused,
    IdempotencyKeyReused,
    PaymentDeclined,
    PaymentProviderError,
)
from orders.models import Order, Payment
from orders.selectors import collection_windows_offered, order_link, pickup_options, window_offer_parse
from orders.services import AwaitingAuthentication
from orders.stripe_gateway import stripe_js_url

from ..forms import CheckoutForm, pickup_said, pickup_stores
from ..selectors import place_find
from ..shopper import (
    REFUSALS,
    SESSION_POINT_KEY,
    add_errors,
    cart_for,
    chosen_store,
    customer_for,
    field_errors,
    web_channel,
)

SERVICE_FIELDS = {"store": "store", "address": "line1", "email": "email", "payment_method": "payment_method",
                  "payment_method_id": "payment_method_id", "voucher": "voucher", "fulfilment": "fulfilment",
                  "delivery_method": "delivery_method", "quantity": "__all__", "cart": "__all__",
                  "collect_window": "collect_window", "collect_on": "collect_window",
                  "collector_name": "collector_name"}
REPLAY_WAIT_SECONDS = 10
CARD_REFUSALS = (PaymentDeclined, PaymentProviderError, CheckoutNotFinished)
CARD_ERROR = "checkout_card_error"  # the session key that carries a refusal back to the card field
# What the shopper typed, kept (in the session) while their bank checks the card, so a refusal brings them back to
# the form as they filled it, not a blank one. Never the card, which they give again.
ENTRIES = "checkout_entries"
KEPT_ENTRIES = ("fulfilment", "store", "collect_window", "collector_name", "saved_address", "name", "line1", "line2",
                "city", "postcode", "country", "delivery_method", "email", "phone", "voucher", "payment_method")


def _initial(request, cart: Cart) -> dict:
    customer = customer_for(request)
    store = cart.pickup_store or chosen_store(request)
    address = cart.delivery_address or (customer.addresses.filter(is_default=True).first() if customer else None)
    return {
        "fulfilment": cart.fulfilment or CheckoutForm.PICKUP,
        "store": store.code if store and store.offers_pickup else "",
        "saved_address": str(address.pk) if address else "",
        "email": customer.email if customer else "", "phone": customer.phone if customer else "",
        "name": customer.full_name if customer else "",
        "payment_method": Payment.Method.CARD, "idempotency_key": uuid.uuid4().hex, "country": "GB",
    }


@require_http_methods(["GET", "POST"])
def checkout(request):
    """GET shows the form; POST with action=quote updates the delivery options and totals for what is
    filled in; any other POST places the order."""
    cart = cart_for(request)
    web = web_channel()
    customer = customer_for(request)
    addresses = list(customer.addresses.all()) if customer else []
    stores = list(pickup_stores())
    placing = request.method == "POST" and request.POST.get("action") != "quote"
    form_kwargs = {"stores": stores, "addresses": addresses, "placing": placing}
    card_error = request.session.pop(CARD_ERROR, "") if request.method == "GET" else ""
    entries = request.session.pop(ENTRIES, None) if request.method == "GET" else None
    if placing:
        form = CheckoutForm(request.POST, **form_kwargs)
        if form.is_valid():
            request.session[ENTRIES] = {name: request.POST.get(name, "") for name in KEPT_ENTRIES}
            # A double submit (or a retry after a lost answer) finds the order the first one placed.
            try:
                placed = _replayed(*_key(request, customer, form.cleaned_data))
            except CARD_REFUSALS as refusal:
                return _back_to_card(request, refusal.message)
            if placed is not None:
                return _next_step(request, placed)
    view = cart_view(cart=cart, channel=web)
    if not view.lines:
        messages.info(request, "Your basket is empty: add something before checking out.")
        return redirect("storefront:cart")
    status = 200
    if request.method == "GET":
        kept = entries if card_error and entries else {}  # back from a refused card: the form as they left it
        form = CheckoutForm(initial={**_initial(request, cart), **kept}, **form_kwargs)
    elif not placing:
        form = CheckoutForm(request.POST, **form_kwargs)
        status = 200 if form.is_valid() else 400
    elif form.is_valid():
        placed, status = _place(request, form, cart, customer, stores, addresses)
        if placed is not None:
            return _next_step(request, placed)
    else:
        status = 400
    pickup = _pickup(request, form, view)  # first: it unsets a remembered store that cannot have the basket
    summary, quote_error = _summary(request, form, cart, customer, stores, addresses)
    if request.method == "POST" and not placing and quote_error:
        add_errors(form, quote_error)
        status = 400
    chosen_method = summary.quote.delivery.method.code if summary and summary.quote.delivery else ""
    return render(request, "storefront/checkout.html", {
        "form": form, "view": view, "stores": stores, "customer": customer, "addresses": addresses,
        "summary": summary.quote if summary else None, "chosen_method": chosen_method, "card_error": card_error,
        "stripe_js_url": stripe_js_url(), "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY, **pickup,
    }, status=status)


def _pickup(request, form: CheckoutForm, view) -> dict:
    """The store list for the whole basket, nearest first from the point the shopper last searched from (by name
    when there is none), each store routed as the order would be; and for the chosen store, when it can be
    collected, its opening hours and the collection windows it offers from that day."""
    point = request.session.get(SESSION_POINT_KEY) or [None, None, ""]
    options = pickup_options(lines=[(row.line.variant, row.line.quantity) for row in view.lines],
                             channel=web_channel(), latitude=point[0], longitude=point[1])
    today = timezone.localdate()
    typed = point[3] if len(point) > 3 else ""  # the postcode or town the shopper typed, else what was found
    where = (typed or point[2]) if point[0] is not None else ""
    form.describe_stores(options, today, where=where)
    code = form.data.get("store") if form.is_bound else form.initial.get("store")
    chosen = next((option for option in options if option.store.code == code), None)
    if chosen is not None and chosen.collect_from is None and not form.is_bound:
        form.initial["store"] = ""  # the store remembered cannot have this basket: the shopper chooses another
    if chosen is None or chosen.collect_from is None:
        return {"pickup": None}
    windows = collection_windows_offered(store=chosen.store, ready_from=chosen.collect_from)
    picked = form.data.get("collect_window", "") if form.is_bound else form.initial.get("collect_window", "")
    return {"pickup": chosen, "pickup_said": pickup_said(chosen, today), "windows": windows,
            "opening_hours": opening_hours_week(chosen.store),
            "chosen_window": picked if picked in {offer.value for offer in windows} else ""}


def _next_step(request, placed):
    """The order's page, or the bank's check that comes first."""
    if isinstance(placed, AwaitingAuthentication):
        return render(request, "storefront/checkout_authenticate.html", {
            "waiting": placed, "finish_url": _finish_url(request, placed.payment_intent, placed.client_secret),
            "stripe_js_url": stripe_js_url(), "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        })
    return _to_order(placed)


def _finish_url(request, payment_intent: str = "", client_secret: str = "") -> str:
    """Where the page comes back after the bank's check; the query is what Stripe adds after a redirect."""
    url = request.build_absolute_uri(reverse("storefront:checkout-finish"))
    if payment_intent:
        url += f"?payment_intent={payment_intent}&payment_intent_client_secret={client_secret}"
    return url


def _back_to_card(request, message: str):
    """Back to the checkout, the basket as it was, with why next to the card field."""
    request.session[CARD_ERROR] = message
    return redirect("storefront:checkout")


@require_GET
def checkout_finish(request):
    """Where the shopper lands after their bank's check (from the page's script, or the bank's redirect): the
    order's page once the card is authorised, the check again while it is not done, or the checkout with the
    reason next to the card field. Safe to open twice; the intent's client secret proves it is theirs."""
    payment_intent = request.GET.get("payment_intent", "")[:64]
    client_secret = request.GET.get("payment_intent_client_secret", "")[:128]
    if not payment_intent or not client_secret:
        return redirect("storefront:checkout")
    try:
        placed = order_services.checkout_finish_by_intent(payment_intent=payment_intent, client_secret=client_secret)
    except CARD_REFUSALS as refusal:
        return _back_to_card(request, refusal.message)
    if isinstance(placed, Order):
        _thank(request, placed)
    return _next_step(request, placed)


def _thank(request, order: Order) -> None:
    messages.success(request, f"Thank you! Your order {order.number} is placed. We have emailed you a link to "
                              "this page.")


def _summary(request, form: CheckoutForm, cart: Cart, customer, stores, addresses):
    """What the order will cost for the choices so far (orders.services.checkout_quote), or why it cannot be
    worked out yet. Returns (Checkout or None, {field: [messages]})."""
    data = form.cleaned_data if form.is_bound and hasattr(form, "cleaned_data") else {
        name: form[name].value() for name in form.fields}
    choice = _choice(data, stores, addresses, web_channel())
    if choice is None:
        return None, {}
    try:
        # The page preselects the first (cheapest) option, so the total includes it.
        return order_services.checkout_quote(cart=cart, choice=choice, require_method=False,
                                             first_if_unchosen=True), {}
    except REFUSALS as refusal:
        return None, field_errors(refusal, fields=SERVICE_FIELDS)


def _choice(data: dict, stores, addresses, web, *, collection: bool = False):
    """The CheckoutChoice the form's values describe; None when there is not enough to quote yet. With
    `collection`, a pickup's window and collector too (what the order books; the price does not depend on it)."""
    fulfilment = data.get("fulfilment")
    store, ship_to = None, None
    if fulfilment == CheckoutForm.PICKUP:
        store = next((s for s in stores if s.code == data.get("store")), None)
        if store is None:
            return None
    elif fulfilment == CheckoutForm.DELIVERY:
        if not data.get("saved_address") and not all(data.get(f) for f in CheckoutForm.ADDRESS_FIELDS):
            return None
        ship_to = _ship_to(data, addresses)
    else:
        return None
    return order_services.CheckoutChoice(
        channel=web, fulfilment=fulfilment, payment_method=data.get("payment_method") or Payment.Method.CARD,
        email=data.get("email") or "", phone=data.get("phone") or "", pickup_store=store, ship_to=ship_to,
        card=data.get("payment_method_id") or "", voucher_code=(data.get("voucher") or "").strip(),
        delivery_method=(data.get("delivery_method") or "") if fulfilment == CheckoutForm.DELIVERY else "",
        **(_collection(data, store) if collection and store is not None else {}),
    )


def _collection(data: dict, store) -> dict:
    """A pickup's window ("<id>:<YYYY-MM-DD>", which must be the store's) and collector, read as the app's
    checkout reads them; whether the window still has room is the order's to say."""
    chosen = {"collector_name": " ".join((data.get("collector_name") or "").split())}
    if data.get("collect_window"):
        found = window_offer_parse(data["collect_window"], store)
        if found is None:
            raise CheckoutRefused(f"{store.name} has no such collection time; choose one of those listed for it.",
                                  field="collect_window")
        chosen["collect_window"], chosen["collect_on"] = found
    return chosen


def _to_order(order: Order):
    return redirect(order_link(order))


def _key(request, customer, data: dict) -> tuple[str, str]:
    """The idempotency key (scoped to this shopper, as the API scopes it) and the request's fingerprint."""
    owner = f"customer:{customer.pk}" if customer else f"cart:{guest_cart_key(request)}"
    fingerprint = order_services.request_fingerprint(
        {"form": {k: v for k, v in data.items() if k != "idempotency_key"}, "channel": Channel.WEB})
    return f"{owner}|web:{data['idempotency_key']}", fingerprint


def _replayed(key: str, fingerprint: str, wait: float = 0) -> Order | AwaitingAuthentication | None:
    """The order an earlier submit of this form placed (or the bank's check it waits for); waits up to `wait`
    seconds for one in progress."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return order_services.checkout_replay(idempotency_key=key, fingerprint=fingerprint)
        except IdempotencyKeyReused:
            return None  # the form was changed after an order was placed with it: _place says so
        except CheckoutInProgress:
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.25)


def _saved_address(data: dict, addresses: list):
    return next((a for a in addresses if str(a.pk) == data.get("saved_address")), None)


def _ship_to(data: dict, addresses: list) -> order_services.ShipTo:
    chosen = _saved_address(data, addresses)
    if chosen is not None:
        return order_services.ShipTo.from_address(chosen)
    point = place_find(query=data["postcode"])  # nearest shipping location first, when we can place the postcode
    return order_services.ShipTo(
        name=data["name"], line1=data["line1"], line2=data.get("line2") or "", city=data["city"],
        postcode=" ".join(data["postcode"].upper().split()),
        country=data.get("country") or "GB",
        latitude=point[0] if point else None, longitude=point[1] if point else None)


def _short_message(short: InsufficientStock, cart: Cart, where: str) -> str:
    names = dict(cart.lines.values_list("variant__sku", "variant__product__name"))
    missing = "; ".join(f"{names.get(line.sku, line.sku)} ({line.sku}): {line.available} left, you want {line.wanted}"
                        for line in short.lines)
    return f"Not enough in stock {where}: {missing}. Choose another store or delivery, or change your basket."


def _place(request, form: CheckoutForm, cart: Cart, customer, stores,
           addresses) -> tuple[Order | AwaitingAuthentication | None, int]:
    """Place the order, or put each refusal next to its field. Returns (order or the bank's check, HTTP status)."""
    data, web = form.cleaned_data, web_channel()
    key, fingerprint = _key(request, customer, data)
    try:
        choice = dataclasses.replace(_choice(data, stores, addresses, web, collection=True),
                                     visitor=visitor_of(request),
                                     return_url=_finish_url(request))
        if choice.fulfilment == CheckoutForm.PICKUP:
            cart = customer_services.cart_choose_pickup(cart=cart, store=choice.pickup_store, channel=web)
        else:
            cart = customer_services.cart_choose_delivery(cart=cart, address=_saved_address(data, addresses),
                                                          channel=web)
        actor = request.user if request.user.is_authenticated else None
        try:
            order = order_services.order_place(cart=cart, choice=choice, idempotency_key=key,
                                               fingerprint=fingerprint, actor=actor)
        except CheckoutInProgress:  # the same form, submitted twice at once: wait for the first one's order
            order = _replayed(key, fingerprint, wait=REPLAY_WAIT_SECONDS)
    except IdempotencyKeyReused:
        form.data = form.data.copy()
        form.data["idempotency_key"] = uuid.uuid4().hex
        form.add_error(None, "This form was already used to place an order; check your orders, or submit again "
                             "to place a new one.")
        return None, 409
    except CARD_REFUSALS as refusal:
        form.data = form.data.copy()
        form.data["idempotency_key"] = uuid.uuid4().hex  # the next try is a new checkout
        form.add_error("payment_method_id", refusal.message)
        return None, refusal.http_status
    except InsufficientStock as short:
        store = next((s for s in stores if s.code == data.get("store")), None)
        pickup = data["fulfilment"] == CheckoutForm.PICKUP and store is not None
        form.add_error("store" if pickup else None,
                       _short_message(short, cart, f"at {store.name}" if pickup else "for delivery"))
        return None, short.http_status
    except REFUSALS as refusal:
        add_errors(form, field_errors(refusal, fields=SERVICE_FIELDS))
        return None, getattr(refusal, "http_status", 400)
    if order is None:
        form.add_error(None, "Your order is still being placed; wait a moment and look in your account or email.")
        return None, 409
    if isinstance(order, Order):
        _thank(request, order)
    return order, 302
