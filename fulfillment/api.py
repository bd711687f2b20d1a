"""Fulfilment API. Staff (under /api/v1/staff/): my stores' queue, pick, pack, ship, ready, look up
and collect a pickup, receive a return. Shoppers: start a return; see fulfilments on the order page.

Staff only ever see the fulfilments of stores they work at: anything else answers 404.
"""
import io

import segno
from django.core import signing
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.channels import CHANNEL_PARAM, ChannelMixin
from core.exceptions import InvalidTransition
from core.permissions import staff_with
from core.schema import refusals
from customers.identity import customer_of
from inventory.exceptions import LocationNotFound, NotOnStaff, StockConflict
from inventory.selectors import staff_location_get
from orders.exceptions import PaymentNotCapturable, PaymentProviderError
from orders.models import Order
from orders.selectors import order_list

from . import services
from .collection import pickup_arrived
from .exceptions import PickupRefused, ProblemRefused, ReturnRefused, TooManyWrongCodes
from .models import Fulfillment, LineProblem, Return, ReturnLine
from .problems import line_problem_report
from .selectors import customer_name, fulfillment_queue


class FulfillmentLineOut(serializers.Serializer):
    line_id = serializers.IntegerField(source="order_line.id")
    sku = serializers.CharField(source="order_line.sku")
    name = serializers.CharField(source="order_line.name")
    quantity = serializers.IntegerField(source="order_line.quantity_open")


class FulfillmentOut(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    placed_at = serializers.DateTimeField(source="order.placed_at")
    customer_name = serializers.SerializerMethodField(
        help_text="Who the order is for, as the counter should greet them.")
    email = serializers.CharField(source="order.email")
    location = serializers.CharField(source="location.code")
    lines = FulfillmentLineOut(many=True)

    class Meta:
        model = Fulfillment
        fields = ["id", "order", "placed_at", "customer_name", "email", "location", "method", "status", "carrier",
                  "tracking_number", "tracking_url", "ready_at", "expires_at", "completed_at", "lines"]

    def get_customer_name(self, fulfillment) -> str:
        return customer_name(fulfillment.order)


WORKS_FULFILMENTS = staff_with("fulfillment.change_fulfillment", message="Your role does not work on fulfilments.")
HANDS_OVER = staff_with("fulfillment.use_scan_station", "fulfillment.change_fulfillment",
                        message="Your role does not hand over pickups.")
TAKES_RETURNS = staff_with("fulfillment.change_return", message="Your role does not take returns.")
STAFF_STORE = [(LocationNotFound, "No location has the `store` code sent."),
               (NotOnStaff, "I am not on the staff of that store.")]
PROVIDER_DOWN = (PaymentProviderError, "The payment provider could not be reached; nothing was charged: try again.")
WRONG_CODES = (TooManyWrongCodes, "Too many wrong codes from this counter: wait a while before the next.")
# A staff login signed in where a customer's orders are meant (customers.identity.customer_of).
NO_CUSTOMER = (403, "This login has no customer account (a member of staff's): sign in as a customer.")


class StaffFulfillmentMixin:
    permission_classes = [WORKS_FULFILMENTS]

    def fulfillment(self, request, pk: int) -> Fulfillment:
        return get_object_or_404(Fulfillment.objects.for_staff(request.user), pk=pk)

    def answer(self, fulfillment: Fulfillment) -> Response:
        fresh = Fulfillment.objects.select_related("order", "location").prefetch_related("lines__order_line")
        return Response(FulfillmentOut(fresh.get(pk=fulfillment.pk)).data)


@extend_schema(tags=["staff"], parameters=[
    OpenApiParameter("store", str, description="Only this store's (a store I work at), by code."),
    OpenApiParameter("status", str, enum=Fulfillment.Status.values, description="Only fulfilments in this status."),
], responses={200: FulfillmentOut(many=True), **refusals(*STAFF_STORE)})
class QueueAPI(generics.ListAPIView):
    """The fulfilments still to do at the stores I work at, oldest promise first: who each is for, the lines
    and where it stands. For store staff whose role works on fulfilments."""

    permission_classes = [WORKS_FULFILMENTS]
    serializer_class = FulfillmentOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Fulfillment.objects.none()
        store = self.request.query_params.get("store")
        location = staff_location_get(user=self.request.user, code=store) if store else None
        return fulfillment_queue(user=self.request.user, location=location,
                                 status=self.request.query_params.get("status", ""))


class PackIn(serializers.Serializer):
    carrier = serializers.CharField(max_length=40)
    tracking_number = serializers.CharField(max_length=64)
    tracking_url = serializers.URLField(required=False, default="", max_length=200)
    parcels = serializers.IntegerField(min_value=1, max_value=50, default=1)
    weight_grams = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, allow_null=True,
                                            default=None, help_text="The whole shipment, up to a tonne.")


