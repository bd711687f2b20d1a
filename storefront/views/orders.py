"""The order page (status, each fulfilment's tracking, the pickup code and its QR), return requests and
the printable receipt. Customers reach their own orders from their account; guests (and the till's
printer) through the signed link they were given."""
from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from fulfillment.models import Fulfillment, LineProblem, Return
from fulfillment.problems import choice_link
from fulfillment.selectors import returnable_units
from fulfillment.services import pickup_qr_token, return_request
from orders.models import Order, OrderLine
from orders.selectors import order_link_key, order_link_key_valid, order_tax_summary

from ..forms import ReturnForm
from ..shopper import REFUSALS, add_errors, customer_for, field_errors, web_channel


def _visible_order(request, number: str) -> Order | None:
    order = (Order.objects.select_related("channel", "pickup_store", "payment", "customer", "delivery_method",
                                          "placed_by")
             .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("location")))
             .filter(number=number).first())
    if order is None:
        return None
    customer = customer_for(request)
    if customer is not None and order.customer_id == customer.pk:
        return order
    key = request.GET.get("key") or request.POST.get("key") or ""
    return order if key and order_link_key_valid(number=number, key=key) else None


def _fulfillment_rows(order: Order) -> list[dict]:
    rows = []
    for fulfillment in order.fulfillments.select_related("location").order_by("id"):
        ready = fulfillment.status == Fulfillment.Status.READY
        rows.append({
            "fulfillment": fulfillment, "ready": ready,
            "qr_url": reverse("pickup-qr", args=[pickup_qr_token(fulfillment)]) if ready else "",
        })
    return rows


def _shopper_status(order: Order, rows: list[dict]) -> str:
    """One phrase for the whole order, as a shopper would say it."""
    statuses = {row["fulfillment"].status for row in rows}
    if order.status == Order.Status.CANCELLED:
        return "Cancelled"
    if statuses and statuses <= {Fulfillment.Status.COLLECTED}:
        return "Collected"
    if statuses and statuses <= {Fulfillment.Status.DELIVERED}:
        return "Delivered"
    if Fulfillment.Status.READY in statuses:
        return "Ready to collect"
    if statuses & {Fulfillment.Status.SHIPPED, Fulfillment.Status.DELIVERED}:
        return "On its way" if order.status != Order.Status.FULFILLED else "Sent"
    if order.status == Order.Status.FULFILLED:
        return "Completed"
    if statuses & {Fulfillment.Status.PICKING, Fulfillment.Status.PACKED}:
        return "Being prepared"
    return "Placed"


@require_http_methods(["GET", "POST"])
def order_page(request, number: str):
    order = _visible_order(request, number)
    if order is None:
        return render(request, "404.html", {
            "message": "We cannot show that order. Sign in to the account it was placed with, or use the link "
                       "in your confirmation email."}, status=404)
    returnable = [(line, units) for line, units in returnable_units(order=order).items() if units > 0]
    form = ReturnForm(request.POST if request.method == "POST" else None, returnable=returnable)
    if request.method == "POST":
        if form.is_valid():
            try:
                created = return_request(order=order, lines=form.cleaned_data["lines"], channel=web_channel())
            except REFUSALS as refusal:
                add_errors(form, field_errors(refusal))
            else:
                messages.success(request, f"Your return {created.code} is booked. Bring the items to any of our "
                                          "stores, or post them with this code.")
                return redirect(f"{request.path}?key={order_link_key(order)}#returns")
    rows = _fulfillment_rows(order)
    return render(request, "storefront/order.html", {
        "order": order, "rows": rows, "status": _shopper_status(order, rows), "form": form,
        "returns": Return.objects.filter(order=order).prefetch_related("lines__order_line").order_by("created_at"),
        "key": order_link_key(order),
        "choices": [(problem, choice_link(problem)) for problem in LineProblem.objects.filter(
            fulfillment__order=order, outcome=LineProblem.Outcome.AWAITING_CHOICE).select_related("order_line")],
    }, status=400 if form.errors else 200)


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
