"""Orders API: checkout (Idempotency-Key required), my orders from every channel, claiming the orders I placed
as a guest, cancel, voucher check, the staff till sale, and the Stripe webhook."""
from datetime import date

from django.conf import settings
from django.core.validators import RegexValidator
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.channels import CHANNEL_PARAM, ChannelMixin
from catalog.models import Variant
from catalog.selectors import variant_by_code
from core.exceptions import InvalidTransition
from core.permissions import staff_with
from core.phones import PhoneSerializerField
from core.points import KM_PER_MILE, NEAR_PARAM, NearIn
from core.schema import refusals
from customers.attribution import visitor_of
from customers.identity import CART_TOKEN_PARAM, current_cart, customer_of, guest_cart_key
from customers.models import Customer
from customers.selectors import cart_lines, cart_view
from inventory.exceptions import InsufficientStock, LocationNotFound, NotOnStaff
from inventory.models import Location
from inventory.selectors import staff_location_get, store_named

from . import claims, services, stripe_gateway
from .exceptions import (
    CheckoutInProgress,
    CheckoutNotFinished,
    CheckoutRefused,
    ClaimLinkBroken,
    ClaimLinkExpired,
    ClaimLinkNotYours,
    IdempotencyKeyReused,
    OrderNotCancellable,
    PaymentDeclined,
    PaymentProviderError,
    VoucherRefused,
)
from .models import Order, OrderLine, Payment
from .selectors import (
    collection_windows_offered,
    order_link,
    order_list,
    order_tax_summary,
    pickup_options,
    voucher_evaluate,
    window_offer_parse,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_PARAM = OpenApiParameter(IDEMPOTENCY_HEADER, {"type": "string", "minLength": 1, "maxLength": 64},
                                     OpenApiParameter.HEADER, required=True,
                                     description="A fresh random key per order (up to 64 characters); resend it "
                                                 "when retrying.")
# A staff login signed in where a customer's cart or orders are meant (customers.identity.customer_of).
NO_CUSTOMER = (403, "This login has no customer account (a member of staff's): sign in as a customer.")
NO_ADDRESS = (404, "`address_id` is not one of my saved addresses (`not_found`).")
PROVIDER_DOWN = (PaymentProviderError, "The payment provider could not be reached; nothing was charged: try again.")
STAFF_STORE = [(LocationNotFound, "No location has the `store` code sent."),
               (NotOnStaff, "I am not on the staff of that store.")]


class ShipToIn(serializers.Serializer):
    name = serializers.CharField(max_length=160)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    city = serializers.CharField(max_length=100)
    postcode = serializers.CharField(max_length=16)
    country = serializers.CharField(max_length=2, default="GB")
    latitude = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90, default=None)
    longitude = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180, default=None)


class CheckoutIn(serializers.Serializer):
    fulfilment = serializers.ChoiceField(choices=[Order.Fulfilment.PICKUP, Order.Fulfilment.DELIVERY])
    store = serializers.CharField(required=False, max_length=32, help_text="Store code, for pickup.")
    address_id = serializers.IntegerField(required=False, help_text="One of my saved addresses, for delivery.")
    address = ShipToIn(required=False, help_text="A delivery address typed at checkout.")
    email = serializers.EmailField(required=False, max_length=254, help_text="Required for guests.")
    phone = PhoneSerializerField(required=False, default="", allow_blank=True)
    payment_method = serializers.ChoiceField(choices=[Payment.Method.CARD, Payment.Method.PAY_AT_PICKUP])
    payment_method_id = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=255, help_text="The Stripe PaymentMethod id (pm_…) "
        "from Stripe's SDK.", validators=[RegexValidator(r"^pm_[A-Za-z0-9_]+$", "Not a card from the card form: "
                                                          "a PaymentMethod id starts pm_.")])
    voucher = serializers.CharField(required=False, default="", allow_blank=True, max_length=32)
    delivery_method = serializers.CharField(required=False, default="", allow_blank=True, max_length=32,
                                            help_text="For delivery: a method code from the quote, e.g. standard.")
    collect_window = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=40,
        help_text="Pickup: a collection window to book, as the quote's `collection_windows` name it "
                  "(`<id>:<YYYY-MM-DD>`). A full window is refused (422, field collect_window).")
    collector_name = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=120,
        help_text="Pickup: someone else collects; their name is shown at the counter (the code still decides).")
    return_url = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=500,
        help_text="Where the card's bank sends the shopper back after a check that leaves the app (the app's "
                  "own address, as Stripe's SDK asks for it, e.g. myshop://stripe-redirect).",
        validators=[RegexValidator(r"^[a-z][a-z0-9+.-]*://\S+$", "Give an address with its scheme, e.g. "
                                                                 "myshop://stripe-redirect.")])