@extend_schema(tags=["staff"])
class PackAPI(StaffFulfillmentMixin, APIView):
    """Record a delivery's parcel once picked: carrier, tracking number (and link), parcels and weight. For
    store staff whose role works on fulfilments, at a store they work at (another store's fulfilment is 404);
    a fulfilment not yet picked, or already sent, is refused (409)."""

    @extend_schema(request=PackIn, responses={200: FulfillmentOut, **refusals(InvalidTransition, PickupRefused)})
    def post(self, request, pk: int):
        fulfillment = self.fulfillment(request, pk)
        data = PackIn(data=request.data)
        data.is_valid(raise_exception=True)
        return self.answer(services.fulfillment_pack(fulfillment=fulfillment, actor=request.user,
                                                     **data.validated_data))


@extend_schema(tags=["staff"])
class StepAPI(StaffFulfillmentMixin, APIView):
    """Move a fulfilment on by the step its address names: `pick` (start picking), `ship` (a packed parcel
    leaves: stock leaves the ledger, the card is charged for what was sent, the shopper is told), `ready` (a
    pickup is ready: a pickup code is issued and the shopper told) or `delivered`. For store staff whose role
    works on fulfilments, at a store they work at (another store's fulfilment is 404). A step out of turn is
    refused (409)."""

    step = ""

    @extend_schema(request=None, responses={200: FulfillmentOut, **refusals(
        InvalidTransition, PickupRefused, StockConflict, PaymentNotCapturable, PROVIDER_DOWN)})
    def post(self, request, pk: int):
        fulfillment = self.fulfillment(request, pk)
        if self.step == "pick":
            fulfillment = services.fulfillment_start_picking(fulfillment=fulfillment, actor=request.user)
        elif self.step == "ship":
            fulfillment = services.fulfillment_ship(fulfillment=fulfillment, actor=request.user)
        elif self.step == "ready":
            fulfillment = services.fulfillment_mark_ready(fulfillment=fulfillment, actor=request.user)
        elif self.step == "delivered":
            fulfillment = services.fulfillment_mark_delivered(fulfillment=fulfillment, actor=request.user)
        return self.answer(fulfillment)


class ProblemIn(serializers.Serializer):
    line_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1,
                                       help_text="The order line (line_id in the fulfilment's lines).")
    reason = serializers.ChoiceField(choices=LineProblem.Reason.choices)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, default=None,
                                        allow_null=True,
                                        help_text="Units that cannot be sent; all still to pick when left out.")
    on_shelf = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0,
                                        help_text="Not found: how many are left on the shelf (the ledger is "
                                                  "corrected to these plus the units you did pick).")
    open_seen = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, default=None,
                                         allow_null=True,
                                         help_text="The units to pick your screen showed: if the line has changed "
                                                   "since (someone reported it), nothing changes (409).")


class ProblemOut(serializers.ModelSerializer):
    line_id = serializers.IntegerField(source="order_line_id")
    sku = serializers.CharField(source="order_line.sku")
    sent_from = serializers.CharField(source="sent_from.code", allow_null=True, default=None)

    class Meta:
        model = LineProblem
        fields = ["id", "line_id", "sku", "reason", "quantity", "on_shelf", "outcome", "sent_from", "choose_by",
                  "created_at"]


