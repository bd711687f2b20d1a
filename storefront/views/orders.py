"""The order page (status, each fulfilment's tracking, the pickup code and its QR), return requests and
the printable receipt. Customers reach their own orders from their account; guests (and the till's
printer) through the signed link they were given. A pickup's page also says when and where to collect (the
store's hours, the day it is ready or the time booked, what is still on its way to the store), takes "I'm
here" at the store, and names who collects."""
from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from fulfillment.collection import pickup_arrived
from fulfillment.models import Fulfillment, LineProblem, Return
from fulfillment.problems import choice_link
from fulfillment.selectors import returnable_units
from fulfillment.services import pickup_qr_token, return_request, waiting_for
from inventory.hours import opening_hours_week
from orders.models import Order, OrderLine
from orders.selectors import order_link_key, order_link_key_valid, order_tax_summary
from orders.services import order_set_collector

from ..forms import ArrivalForm, CollectorForm, ReturnForm
from ..order_status import order_status_said
from ..shopper import REFUSALS, add_errors, customer_for, field_errors, web_channel


def _visible_order(request, number: str) -> Order | None:
    order = (Order.objects.select_related("channel", "pickup_store", "payment", "customer", "delivery_method",
                                          "placed_by", "collect_window")
             .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("location")))
             .filter(number=number).first())
    if order is None:
        return None
    customer = customer_for(request)
    if customer is not None and order.customer_id == customer.pk:
        return order
    key = request.GET.get("key") or request.POST.get("key") or ""
    return order if key and order_link_key_valid(number=number, key=key) else None


HERE, COLLECTOR = "here", "collector"  # what a POST to the order page does (anything else: a return request)
PREPARING = (Fulfillment.Status.NEW, Fulfillment.Status.PICKING)


def _fulfillment_rows(order: Order, arrival: ArrivalForm | None = None) -> list[dict]:
    """Each fulfilment as the page shows it; a pickup with its store's hours, what is still on its way to the
    store, and its "I'm here" (the form posted, with its refusal, for the pickup it was posted for)."""
    rows = []
    today = timezone.localdate()
    for fulfillment in order.fulfillments.select_related("location").order_by("id"):
        ready = fulfillment.status == Fulfillment.Status.READY
        row = {"fulfillment": fulfillment, "ready": ready,
               "qr_url": reverse("pickup-qr", args=[pickup_qr_token(fulfillment)]) if ready else ""}
        if fulfillment.method == Fulfillment.Method.PICKUP:
            preparing = fulfillment.status in PREPARING
            sources = sorted({t.source.name for t in waiting_for(fulfillment)}) if preparing else []
            posted = arrival is not None and arrival.data.get("fulfillment") == str(fulfillment.pk)
            # "I'm here" once it is ready, or from the day it was due (if it is not ready yet, the store says so)
            offered = ready or posted or (preparing and order.collect_from is not None and order.collect_from <= today)
            row.update({
                "hours": opening_hours_week(fulfillment.location), "preparing": preparing,
                "on_their_way_from": " and ".join(sources), "arrived": _arrived_said(fulfillment),
                "arrival": None if not offered else arrival if posted else ArrivalForm(
                    initial={"fulfillment": fulfillment.pk}, auto_id=f"here-{fulfillment.pk}-%s"),
            })
        rows.append(row)
    return rows


def _arrived_said(fulfillment: Fulfillment) -> str:
    if fulfillment.arrived_at is None or fulfillment.status != Fulfillment.Status.READY:
        return ""
    where = ", ".join(part for part in (f"bay {fulfillment.arrival_bay}" if fulfillment.arrival_bay else "",
                                        fulfillment.arrival_note) if part)
    return f"We know you're here{f' ({where})' if where else ''}: staff are bringing your order out."


