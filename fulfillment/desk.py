"""The returns desk at /admin/returns/desk/: find an order, tick each unit that came back with its condition
and reason, preview the refund, confirm once. Needs fulfillment.change_return and a store that takes returns."""
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django import forms
from django.contrib import admin
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.http import urlencode

from core.exceptions import DomainError
from core.phones import phone_in
from inventory.models import Location
from inventory.selectors import locations_for_staff
from orders.models import Order, OrderLine, Payment

from . import services
from .models import Fulfillment, Return, ReturnLine
from .selectors import returnable_units

PERMISSION = "fulfillment.change_return"
TEMPLATE = "admin/fulfillment/return_desk.html"
STORE_KEY = "return_desk_store"
MATCHES_SHOWN = 20
PAID_BACK = {
    Payment.Method.CARD: "back to the card it was paid with",
    Payment.Method.CARD_PRESENT: "back to the card on the terminal",
    Payment.Method.CASH: "in cash from the till",
}
CONDITIONS = [("", "Choose…"), (ReturnLine.Condition.RESELLABLE, "Resellable — back on sale here"),
              (ReturnLine.Condition.DAMAGED, "Damaged or faulty — kept off sale here")]
REASONS = ["Too small", "Too big", "Not as described", "Arrived damaged", "Faulty", "Changed their mind"]
REFUSED = 422


class UnitForm(forms.Form):
    """One unit of an order line at the desk: coming back or not, in what condition, and why."""

    line = forms.IntegerField(widget=forms.HiddenInput)
    returning = forms.BooleanField(required=False, label="Returning")
    condition = forms.ChoiceField(choices=CONDITIONS, required=False)
    reason = forms.CharField(max_length=services.REASON_LENGTH, required=False,
                             widget=forms.TextInput(attrs={"list": "return-reasons"}))

    def clean(self):
        data = super().clean()
        if data.get("returning") and not data.get("condition"):
            self.add_error("condition", "Say whether it is resellable or damaged.")
        return data


UnitFormSet = forms.formset_factory(UnitForm, extra=0)


@dataclass
class LineAtDesk:
    """An order line as the desk shows it: its unit rows, or why nothing of it can come back."""

    line: OrderLine
    unit_forms: list[UnitForm] = field(default_factory=list)
    error: str = ""

    @property
    def why_not(self) -> str:
        line = self.line
        if not line.quantity_fulfilled:
            return "cancelled" if not line.quantity_open else "not sent or collected yet"
        if line.quantity_returned == line.quantity_fulfilled:
            return "already returned"
        return "expected under another return request"


def _desk_stores(user) -> QuerySet[Location]:
    return locations_for_staff(user).active().filter(accepts_returns=True).order_by("name")


def _scanned_pickup(typed: str) -> Fulfillment | None:
    """The pickup a scanned QR code (signed) or a typed pickup code names."""
    try:
        data = signing.loads(typed, salt=services.QR_SALT)
        return Fulfillment.objects.filter(pk=data["f"], pickup_code=data["c"]).select_related("order").first()
    except signing.BadSignature:
        code = services.normalise_code(typed)
        return (Fulfillment.objects.filter(pickup_code=code).select_related("order").order_by("-ready_at").first()
                if len(code) == services.CODE_LENGTH else None)


def _search(typed: str) -> tuple[Return | None, list[Order]]:
    """A return request and its order, or the orders matching a return code, an order number, a scanned
    pickup code, a customer's email or phone: case and spaces do not matter."""
    code = services.normalise_code(typed)
    found = Return.objects.select_related("order").filter(code=code).first() if code else None
    if found is not None:
        return found, [found.order]
    orders = Order.objects.select_related("channel").order_by("-placed_at")
    if code and (order := orders.filter(number=code).first()):
        return None, [order]
    if pickup := _scanned_pickup(typed):
        return None, [pickup.order]
    if "@" in typed:
        return None, list(orders.filter(Q(email__iexact=typed) | Q(customer__email__iexact=typed))[:MATCHES_SHOWN])
    if phone := phone_in(typed):  # typed any way, stored in E.164: on the order, or the customer's
        return None, list(orders.filter(Q(phone=phone) | Q(customer__phone=phone))[:MATCHES_SHOWN])
    return None, []


def _initial_units(order: Order, return_request: Return | None) -> list[dict]:
    """One row per unit that can come back; a requested return's units come ticked with their reasons."""
    expected: dict[int, list[str]] = {}
    if return_request is not None:
        for requested in return_request.lines.all():
            expected.setdefault(requested.order_line_id, []).extend([requested.reason] * requested.quantity)
    rows = []
    for line, units in returnable_units(order=order, return_request=return_request).items():
        reasons = expected.get(line.pk, [])
        rows += [{"line": line.pk, "returning": n < len(reasons), "reason": reasons[n] if n < len(reasons) else ""}
                 for n in range(max(units, 0))]
    return rows


def _lines_at_desk(order: Order, formset) -> list[LineAtDesk]:
    lines = {str(line.pk): LineAtDesk(line=line) for line in order.lines.all()}
    for form in formset.forms:
        at_desk = lines.get(str(form["line"].value()))
        if at_desk is not None:
            at_desk.unit_forms.append(form)
    return list(lines.values())