class QuoteIn(CheckoutIn):
    payment_method = serializers.ChoiceField(choices=[Payment.Method.CARD, Payment.Method.PAY_AT_PICKUP],
                                             required=False, default=Payment.Method.CARD)


class QuotedLineOut(serializers.Serializer):
    sku = serializers.CharField(source="variant.sku")
    name = serializers.CharField(source="variant.name")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)


class DeliveryOptionOut(serializers.Serializer):
    method = serializers.CharField(source="method.code")
    name = serializers.CharField(source="method.name")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    arrives_from = serializers.SerializerMethodField()
    arrives_by = serializers.SerializerMethodField()
    free_over = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)

    def get_arrives_from(self, option) -> str:
        return option.arrives_between[0].isoformat()

    def get_arrives_by(self, option) -> str:
        return option.arrives_between[1].isoformat()


class WindowOfferOut(serializers.Serializer):
    value = serializers.CharField(help_text="Send this as `collect_window` to book it.")
    day = serializers.DateField()
    starts = serializers.TimeField(source="window.starts", format="%H:%M")
    ends = serializers.TimeField(source="window.ends", format="%H:%M")
    left = serializers.IntegerField(help_text="Orders it can still take.")


class QuoteOut(serializers.Serializer):
    """The whole breakdown before payment; the order freezes exactly these figures. A pickup also says from
    which day it can be collected (later when other locations send some of it to the store) and the store's
    collection windows with room from then."""

    currency = serializers.CharField()
    tax_country = serializers.CharField()
    lines = QuotedLineOut(many=True)
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    delivery = DeliveryOptionOut(allow_null=True)
    delivery_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    delivery_tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    delivery_options = DeliveryOptionOut(many=True, source="options")
    collect_from = serializers.SerializerMethodField(help_text="Pickup: the first day it can be collected.")
    ship_to_store = serializers.SerializerMethodField(
        help_text="Pickup: true when other locations send some of it to the store first.")
    collection_windows = serializers.SerializerMethodField()

    def get_collect_from(self, quote) -> date | None:
        return self.context.get("collect_from")

    def get_ship_to_store(self, quote) -> bool:
        return bool(self.context.get("ship_to_store"))

    @extend_schema_field(WindowOfferOut(many=True))
    def get_collection_windows(self, quote) -> list:
        return WindowOfferOut(self.context.get("windows", []), many=True).data


def quote_answer(checkout: services.Checkout, choice: services.CheckoutChoice) -> dict:
    """The quote, with a pickup's first collection day and the windows offered from then."""
    ready = checkout.routing.collect_from
    windows = (collection_windows_offered(store=choice.pickup_store, ready_from=ready)
               if ready and choice.pickup_store else [])
    return QuoteOut(checkout.quote, context={"collect_from": ready, "windows": windows,
                                             "ship_to_store": checkout.routing.rule == "ship_to_store"}).data


