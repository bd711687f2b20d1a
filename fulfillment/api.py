"""Fulfilment API. Staff (under /api/v1/staff/): my stores' queue, pick, pack, ship, ready, look up
and collect a pickup, receive a return. Shoppers: start a return; see fulfilments on the order page.

Staff only ever see the fulfilments of stores they work at: anything else answers 404.
"""
import io

import segno
from django.core import signing
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.channels import ChannelMixin
from core.permissions import staff_with
from customers.identity import customer_of
from inventory.selectors import staff_location_get
from orders.models import Order
from orders.selectors import order_list

from . import services
from .models import Fulfillment, Return, ReturnLine
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


class StaffFulfillmentMixin:
    permission_classes = [WORKS_FULFILMENTS]

    def fulfillment(self, request, pk: int) -> Fulfillment:
        return get_object_or_404(Fulfillment.objects.for_staff(request.user), pk=pk)

    def answer(self, fulfillment: Fulfillment) -> Response:
        fresh = Fulfillment.objects.select_related("order", "location").prefetch_related("lines__order_line")
        return Response(FulfillmentOut(fresh.get(pk=fulfillment.pk)).data)


@extend_schema(tags=["staff"])
class QueueAPI(generics.ListAPIView):
    """My stores' fulfilments still to do, oldest promise first. ?store=CODE&status=…"""

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
    tracking_url = serializers.URLField(required=False, default="")
    parcels = serializers.IntegerField(min_value=1, max_value=50, default=1)
    weight_grams = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)


@extend_schema(tags=["staff"])
class PackAPI(StaffFulfillmentMixin, APIView):
    """Record the parcel: carrier and tracking number."""

    @extend_schema(request=PackIn, responses=FulfillmentOut)
    def post(self, request, pk: int):
        fulfillment = self.fulfillment(request, pk)
        data = PackIn(data=request.data)
        data.is_valid(raise_exception=True)
        return self.answer(services.fulfillment_pack(fulfillment=fulfillment, actor=request.user,
                                                     **data.validated_data))


@extend_schema(tags=["staff"])
class StepAPI(StaffFulfillmentMixin, APIView):
    """Move a fulfilment on: pick, ship, ready (issues the pickup code and tells the shopper), delivered."""

    step = ""

    @extend_schema(request=None, responses=FulfillmentOut)
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


class ScanIn(serializers.Serializer):
    store = serializers.CharField(help_text="The store this counter is in.")
    code = serializers.CharField(max_length=400, help_text="The typed pickup code, or what the QR scanner read.")


def station_of(request) -> str:
    return f"{request.user.pk}:{request.META.get('REMOTE_ADDR', '')}"


@extend_schema(tags=["staff"])
class PickupLookupAPI(APIView):
    """What the counter sees for a code: the order, the name on it and the lines; or why not."""

    permission_classes = [HANDS_OVER]
    hand_over = False

    @extend_schema(request=ScanIn, responses=FulfillmentOut)
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
class PickupCollectAPI(PickupLookupAPI):
    """Hand the order over: stock leaves, the payment is captured, the shopper is told."""

    hand_over = True


class ReceiveLineIn(serializers.Serializer):
    line_id = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1)
    condition = serializers.ChoiceField(choices=ReturnLine.Condition.choices)
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True,
                                   help_text="Why it came back; a requested return keeps the shopper's reason.")


class ReceiveIn(serializers.Serializer):
    store = serializers.CharField(help_text="Where the items arrived.")
    order = serializers.CharField(required=False, help_text="Order number, for a walk-in return.")
    return_code = serializers.CharField(required=False, help_text="The shopper's return code, if they have one.")
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
    with the first return and changes nothing."""

    permission_classes = [TAKES_RETURNS]
    card_refunds = {"card", "card_present"}  # older clients said "card" for either

    @extend_schema(request=ReceiveIn, responses=ReturnOut, parameters=[OpenApiParameter(
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
    """Start a return of my order: choose lines and a reason, get a return code for any store."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=ReturnRequestIn, responses={201: ReturnOut})
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
                  "pickup_code", "qr_url"]

    def get_pickup_code(self, fulfillment) -> str | None:
        return fulfillment.pickup_code if fulfillment.status == Fulfillment.Status.READY else None

    def get_qr_url(self, fulfillment) -> str | None:
        if fulfillment.status != Fulfillment.Status.READY:
            return None
        return f"/pickup/qr/{services.pickup_qr_token(fulfillment)}.svg"


@extend_schema(tags=["orders"])
class MyFulfillmentsAPI(generics.ListAPIView):
    """How my order is being sent or got ready: status, tracking, the pickup code and its QR."""

    permission_classes = [IsAuthenticated]
    serializer_class = MyFulfillmentOut
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Fulfillment.objects.none()
        order = get_object_or_404(order_list(customer=customer_of(self.request)), number=self.kwargs["number"])
        return order.fulfillments.select_related("location").order_by("id")


def pickup_qr(request, token: str):
    """The QR image of a signed pickup token (what the shopper shows at the counter)."""
    try:
        signing.loads(token, salt=services.QR_SALT)
    except signing.BadSignature as exc:
        raise Http404("No such pickup code.") from exc
    svg = io.BytesIO()
    segno.make(token, error="m").save(svg, kind="svg", scale=6, border=2)  # a standalone file: with its xmlns
    return HttpResponse(svg.getvalue(), content_type="image/svg+xml")