@extend_schema(tags=["staff"])
class ProblemAPI(StaffFulfillmentMixin, APIView):
    """Report a problem with a line while picking: not found, damaged, wrong item or size, worn display. The
    ledger is told at once (not found: on hand corrected; the others: units booked unavailable), the units are
    released from the order and sourced again: for delivery from another location (within the split limit), for
    pickup by the shopper's choice on a link we send them; when nowhere has them they are cancelled and refunded.
    For store staff whose role works on fulfilments, at a store they work at. An Idempotency-Key header makes a
    retry apply once."""

    @extend_schema(request=ProblemIn, parameters=[OpenApiParameter(
        "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
        description="Any unique string (up to 100 characters): the same key again answers the first report.")],
        responses={201: ProblemOut, **refusals(ProblemRefused, StockConflict)})
    def post(self, request, pk: int):
        fulfillment = self.fulfillment(request, pk)
        data = ProblemIn(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 100:
            raise ValidationError({"Idempotency-Key": ["Keep the key to 100 characters."]})
        values = data.validated_data
        problem = line_problem_report(
            fulfillment=fulfillment, order_line_id=values["line_id"], reason=values["reason"],
            quantity=values["quantity"], on_shelf=values["on_shelf"], open_seen=values["open_seen"],
            actor=request.user, idempotency_key=key or None)
        return Response(ProblemOut(problem).data, status=status.HTTP_201_CREATED)


class ScanIn(serializers.Serializer):
    store = serializers.CharField(max_length=32, help_text="The store this counter is in.")
    code = serializers.CharField(max_length=400, help_text="The typed pickup code, or what the QR scanner read.")


def station_of(request) -> str:
    return f"{request.user.pk}:{request.META.get('REMOTE_ADDR', '')}"


@extend_schema(tags=["staff"])
class PickupLookupAPI(APIView):
    """What the counter sees for a typed or scanned pickup code: the order, the name on it and the lines; or
    why it cannot be handed over here (409: unknown code, another store, not ready, already collected,
    cancelled). Changes nothing. Too many wrong codes from one counter are refused for a while (429). For
    staff whose role hands over pickups, at a store they work at."""

    permission_classes = [HANDS_OVER]
    hand_over = False

    @extend_schema(request=ScanIn, responses={200: FulfillmentOut, **refusals(
        PickupRefused, WRONG_CODES, *STAFF_STORE)})
    def post(self, request):
        data = ScanIn(data=request.data)
        data.is_valid(raise_exception=True)
        store = staff_location_get(user=request.user, code=data.validated_data["store"])
        found = services.pickup_find_at_station(scanned=data.validated_data["code"], location=store,
                                                station=station_of(request))
        if self.hand_over:
            found = services.pickup_collect(fulfillment=found, code=data.validated_data["code"], actor=request.user)
        return Response(FulfillmentOut(found).data)


@extend_schema(tags=["staff"])
@extend_schema_view(post=extend_schema(request=ScanIn, responses={200: FulfillmentOut, **refusals(
    PickupRefused, WRONG_CODES, InvalidTransition, StockConflict, PaymentNotCapturable, *STAFF_STORE,
    PROVIDER_DOWN)}))
class PickupCollectAPI(PickupLookupAPI):
    """Hand a pickup over by its code: the stock leaves the ledger, the card is charged (or pay-at-pickup
    recorded as paid), the shopper is told. Refused as the lookup is (409, 429). For staff whose role hands over
    pickups, at a store they work at."""

    hand_over = True


class ReceiveLineIn(serializers.Serializer):
    line_id = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1)
    condition = serializers.ChoiceField(choices=ReturnLine.Condition.choices)
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True,
                                   help_text="Why it came back; a requested return keeps the shopper's reason.")