@require_http_methods(["GET", "POST"])
def order_page(request, number: str):
    order = _visible_order(request, number)
    if order is None:
        return render(request, "404.html", {
            "message": "We cannot show that order. Sign in to the account it was placed with, or use the link "
                       "in your confirmation email."}, status=404)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    returnable = [(line, units) for line, units in returnable_units(order=order).items() if units > 0]
    form = ReturnForm(request.POST if request.method == "POST" and action not in (HERE, COLLECTOR) else None,
                      returnable=returnable)
    posted_for = request.POST.get("fulfillment", "")
    arrival = ArrivalForm(request.POST, auto_id=f"here-{posted_for if posted_for.isdigit() else 0}-%s") \
        if action == HERE else None
    collector = CollectorForm(request.POST if action == COLLECTOR else None,
                              initial={"collector_name": order.collector_name})
    status = 200
    if arrival is not None:
        done, status = _say_here(order, arrival)
        if done is not None:
            return redirect(f"{request.path}?key={order_link_key(order)}#pickup-{done.pk}")
    elif action == COLLECTOR:
        done, status = _name_collector(request, order, collector)
        if done:
            return redirect(f"{request.path}?key={order_link_key(order)}#collector")
    elif request.method == "POST":
        if form.is_valid():
            try:
                created = return_request(order=order, lines=form.cleaned_data["lines"], channel=web_channel())
            except REFUSALS as refusal:
                add_errors(form, field_errors(refusal))
            else:
                messages.success(request, f"Your return {created.code} is booked. Bring the items to any of our "
                                          "stores, or post them with this code.")
                return redirect(f"{request.path}?key={order_link_key(order)}#returns")
        status = 400 if form.errors else 200
    rows = _fulfillment_rows(order, arrival)
    return render(request, "storefront/order.html", {
        "order": order, "rows": rows, "form": form,
        "status": order_status_said(order, [row["fulfillment"] for row in rows]),
        "collector_form": collector, "collector_open": order.fulfilment == Order.Fulfilment.PICKUP and
        order.status not in (Order.Status.CANCELLED, Order.Status.FULFILLED),
        "returns": Return.objects.filter(order=order).prefetch_related("lines__order_line").order_by("created_at"),
        "key": order_link_key(order),
        "choices": [(problem, choice_link(problem)) for problem in LineProblem.objects.filter(
            fulfillment__order=order, outcome=LineProblem.Outcome.AWAITING_CHOICE).select_related("order_line")],
    }, status=status)


def _say_here(order: Order, form: ArrivalForm) -> tuple[Fulfillment | None, int]:
    """The shopper is at the store (fulfillment.collection.pickup_arrived): the pickup, or None with the reason on
    the form. Returns (pickup or None, HTTP status)."""
    if not form.is_valid():
        return None, 400
    pickup = order.fulfillments.filter(pk=form.cleaned_data["fulfillment"], method=Fulfillment.Method.PICKUP).first()
    if pickup is None:
        form.add_error(None, "That is not a collection of this order.")
        return None, 400
    try:
        return pickup_arrived(fulfillment=pickup, bay=form.cleaned_data["bay"], note=form.cleaned_data["car"],
                              channel=web_channel()), 302
    except REFUSALS as refusal:
        add_errors(form, field_errors(refusal))
        return None, getattr(refusal, "http_status", 400)


def _name_collector(request, order: Order, form: CollectorForm) -> tuple[bool, int]:
    """Someone else collects, or (no name) the shopper again (orders.services.order_set_collector)."""
    if not form.is_valid():
        return False, 400
    try:
        changed = order_set_collector(order=order, name=form.cleaned_data["collector_name"],
                                      actor=request.user if request.user.is_authenticated else None)
    except REFUSALS as refusal:
        add_errors(form, field_errors(refusal, fields={"collector_name": "collector_name"}))
        return False, getattr(refusal, "http_status", 400)
    if changed.collector_name:
        messages.success(request, f"{changed.collector_name} is collecting your order: they show the pickup code "
                                  "at the counter.")
    else:
        messages.success(request, "You are collecting your order yourself.")
    return True, 302


@require_http_methods(["GET"])
def order_receipt(request, number: str):
    """A VAT receipt: who sold it (the store, for a till sale or a pickup), every line with its rate, the
    discount, delivery, total and payment, the VAT summary per rate, and every refund with its VAT."""
    order = _visible_order(request, number)
    if order is None:
        return render(request, "404.html", {
            "message": "We cannot show that receipt. Sign in to the account the order was placed with, or use "
                       "the link in your confirmation email."}, status=404)
    store = order.pickup_store
    if order.fulfilment == Order.Fulfilment.TILL:
        store = order.lines.all()[0].location  # a till sale's lines are all at the till's store
    bands = order_tax_summary(order=order)
    charged, tax = sum(b.gross for b in bands), sum(b.tax for b in bands)
    return render(request, "storefront/receipt.html", {
        "order": order, "store": store, "bands": bands, "charged": charged, "tax": tax, "net": charged - tax,
        "cancelled": order.total_amount - charged,
        "refunds": list(order.payment.refunds.order_by("created_at")), "key": order_link_key(order),
        "vat_number": settings.SHOP_VAT_NUMBER,
    })