class OrderLineOut(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code")
    unit_price = serializers.DecimalField(source="unit_price_amount", max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(source="discount_amount", max_digits=12, decimal_places=2)
    total = serializers.DecimalField(source="total_amount", max_digits=12, decimal_places=2)

    class Meta:
        model = OrderLine
        fields = ["id", "sku", "name", "options", "quantity", "unit_price", "discount", "total", "tax_rate",
                  "tax_amount", "currency", "location", "quantity_cancelled", "quantity_fulfilled",
                  "quantity_returned"]


class PaymentOut(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["method", "status", "currency", "authorised_amount", "captured_amount", "refunded_amount"]


class TaxBandOut(serializers.Serializer):
    rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    net = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Excluding tax.")
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    gross = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Including tax.")


class OrderOut(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code")
    pickup_store = serializers.CharField(source="pickup_store.code", allow_null=True, default=None)
    voucher = serializers.CharField(source="voucher.code", allow_null=True, default=None)
    delivery_method = serializers.CharField(source="delivery_method.code", allow_null=True, default=None)
    collect_window = serializers.CharField(source="collect_window.__str__", allow_null=True, default=None,
                                           help_text="The booked collection window, e.g. \"Sat 10:00–12:00\".")
    lines = OrderLineOut(many=True)
    payment = PaymentOut()
    tax_summary = serializers.SerializerMethodField(help_text="Lines and delivery by tax rate, as on the receipt.")
    receipt_url = serializers.SerializerMethodField(
        help_text="The printable VAT receipt; the link opens it without signing in (the till prints it).")

    class Meta:
        model = Order
        fields = ["number", "status", "channel", "fulfilment", "pickup_store", "collect_from", "collect_on",
                  "collect_window", "collector_name", "email", "ship_to_name",
                  "ship_to_line1", "ship_to_line2", "ship_to_city", "ship_to_postcode", "ship_to_country",
                  "currency", "subtotal_amount", "discount_amount", "delivery_method", "delivery_amount",
                  "delivery_tax_amount", "delivery_tax_rate", "tax_amount", "tax_country", "total_amount",
                  "voucher", "placed_at", "lines", "payment", "tax_summary", "receipt_url"]

    @extend_schema_field(TaxBandOut(many=True))
    def get_tax_summary(self, order: Order) -> list:
        return [TAX_BAND_OUT.to_representation(band) for band in order_tax_summary(order=order)]

    def get_receipt_url(self, order: Order) -> str:
        return f"{settings.SITE_URL}{order_link(order, 'storefront:order-receipt')}"


# One of each for every answer: a serializer builds and deep-copies its fields each time one is made (a
# ModelSerializer reads its model's fields again too), which cost a checkout's answer more CPU than turning the
# order into JSON (bench/checkout_profile.py --profile); to_representation keeps no state on the serializer.
ORDER_OUT, TAX_BAND_OUT = OrderOut(), TaxBandOut()


class CheckoutActionOut(serializers.Serializer):
    """A card checkout whose bank wants to check it is the shopper (3-D Secure) before it is placed."""

    status = serializers.ChoiceField(choices=["requires_action"], help_text="Always `requires_action`.")
    payment_intent = serializers.CharField(help_text="The Stripe PaymentIntent the bank's check is for.")
    client_secret = serializers.CharField(
        help_text="Give it to Stripe's SDK (`handleNextAction`) to run the bank's check in the app.")
    authenticate_by = serializers.DateTimeField(
        help_text="The stock is held until then; a check not finished by then is let go and nothing is charged.")
    finish_url = serializers.URLField(
        help_text="After the check, POST here with the same Idempotency-Key (and cart token) to place the order.")


CHECKOUT_DECLINED = (PaymentDeclined, "The card was declined, or the bank's check failed; nothing was charged.")
CHECKOUT_NOT_FINISHED = (CheckoutNotFinished, "The checkout can no longer be placed (its stock hold lapsed, or the "
                                              "cart changed); nothing was charged and the cart is as it was.")


def _scoped_key(request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key or len(key) > 64:
        raise ValidationError({IDEMPOTENCY_HEADER: ["Send a unique Idempotency-Key header (up to 64 characters)."]})
    owner = f"customer:{customer_of(request).pk}" if request.user.is_authenticated else f"cart:{guest_cart_key(request)}"
    return f"{owner}|{key}"


@extend_schema(tags=["checkout"], parameters=[IDEMPOTENCY_PARAM, CART_TOKEN_PARAM, CHANNEL_PARAM])
class CheckoutAPI(ChannelMixin, APIView):
    """Place an order from my cart: pickup at a store or delivery, paid by card (`payment_method_id`, the
    PaymentMethod id from Stripe's SDK; the card is authorised now and charged when the goods leave) or
    at pickup. The stock is held at the routed store or warehouse and the order is recorded with the quoted
    prices (201). When the card's bank wants to check it is the shopper (3-D Secure), the answer is 202
    `requires_action` with the client secret for Stripe's SDK; after the check, POST /checkout/finish/. Send a
    fresh Idempotency-Key per order and the same key when retrying: the same key and body answer the order
    already placed (200), or the check still to do (202); the same key with another body is refused (422).
    Anyone with a cart may call it: a guest names the cart with X-Cart-Token and gives `email`; a signed-in
    customer checks out their own cart. A declined card is 402, stock gone meanwhile 409, a refused choice 422."""

    @extend_schema(request=CheckoutIn, responses={201: OrderOut, 200: OrderOut, 202: CheckoutActionOut, **refusals(
        CheckoutRefused, VoucherRefused, NO_ADDRESS, NO_CUSTOMER,
        (IdempotencyKeyReused, "This Idempotency-Key was used for another body: send a fresh key."),
        (CheckoutInProgress, "A checkout with this Idempotency-Key is still running: retry shortly."),
        (InsufficientStock, "Stock ran out while checking out: `detail.lines` says which."),
        (PaymentDeclined, "The card was declined or could not be used; nothing was charged."),
        CHECKOUT_NOT_FINISHED, PROVIDER_DOWN)})
    def post(self, request):
        key = _scoped_key(request)
        fingerprint = services.request_fingerprint({"body": request.data, "channel": self.channel.code})
        # A retry whose first request placed the order finds the cart ordered, below; one that is still
        # running, or waits for the bank, is answered by order_place when it claims the key.
        data = CheckoutIn(data=request.data)
        data.is_valid(raise_exception=True)
        cart = current_cart(request, self.channel)
        if cart is None:  # perhaps just ordered by this same key's first request
            earlier = services.checkout_replay(idempotency_key=key, fingerprint=fingerprint)
            if earlier is not None:
                return checkout_answer(request, earlier, placed_now=False)
            raise CheckoutRefused("Your cart is empty or no longer open.", field="cart")
        choice = checkout_choice(request, self.channel, cart, data.validated_data)
        placed = services.order_place(cart=cart, choice=choice, idempotency_key=key, fingerprint=fingerprint,
                                      actor=request.user if request.user.is_authenticated else None)
        return checkout_answer(request, placed, placed_now=getattr(placed, "placed_now", False))


def checkout_answer(request, placed, *, placed_now: bool) -> Response:
    """The order (201 when this call placed it, 200 when it was placed before), or the bank's check to do (202)."""
    if isinstance(placed, services.AwaitingAuthentication):
        return Response(CheckoutActionOut({
            "status": "requires_action", "payment_intent": placed.payment_intent,
            "client_secret": placed.client_secret, "authenticate_by": placed.authenticate_by,
            "finish_url": request.build_absolute_uri(reverse("checkout-finish")),
        }).data, status=status.HTTP_202_ACCEPTED)
    return Response(ORDER_OUT.to_representation(placed),
                    status=status.HTTP_201_CREATED if placed_now else status.HTTP_200_OK)


@extend_schema(tags=["checkout"], parameters=[IDEMPOTENCY_PARAM, CART_TOKEN_PARAM])
class CheckoutFinishAPI(APIView):
    """Finish a card checkout after the bank's check (3-D Secure) that POST /checkout/ answered with 202
    `requires_action`: send the same Idempotency-Key (and, for a guest, the same X-Cart-Token). The order once the
    card is authorised (200; calling again answers it again), 202 while the bank's check is not done, 402 when
    it failed or the card was declined, 409 when the checkout can no longer be placed. Stripe's webhook may
    have placed the order already: this answers it."""

    @extend_schema(request=None, responses={200: OrderOut, 202: CheckoutActionOut, **refusals(
        CHECKOUT_DECLINED, CHECKOUT_NOT_FINISHED, NO_CUSTOMER,
        (CheckoutInProgress, "The checkout with this Idempotency-Key is still running: retry shortly."),
        PROVIDER_DOWN)})
    def post(self, request):
        placed = services.checkout_finish_by_key(idempotency_key=_scoped_key(request))
        return checkout_answer(request, placed, placed_now=False)


def checkout_choice(request, channel, cart, data, need_email: bool = True) -> services.CheckoutChoice:
    """The shopper's choices from a checkout (or quote) body, with saved addresses looked up."""
    store, ship_to = None, None
    if data["fulfilment"] == Order.Fulfilment.PICKUP:
        store = store_named(data.get("store") or "")
        if store is None:
            raise ValidationError({"store": ["Choose a store by its code."]})
    elif data.get("address_id") is not None:
        if cart.customer is None:
            raise ValidationError({"address_id": ["Sign in to use a saved address."]})
        ship_to = services.ShipTo.from_address(get_object_or_404(cart.customer.addresses, pk=data["address_id"]))
    elif data.get("address"):
        ship_to = services.ShipTo(**data["address"])
    elif cart.delivery_address is not None:
        ship_to = services.ShipTo.from_address(cart.delivery_address)
    else:
        raise ValidationError({"address": ["Give a delivery address."]})
    email = data.get("email") or (cart.customer.email if cart.customer else "")
    if not email and need_email:
        raise ValidationError({"email": ["Give an email address for the order confirmation."]})
    return services.CheckoutChoice(
        channel=channel, fulfilment=data["fulfilment"], payment_method=data["payment_method"], email=email,
        phone=data["phone"] or (cart.customer.phone if cart.customer else ""), pickup_store=store,
        ship_to=ship_to, card=data["payment_method_id"], voucher_code=data["voucher"],
        delivery_method=data["delivery_method"],
        visitor=visitor_of(request), return_url=data.get("return_url") or "",
        **_collection_choice(store, data),
    )


def _collection_choice(store, data) -> dict:
    """A pickup's window ("<id>:<date>", at its store) and collector from a checkout body."""
    if store is None:
        return {}
    chosen = {"collector_name": " ".join((data.get("collector_name") or "").split())}
    if data.get("collect_window"):
        found = window_offer_parse(data["collect_window"], store)
        if found is None:
            raise ValidationError({"collect_window": [f"{store.name} has no collection window "
                                                      f"{data['collect_window']!r}: send a `value` from the quote's "
                                                      f"collection_windows."]})
        chosen["collect_window"], chosen["collect_on"] = found
    return chosen


@extend_schema(tags=["checkout"], parameters=[CART_TOKEN_PARAM, CHANNEL_PARAM])
class CheckoutQuoteAPI(ChannelMixin, APIView):
    """What my cart will cost with these choices, before paying: lines, discount, the delivery methods this
    order can have (each with price and arrival), delivery, tax and total. Changes nothing. Anyone with a cart
    may call it (a guest by X-Cart-Token); an empty cart or a choice that cannot be met is refused (422)."""

    @extend_schema(request=QuoteIn, responses={200: QuoteOut, **refusals(
        CheckoutRefused, VoucherRefused, NO_ADDRESS, NO_CUSTOMER)})
    def post(self, request):
        data = QuoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        cart = current_cart(request, self.channel)
        if cart is None:
            raise CheckoutRefused("Your cart is empty.", field="cart")
        choice = checkout_choice(request, self.channel, cart, data.validated_data, need_email=False)
        checkout = services.checkout_quote(cart=cart, choice=choice, require_method=False)
        return Response(quote_answer(checkout, choice))


@extend_schema(tags=["checkout"], parameters=[
    CART_TOKEN_PARAM, CHANNEL_PARAM,
    OpenApiParameter("delivery_method", str, description="A method code, for a delivery cart."),
    OpenApiParameter("voucher", str),
])
class CartQuoteAPI(ChannelMixin, APIView):
    """My cart's totals for the pickup store or delivery address chosen on it (PUT /cart/fulfilment/), with an
    optional delivery method and voucher: the same breakdown as the checkout quote. Changes nothing. Anyone
    with a cart may call it (a guest by X-Cart-Token); with no fulfilment chosen yet, 400."""

    @extend_schema(responses={200: QuoteOut, **refusals(CheckoutRefused, VoucherRefused, NO_CUSTOMER)})
    def get(self, request):
        cart = current_cart(request, self.channel)
        if cart is None:
            raise CheckoutRefused("Your cart is empty.", field="cart")
        if not cart.fulfilment:
            raise ValidationError({"fulfilment": ["Choose pickup at a store or delivery to an address first."]})
        data = QuoteIn(data={
            "fulfilment": cart.fulfilment, **({"store": cart.pickup_store.code} if cart.pickup_store else {}),
            "delivery_method": request.query_params.get("delivery_method", ""),
            "voucher": request.query_params.get("voucher", ""),
        })
        data.is_valid(raise_exception=True)
        choice = checkout_choice(request, self.channel, cart, data.validated_data, need_email=False)
        checkout = services.checkout_quote(cart=cart, choice=choice, require_method=False)
        return Response(quote_answer(checkout, choice))


class PickupStoreOut(serializers.Serializer):
    code = serializers.CharField(source="store.code")
    name = serializers.CharField(source="store.name")
    address = serializers.CharField(source="store.address_line")
    city = serializers.CharField(source="store.city")
    postcode = serializers.CharField(source="store.postcode")
    distance_km = serializers.SerializerMethodField(help_text="From the `near` point, to 0.1 km; null without it.")
    distance_miles = serializers.SerializerMethodField(help_text="The same in miles, to 0.1.")
    in_stock = serializers.BooleanField(source="all_there", help_text="The store holds the whole basket now.")
    collect_from = serializers.DateField(allow_null=True, help_text=(
        "The first day the whole basket can be collected there (later when other locations send some of it); "
        "null when it cannot be had there at all."))
    opening_hours = serializers.JSONField(source="store.opening_hours")

    def get_distance_km(self, option) -> float | None:
        return None if option.distance_km is None else round(option.distance_km, 1)

    def get_distance_miles(self, option) -> float | None:
        return None if option.distance_km is None else round(option.distance_km / KM_PER_MILE, 1)


@extend_schema(tags=["checkout"], parameters=[CART_TOKEN_PARAM, CHANNEL_PARAM, NEAR_PARAM],
               responses={200: PickupStoreOut(many=True), **refusals(CheckoutRefused, NO_CUSTOMER)})
class CartPickupStoresAPI(ChannelMixin, APIView):
    """Where my whole cart can be collected: every store offering pickup, nearest first with `near` (else by
    name), each saying whether it holds everything now or from which day it can be collected there (what it
    lacks sent from another location), or that it cannot be had there. Changes nothing. Anyone with a cart may
    call it (a guest by X-Cart-Token); an empty cart is refused (422)."""

    def get(self, request):
        near = NearIn(data=request.query_params.dict())
        near.is_valid(raise_exception=True)
        latitude, longitude = near.validated_data.get("near", (None, None))
        cart = current_cart(request, self.channel)
        lines = [(line.variant, line.quantity) for line in cart_lines(cart)] if cart is not None else []
        if not lines:
            raise CheckoutRefused("Your cart is empty.", field="cart")
        options = pickup_options(lines=lines, channel=self.channel, latitude=latitude, longitude=longitude)
        return Response(PickupStoreOut(options, many=True).data)


@extend_schema(tags=["orders"], responses={200: OrderOut(many=True), **refusals(NO_CUSTOMER)})
class OrderListAPI(generics.ListAPIView):
    """My orders from every channel (web, app and till), newest first, each with its lines, payment and tax.
    For a signed-in customer."""

    permission_classes = [IsAuthenticated]
    serializer_class = OrderOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        return order_list(customer=customer_of(self.request))


@extend_schema(tags=["orders"], responses={200: OrderOut, **refusals(NO_CUSTOMER)})
class OrderDetailAPI(generics.RetrieveAPIView):
    """One of my orders by its number, whichever channel it was placed on: status, lines (with what was sent,
    cancelled and returned), payment, tax by rate and the receipt link. For a signed-in customer; another
    shopper's order is 404."""

    permission_classes = [IsAuthenticated]
    serializer_class = OrderOut
    lookup_field = "number"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        return order_list(customer=customer_of(self.request))


class CollectorIn(serializers.Serializer):
    name = serializers.CharField(max_length=120, allow_blank=True,
                                 help_text="Who collects instead of me; empty: I collect it myself.")


@extend_schema(tags=["orders"])
class OrderCollectorAPI(APIView):
    """Name someone else to collect my pickup order (or, with an empty name, collect it myself): the counter shows
    the name; the pickup code still decides who takes it. For a signed-in customer; another shopper's order is
    404; a delivery, or an order already collected or cancelled, is refused (422)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=CollectorIn, responses={200: OrderOut, **refusals(CheckoutRefused, NO_CUSTOMER)})
    def post(self, request, number: str):
        order = get_object_or_404(order_list(customer=customer_of(request)), number=number)
        data = CollectorIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_set_collector(order=order, name=data.validated_data["name"])
        return Response(ORDER_OUT.to_representation(order_list(customer=customer_of(request)).get(pk=order.pk)))


class ClaimIn(serializers.Serializer):
    token = serializers.CharField(max_length=500, help_text="From the link in the email that offered the orders: the part after "
                                            "/account/claim/.")


class ClaimOut(serializers.Serializer):
    claimed = serializers.ListField(child=serializers.CharField(), help_text="Numbers of the orders just added.")
    message = serializers.CharField()


@extend_schema(tags=["orders"])
class OrderClaimAPI(APIView):
    """Add the orders I placed as a guest to my account, with the token from the link we emailed when I
    registered or signed in with that email. Following it again adds nothing more. A forged, changed,
    expired or someone else's token is refused (400: claim_link_invalid, claim_link_expired,
    claim_link_not_yours) and adds nothing. For a signed-in customer."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=ClaimIn, responses={200: ClaimOut, **refusals(
        ClaimLinkBroken, ClaimLinkExpired, ClaimLinkNotYours, NO_CUSTOMER)})
    def post(self, request):
        data = ClaimIn(data=request.data)
        data.is_valid(raise_exception=True)
        orders = claims.guest_orders_claim(customer=customer_of(request), token=data.validated_data["token"])
        return Response(ClaimOut({"claimed": [order.number for order in orders],
                                  "message": claims.claim_outcome(orders)}).data)


class CancelLineIn(serializers.Serializer):
    id = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1)