def _received(formset) -> list[services.ReceivedUnits]:
    return [services.ReceivedUnits(line_id=data["line"], quantity=1, condition=data["condition"],
                                   reason=data["reason"].strip())
            for data in formset.cleaned_data if data.get("returning")]


def _order_panel(order: Order, return_request: Return | None, formset, key: str) -> dict:
    others = Return.objects.filter(order=order, status=Return.Status.REQUESTED)
    if return_request is not None:
        others = others.exclude(pk=return_request.pk)
    return {"order": order, "return_request": return_request, "formset": formset, "idempotency_key": key,
            "lines": _lines_at_desk(order, formset), "other_requests": list(others), "reasons": REASONS,
            "payment": Payment.objects.get(order=order)}


def _search_context(query: str) -> dict:
    return_request, orders = _search(query)
    if not orders:
        return {"search_error": f"Nothing matches “{query}”. Search by return code (RT…), order number, the "
                                "customer's email or phone, or scan the pickup QR code."}
    if return_request is not None and return_request.status == Return.Status.RECEIVED:
        return {"already": return_request}
    if len(orders) > 1:
        return {"matches": orders}
    order = orders[0]
    formset = UnitFormSet(prefix="units", initial=_initial_units(order, return_request))
    return _order_panel(order, return_request, formset, uuid.uuid4().hex)


def _render(request, context: dict, status: int = 200) -> TemplateResponse:
    return TemplateResponse(request, TEMPLATE, {**context, "refused": status >= 400}, status=status)


def _place_refusal(context: dict, refusal: DomainError) -> None:
    """Put a refusal next to the line it names, or at the top of the form."""
    sku = refusal.detail.get("sku")
    named = [at_desk for at_desk in context["lines"] if sku and at_desk.line.sku == sku]
    for at_desk in named:
        at_desk.error = refusal.message
    if not named:
        context["form_error"] = refusal.message


def _receive(request, store: Location, context: dict) -> TemplateResponse:
    """Preview the refund of the ticked units, go back to change them, or confirm: receive and refund once."""
    order = Order.objects.filter(number=request.POST.get("order", "")).first()
    code = request.POST.get("return_code", "")
    return_request = Return.objects.filter(code=code, order=order).first() if order and code else None
    key = request.POST.get("idempotency_key", "")
    if order is None or (code and return_request is None) or not 0 < len(key) <= 100:
        context["search_error"] = "That form is out of date: search for the order again."
        return _render(request, context, REFUSED)
    formset = UnitFormSet(request.POST, prefix="units")
    context.update(_order_panel(order, return_request, formset, key))
    action = request.POST.get("action")
    if action == "edit" or not formset.is_valid():
        return _render(request, context, 200 if action == "edit" else REFUSED)
    received = _received(formset)
    try:
        if action != "confirm":
            preview = services.return_refund_preview(order=order, received=received, return_request=return_request)
            return _render(request, {**context, "preview": preview, "paid_back": PAID_BACK[preview.method]})
        done = services.return_receive(order=order, location=store, received=received, actor=request.user,
                                       return_request=return_request, idempotency_key=key)
    except DomainError as refusal:
        # The goods may be in while the money is late (the card provider did not answer): then say so.
        done = Return.objects.filter(idempotency_key=key, status=Return.Status.RECEIVED).first()
        if done is None:
            _place_refusal(context, refusal)
            return _render(request, context, REFUSED)
    return redirect(f"{request.path}?{urlencode({'store': store.code, 'received': done.code})}")


def _received_context(code: str, stores: list[Location]) -> dict:
    done = (Return.objects.select_related("order", "location", "refund")
            .filter(code=code, status=Return.Status.RECEIVED, location__in=stores).first())
    if done is None:
        return {"search_error": f"No return {code} was received at your stores."}
    placed: Counter[tuple[str, str]] = Counter()
    for line in done.lines.select_related("order_line"):
        placed[line.order_line.sku, line.condition] += line.quantity
    return {"done": done, "paid_back": PAID_BACK.get(done.refund_method, "back to the original payment"),
            "placed": [(units, sku, condition) for (sku, condition), units in placed.items()]}


def return_desk(request):
    """The desk at the chosen store: a search (?q=), a received return (?received=), or a posted form."""
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied("Taking returns needs the permission to change returns.")
    stores = list(_desk_stores(request.user))
    asked = request.POST.get("store") or request.GET.get("store")
    chosen = asked or request.session.get(STORE_KEY)
    store = next((s for s in stores if s.code == chosen), stores[0] if len(stores) == 1 and not asked else None)
    if store is not None:
        request.session[STORE_KEY] = store.code
    query = (request.POST.get("q") or request.GET.get("q") or "").strip()
    context = {**admin.site.each_context(request), "title": "Returns desk", "stores": stores, "store": store,
               "query": query}
    if not stores:
        context["store_error"] = "None of the stores you work at takes returns."
        return _render(request, context, 403)
    if store is None:
        context["store_error"] = (f"You cannot take returns at {asked} here: choose one of your stores." if asked
                                  else "Choose the store this desk is in.")
        return _render(request, context, REFUSED if request.method == "POST" else 200)
    if request.method == "POST":
        return _receive(request, store, context)
    if request.GET.get("received"):
        context.update(_received_context(request.GET["received"], stores))
    elif query:
        context.update(_search_context(query))
    return _render(request, context)