class ReceiveIn(serializers.Serializer):
    store = serializers.CharField(max_length=32, help_text="Where the items arrived.")
    order = serializers.CharField(required=False, max_length=16, help_text="Order number, for a walk-in return.")
    return_code = serializers.CharField(required=False, max_length=16,
                                        help_text="The shopper's return code, if they have one.")
    lines = ReceiveLineIn(many=True, allow_empty=False,
                          help_text="One entry per condition: a line may come back as 1 resellable and 1 damaged.")
    refund_method = serializers.ChoiceField(
        choices=["card", "cash", "card_present"], required=False, default="",
        help_text="Optional check: the money goes back the way it was paid (a card online: to that card; cash at "
                  "the till: in cash; a card at the till: on the terminal); another method is refused.")


class ReturnOut(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    location = serializers.CharField(source="location.code", allow_null=True, default=None)

    class Meta:
        model = Return
        fields = ["code", "order", "status", "location", "refund_method", "refund_amount", "created_at",
                  "received_at"]


@extend_schema(tags=["staff"])
class ReturnReceiveAPI(APIView):
    """Receive returned items of any order, from any channel, at my store or warehouse. A walk-in return
    (no return code) sent with an Idempotency-Key header is received once: the same key again answers
    with the first return and changes nothing. Each unit is booked by its condition at this store (resellable
    goes back on sale; damaged is kept off sale) and the refund goes back the way the order was paid. For store
    staff whose role takes returns, at a store they work at; more than can be returned is refused (422)."""

    permission_classes = [TAKES_RETURNS]
    card_refunds = {"card", "card_present"}  # older clients said "card" for either

    @extend_schema(request=ReceiveIn, responses={200: ReturnOut, **refusals(ReturnRefused, *STAFF_STORE)},
                   parameters=[OpenApiParameter(
        "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
        description="A key of up to 100 characters, new for each return.")])
    def post(self, request):
        data = ReceiveIn(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 100:
            raise ValidationError({"Idempotency-Key": ["Keep the key to 100 characters."]})
        store = staff_location_get(user=request.user, code=data.validated_data["store"])
        request_row = None
        if data.validated_data.get("return_code"):
            request_row = Return.objects.filter(code=data.validated_data["return_code"].strip().upper()).first()
            if request_row is None:
                raise ValidationError({"return_code": ["No return has that code."]})
            order = request_row.order
        elif data.validated_data.get("order"):
            order = Order.objects.filter(number=data.validated_data["order"].strip().upper()).first()
            if order is None:
                raise ValidationError({"order": ["No order has that number."]})
        else:
            raise ValidationError({"order": ["Give the order number or the return code."]})
        asked, paid_back = data.validated_data["refund_method"], services.refund_method_for(order=order)
        if asked and asked != paid_back and not {asked, paid_back} <= self.card_refunds:
            raise ValidationError({"refund_method": [
                f"The money for order {order.number} goes back the way it was paid: {paid_back}, not {asked}."]})
        received = services.return_receive(
            order=order, location=store, actor=request.user, return_request=request_row, idempotency_key=key or None,
            received=[services.ReceivedUnits(line_id=line["line_id"], quantity=line["quantity"],
                                             condition=line["condition"], reason=line["reason"])
                      for line in data.validated_data["lines"]])
        return Response(ReturnOut(received).data)


class ReturnLineIn(serializers.Serializer):
    id = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class ReturnRequestIn(serializers.Serializer):
    lines = ReturnLineIn(many=True, allow_empty=False)


@extend_schema(tags=["orders"])
class ReturnRequestAPI(ChannelMixin, APIView):
    """Start a return of my order: choose lines (by id), how many and why, and get a return code to bring to
    any store or send by post; the refund follows when the items arrive. For a signed-in customer; another
    shopper's order is 404; more than was sent and not yet returned is refused (422)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=ReturnRequestIn, responses={201: ReturnOut, **refusals(ReturnRefused, NO_CUSTOMER)})
    def post(self, request, number: str):
        order = get_object_or_404(order_list(customer=customer_of(request)), number=number)
        data = ReturnRequestIn(data=request.data)
        data.is_valid(raise_exception=True)
        lines = {line["id"]: (line["quantity"], line["reason"]) for line in data.validated_data["lines"]}
        created = services.return_request(order=order, lines=lines, channel=self.channel)
        return Response(ReturnOut(created).data, status=status.HTTP_201_CREATED)


class MyFulfillmentOut(serializers.ModelSerializer):
    """A fulfilment as its shopper sees it: the pickup code and QR once it is ready, tracking once shipped."""

    store = serializers.CharField(source="location.name")
    pickup_code = serializers.SerializerMethodField()
    qr_url = serializers.SerializerMethodField()

    class Meta:
        model = Fulfillment
        fields = ["method", "status", "store", "carrier", "tracking_number", "tracking_url", "ready_at", "expires_at",
                  "pickup_code", "qr_url", "arrived_at", "arrival_bay", "arrival_note"]

    def get_pickup_code(self, fulfillment) -> str | None:
        return fulfillment.pickup_code if fulfillment.status == Fulfillment.Status.READY else None

    def get_qr_url(self, fulfillment) -> str | None:
        if fulfillment.status != Fulfillment.Status.READY:
            return None
        return f"/pickup/qr/{services.pickup_qr_token(fulfillment)}.svg"


@extend_schema(tags=["orders"], responses={200: MyFulfillmentOut(many=True), **refusals(NO_CUSTOMER)})
class MyFulfillmentsAPI(generics.ListAPIView):
    """How my order is being sent or got ready, one entry per parcel or pickup: status, tracking, and once a
    pickup is ready its code and QR image. For a signed-in customer; another shopper's order is 404."""

    permission_classes = [IsAuthenticated]
    serializer_class = MyFulfillmentOut
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Fulfillment.objects.none()
        order = get_object_or_404(order_list(customer=customer_of(self.request)), number=self.kwargs["number"])
        return order.fulfillments.select_related("location").order_by("id")


class ImHereIn(serializers.Serializer):
    bay = serializers.CharField(max_length=20, required=False, default="", allow_blank=True,
                                help_text="The bay or space number, if the store has them.")
    car = serializers.CharField(max_length=120, required=False, default="", allow_blank=True,
                                help_text="The car (colour, make) or how staff will know me.")


@extend_schema(tags=["orders"], parameters=[CHANNEL_PARAM])
class ImHereAPI(ChannelMixin, APIView):
    """Tell the store I have arrived to collect my order ("I'm here"), with a bay and my car if I like: its
    counter shows me at once and staff bring it out. Saying it again changes nothing. For a signed-in customer;
    another shopper's order, or one with no pickup, is 404; a pickup not ready yet is refused (409)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=ImHereIn, responses={200: MyFulfillmentOut, **refusals(PickupRefused, NO_CUSTOMER)})
    def post(self, request, number: str):
        order = get_object_or_404(order_list(customer=customer_of(request)), number=number)
        pickup = (order.fulfillments.filter(method=Fulfillment.Method.PICKUP).exclude(status=Fulfillment.Status.CANCELLED)
                  .order_by("-id").first())
        if pickup is None:
            raise Http404("This order has no pickup.")
        data = ImHereIn(data=request.data)
        data.is_valid(raise_exception=True)
        arrived = pickup_arrived(fulfillment=pickup, bay=data.validated_data["bay"], note=data.validated_data["car"],
                                 channel=self.channel)
        return Response(MyFulfillmentOut(arrived, context={"request": request}).data)


def pickup_qr(request, token: str):
    """The QR image of a signed pickup token (what the shopper shows at the counter)."""
    try:
        signing.loads(token, salt=services.QR_SALT)
    except signing.BadSignature as exc:
        raise Http404("No such pickup code.") from exc
    svg = io.BytesIO()
    segno.make(token, error="m").save(svg, kind="svg", scale=6, border=2)  # a standalone file: with its xmlns
    return HttpResponse(svg.getvalue(), content_type="image/svg+xml")