class CancelIn(serializers.Serializer):
    lines = CancelLineIn(many=True, required=False, allow_empty=False,
                         help_text="Only these units; leave out to cancel everything not yet sent.")


@extend_schema(tags=["orders"])
class OrderCancelAPI(APIView):
    """Cancel my order, or only some units of it (`lines`), while they are not yet sent: the stock goes back,
    and cancelled units are never charged (a card hold with nothing left to send is released). Cancelling an
    order already cancelled changes nothing. For a signed-in customer; another shopper's order is 404; what
    has been sent cannot be cancelled (409)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=CancelIn, responses={200: OrderOut, **refusals(
        OrderNotCancellable, InvalidTransition, NO_CUSTOMER, PROVIDER_DOWN)})
    def post(self, request, number: str):
        order = get_object_or_404(order_list(customer=customer_of(request)), number=number)
        data = CancelIn(data=request.data)
        data.is_valid(raise_exception=True)
        lines = None
        if "lines" in data.validated_data:
            lines = {}
            for line in data.validated_data["lines"]:
                lines[line["id"]] = lines.get(line["id"], 0) + line["quantity"]
        order = services.order_cancel(order=order, actor=request.user, note="cancelled by the customer", lines=lines)
        return Response(ORDER_OUT.to_representation(order_list(customer=order.customer).get(pk=order.pk)))


class VoucherCheckIn(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    email = serializers.EmailField(required=False, default="", max_length=254)


class VoucherCheckOut(serializers.Serializer):
    code = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


@extend_schema(tags=["checkout"], parameters=[CART_TOKEN_PARAM, CHANNEL_PARAM])
class VoucherCheckAPI(ChannelMixin, APIView):
    """What a voucher code would take off my cart now, or why it is refused (422, with the reason: unknown,
    not started, expired, used up, already used by me…). Changes nothing. Anyone with a cart may call it (a
    guest by X-Cart-Token, with `email` to check a once-per-customer code)."""

    @extend_schema(request=VoucherCheckIn, responses={200: VoucherCheckOut, **refusals(
        CheckoutRefused, VoucherRefused, NO_CUSTOMER)})
    def post(self, request):
        data = VoucherCheckIn(data=request.data)
        data.is_valid(raise_exception=True)
        view = cart_view(cart=current_cart(request, self.channel), channel=self.channel)
        if not view.lines:
            raise CheckoutRefused("Your cart is empty.", field="cart")
        voucher, discount = voucher_evaluate(code=data.validated_data["code"], subtotal=view.subtotal,
                                             currency=view.currency, customer=view.cart.customer,
                                             email=data.validated_data["email"])
        return Response(VoucherCheckOut({"code": voucher.code, "subtotal": view.subtotal, "discount": discount,
                                         "total": view.subtotal - discount, "currency": view.currency}).data)


class TillLineIn(serializers.Serializer):
    sku = serializers.CharField(max_length=64, help_text="SKU or barcode, as scanned.")
    quantity = serializers.IntegerField(min_value=1, max_value=999, default=1)


class TillQuoteIn(serializers.Serializer):
    store = serializers.CharField(max_length=32)
    lines = TillLineIn(many=True, allow_empty=False, max_length=services.MAX_TILL_LINES)


class TillSaleIn(TillQuoteIn):
    payment_method = serializers.ChoiceField(choices=[Payment.Method.CASH, Payment.Method.CARD_PRESENT])
    customer_email = serializers.EmailField(
        required=False, max_length=254, default="", allow_blank=True,
        help_text="The sale joins this customer's history and leaves their online cart; empty for no customer.")
    cash_tendered = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True, default=None,
        help_text="For cash: what the customer handed over, at least the total; the answer gives the change.")


class TillSaleOut(OrderOut):
    cash_tendered = serializers.DecimalField(source="payment.tendered_amount", max_digits=12, decimal_places=2,
                                             allow_null=True)
    change_due = serializers.DecimalField(source="payment.change_amount", max_digits=12, decimal_places=2,
                                          allow_null=True, help_text="Cash to give back; null when none was tendered.")

    class Meta(OrderOut.Meta):
        fields = [*OrderOut.Meta.fields, "cash_tendered", "change_due"]


TILL_PERMISSION = staff_with("orders.sell_at_till", message="Your role does not sell at the till.")


def till_basket(request, data: dict) -> tuple[Location, list[tuple[Variant, int]]]:
    """The store (one the member of staff works at, with a till) and the scanned lines, by SKU or barcode."""
    store = staff_location_get(user=request.user, code=data["store"])
    if not store.sells_in_store:
        raise ValidationError({"store": [f"{store.name} has no till: it does not sell in store."]})
    lines = []
    for i, line in enumerate(data["lines"]):
        variant = variant_by_code(code=line["sku"])
        if variant is None:
            raise ValidationError({"lines": {i: {"sku": [f"Nothing has SKU or barcode {line['sku']!r}."]}}})
        lines.append((variant, line["quantity"]))
    return store, lines


@extend_schema(tags=["staff"])
class TillQuoteAPI(APIView):
    """What the shopper at the counter will pay before taking payment: lines at the store's till prices,
    tax at the store's country and the total, the same breakdown as the web and the app. Changes nothing.
    For store staff whose role sells at the till, at a store they work at that sells in store."""

    permission_classes = [TILL_PERMISSION]

    @extend_schema(request=TillQuoteIn, responses={200: QuoteOut, **refusals(CheckoutRefused, *STAFF_STORE)})
    def post(self, request):
        data = TillQuoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        store, lines = till_basket(request, data.validated_data)
        return Response(QuoteOut(services.till_quote(store=store, lines=lines)).data)


@extend_schema(tags=["staff"])
class TillSaleAPI(APIView):
    """A sale at the counter by staff of that store, at the prices the till quote showed. The customer holds
    the items, so units the ledger did not show at the store are booked as found at the till, never refused.
    A named customer's history gains the sale and their online cart loses what they bought. For cash, the
    tendered amount gives the change. The response's receipt_url prints the receipt. For store staff whose
    role sells at the till, at a store they work at that sells in store."""

    permission_classes = [TILL_PERMISSION]

    @extend_schema(request=TillSaleIn, responses={201: TillSaleOut, **refusals(CheckoutRefused, *STAFF_STORE)})
    def post(self, request):
        data = TillSaleIn(data=request.data)
        data.is_valid(raise_exception=True)
        store, lines = till_basket(request, data.validated_data)
        customer = None
        if data.validated_data["customer_email"]:
            customer = Customer.objects.filter(email__iexact=data.validated_data["customer_email"]).first()
            if customer is None:
                raise ValidationError({"customer_email": ["No customer has that email."]})
        order = services.till_sale(store=store, lines=lines, staff=request.user, customer=customer,
                                   payment_method=data.validated_data["payment_method"],
                                   cash_tendered=data.validated_data["cash_tendered"])
        return Response(TillSaleOut(order).data, status=status.HTTP_201_CREATED)


class WebhookOut(serializers.Serializer):
    received = serializers.BooleanField()
    applied = serializers.BooleanField(help_text="False when this event was applied before (a redelivery).")


@method_decorator(csrf_exempt, name="dispatch")
class StripeWebhookAPI(APIView):
    """For Stripe only: its event deliveries (payment intents, charges). The Stripe-Signature header is
    checked against the webhook secret and its age; a bad or stale signature, or a body that is not an event,
    is refused (400) and nothing is applied. Each event is applied at most once."""

    authentication_classes = []
    permission_classes = []

    @extend_schema(tags=["payments"], request={"application/json": OpenApiTypes.OBJECT}, parameters=[
        OpenApiParameter("Stripe-Signature", str, OpenApiParameter.HEADER, required=True,
                         description="Stripe's signature of the body, made with the webhook secret.")],
        responses={200: WebhookOut, **refusals(
        (400, "The Stripe-Signature header does not match the body, or is too old: nothing was applied."))})
    def post(self, request):
        try:
            event = stripe_gateway.verify_webhook(payload=request.body,
                                                  signature=request.headers.get("Stripe-Signature", ""))
        except Exception as exc:  # bad JSON, bad or stale signature: nothing is applied
            raise ValidationError({"Stripe-Signature": [f"Webhook refused: {exc}"]}) from exc
        applied = services.stripe_event_apply(event=event)
        return Response({"received": True, "applied": applied})
