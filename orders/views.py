"""The till: pages for store staff to sell across the counter, built on the same till_quote and till_sale
the staff API uses. Scan (or type) a SKU or barcode in any case, or find a customer by email or phone and
load their online basket; see every line with its price and VAT and the total before taking payment; take
cash (the change worked out) or a card on the terminal. The sale's page then gives the change, prints an
80 mm receipt and starts the next sale.

The basket lives in the session, per member of staff: [(sku, quantity), ...], with the till's store and
the customer the sale is for. The pages need orders.sell_at_till (store staff and managers have it); a
user without it gets 403, and a sale is shown only to staff of its store.
"""
import re
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from catalog.models import Variant
from catalog.selectors import variant_by_code
from core.exceptions import DomainError
from core.phones import PhoneInvalid
from customers.models import Cart, CartLine, Customer
from customers.selectors import customers_by_contact
from inventory.models import Location
from inventory.selectors import locations_for_staff

from . import services
from .models import Order, OrderLine, Payment
from .selectors import order_tax_summary, till_stock_on_record

TILL_PERMISSION = "orders.sell_at_till"
BASKET, STORE, CUSTOMER = "till_basket", "till_store", "till_customer"
MAX_MATCHES = 10
# The payment form's fields: a refusal naming one of them is said next to it, any other next to the basket.
PAYMENT_FIELDS = ("payment_method", "cash_tendered")


def _tills(user) -> list[Location]:
    return list(locations_for_staff(user).active().filter(sells_in_store=True).order_by("name"))


def _basket(request) -> list[list]:
    return request.session.get(BASKET, [])


def _save(request, basket: list[list]) -> None:
    request.session[BASKET] = basket


def _customer(request) -> Customer | None:
    pk = request.session.get(CUSTOMER)
    return Customer.objects.filter(pk=pk).first() if pk else None


def _new_sale(request) -> None:
    """An empty basket and no customer: the next shopper starts from nothing."""
    _save(request, [])
    request.session.pop(CUSTOMER, None)


@staff_member_required
@permission_required(TILL_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def till_page(request):
    """The till. A POST names an action (ACTIONS): one that is done redirects back here (or, after a sale, to
    the sale); one that is refused shows the page again with the reason next to its field (400)."""
    tills = _tills(request.user)
    chosen = request.POST.get("store") or request.GET.get("store") or request.session.get(STORE)
    store = next((s for s in tills if s.code == chosen), tills[0] if len(tills) == 1 else None)
    if store is not None and request.session.get(STORE) != store.code:
        request.session[STORE] = store.code
        _new_sale(request)  # another till, another sale
    # shown: what an action found to show on the page it does not redirect from (customers to choose from)
    basket, errors, status, shown = _basket(request), {}, 200, {}
    if request.method == "POST" and store is None:
        errors["store"], status = "Choose the store this till is in.", 400
    elif request.method == "POST":
        action = ACTIONS.get(request.POST.get("action", ""))
        done = action(request, store, basket, errors, shown) if action else None
        if done is not None:
            return redirect(done)
        status = 400 if errors else 200
    customer = _customer(request)
    quote, rows = None, []
    if store is not None and basket:
        lines = _lines(basket)
        try:
            quote = services.till_quote(store=store, lines=lines)
        except DomainError as refusal:
            errors.setdefault("basket", refusal.message)
            status = 409 if status == 200 else status
        else:
            on_record = till_stock_on_record(store=store, lines=lines)
            rows = [{"line": line, "on_record": on_record.get(line.variant.pk)} for line in quote.lines]
    return render(request, "orders/till.html", {
        "tills": tills, "store": store, "quote": quote, "rows": rows, "errors": errors, "basket": basket,
        "customer": customer, "cart_lines": _open_cart_lines(customer) if customer else [],
        "matches": shown.get("matches", []),
        "methods": [(Payment.Method.CASH, "Cash"), (Payment.Method.CARD_PRESENT, "Card on the terminal")],
        "method": request.POST.get("payment_method", Payment.Method.CASH),
        "code": request.POST.get("code", "") if errors.get("code") else "",
        "email": request.POST.get("customer_email", ""),
        "contact": request.POST.get("contact", ""),
        "cash_tendered": request.POST.get("cash_tendered", quote.total if quote else ""),
    }, status=status)


def _here(request, store: Location) -> str:
    return f"{request.path}?store={store.code}"


def _add(request, store: Location, basket: list[list], errors: dict, shown: dict) -> str | None:
    """Put the scanned code's variant in the basket (one line per SKU), or say why not in `errors`."""
    code = request.POST.get("code", "").strip()
    quantity = request.POST.get("quantity", "1").strip() or "1"
    variant = variant_by_code(code=code)
    if variant is None:
        errors["code"] = f"Nothing has SKU or barcode {code!r}." if code else "Scan or type a SKU or barcode."
        return None
    if not quantity.isdigit() or not 1 <= int(quantity) <= 999:
        errors["quantity"] = "Enter a quantity from 1 to 999."
        return None
    line = next((line for line in basket if line[0] == variant.sku), None)
    if line is None:
        basket.append([variant.sku, int(quantity)])
    else:
        line[1] += int(quantity)
    _save(request, basket)
    return _here(request, store)


def _remove(request, store: Location, basket: list[list], errors: dict, shown: dict) -> str:
    _save(request, [line for line in basket if line[0] != request.POST.get("sku")])
    return _here(request, store)


def _start_again(request, store: Location, basket: list[list], errors: dict, shown: dict) -> str:
    _new_sale(request)
    return _here(request, store)


def _lines(basket: list[list]) -> list:
    """The basket's (variant with product, quantity) lines, in scan order: one query."""
    variants = Variant.objects.select_related("product").in_bulk([sku for sku, _ in basket], field_name="sku")
    return [(variants[sku], quantity) for sku, quantity in basket if sku in variants]


# The customer and their online basket -------------------------------------------------------------


def _open_cart_lines(customer: Customer) -> list[CartLine]:
    """The lines of the customer's one open cart, the same the web and the app show, oldest first."""
    return list(CartLine.objects.filter(cart__customer=customer, cart__status=Cart.Status.OPEN)
                .select_related("variant__product").order_by("added_at", "id"))


def _attach(request, customer: Customer) -> None:
    request.session[CUSTOMER] = customer.pk
    messages.success(request, f"Selling to {customer.full_name or customer.email}.")


def _find_customer(request, store: Location, basket: list[list], errors: dict, shown: dict) -> str | None:
    """Attach the one customer the email or phone names; several (a shared phone) are listed to choose from."""
    contact = request.POST.get("contact", "").strip()
    if not contact:
        errors["contact"] = "Enter the customer's email or phone number."
        return None
    try:
        matches = customers_by_contact(contact=contact, limit=MAX_MATCHES)
    except PhoneInvalid as refusal:  # neither an email nor a phone number: say how to write one
        errors["contact"] = refusal.message
        return None
    if len(matches) == 1:
        _attach(request, matches[0])
        return _here(request, store)
    if not matches:
        errors["contact"] = f"No customer has the email or phone number {contact!r}."
    shown["matches"] = matches
    return None


def _choose_customer(request, store: Location, basket: list[list], errors: dict, shown: dict) -> str | None:
    pk = request.POST.get("customer", "")
    customer = Customer.objects.filter(pk=pk).first() if pk.isdigit() else None
    if customer is None:
        errors["contact"] = "That customer is no longer on file; find them again."
        return None
    _attach(request, customer)
    return _here(request, store)


def _forget_customer(request, store: Location, basket: list[list], errors: dict, shown: dict) -> str:
    request.session.pop(CUSTOMER, None)
    return _here(request, store)


def _load_cart(request, store: Location, basket: list[list], errors: dict, shown: dict) -> str | None:
    """The customer's online basket joins the till's: a line it does not have yet comes in with the cart's
    quantity, and a line with fewer is raised to it, so loading twice changes nothing."""
    customer = _customer(request)
    if customer is None:
        errors["contact"] = "Find the customer first."
        return None
    lines = _open_cart_lines(customer)
    if not lines:
        errors["cart"] = "Their online basket is empty."
        return None
    quantities = dict(basket)
    for line in lines:
        quantities[line.variant.sku] = max(quantities.get(line.variant.sku, 0), line.quantity)
    _save(request, [[sku, quantity] for sku, quantity in quantities.items()])
    units = sum(line.quantity for line in lines)
    messages.success(request, f"Loaded {units} item{'s' if units != 1 else ''} from "
                              f"{customer.full_name or customer.email}'s online basket.")
    return _here(request, store)


# Payment ------------------------------------------------------------------------------------------


def _cash(text: str, errors: dict) -> Decimal | None:
    """The cash handed over, as typed ("20", "£20.50", "1,000"), or None with the reason in `errors`."""
    cleaned = re.sub(r"[£€$,\s]", "", text)
    if not cleaned:
        errors["cash_tendered"] = "Enter the cash the customer handed over."
        return None
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -2:
        errors["cash_tendered"] = "Enter an amount of money, e.g. 20 or 20.50."
        return None
    return amount


def _sell(request, store: Location, basket: list[list], errors: dict, shown: dict) -> str | None:
    """Take payment and record the sale, then show it; on a refusal, say why next to each field and change
    nothing."""
    if not basket:
        errors["basket"] = "Scan at least one item."
    method = request.POST.get("payment_method", "")
    if method not in (Payment.Method.CASH, Payment.Method.CARD_PRESENT):
        errors["payment_method"] = "Choose cash or card."
    cash = _cash(request.POST.get("cash_tendered", ""), errors) if method == Payment.Method.CASH else None
    customer = _customer(request)
    email = request.POST.get("customer_email", "").strip()
    if customer is None and email:
        customer = Customer.objects.filter(email__iexact=email).first()
        if customer is None:
            errors["customer_email"] = "No customer has that email; leave it empty to sell without one."
    if errors:
        return None
    try:
        order = services.till_sale(store=store, lines=_lines(basket), staff=request.user, customer=customer,
                                   payment_method=method, cash_tendered=cash)
    except DomainError as refusal:
        field = refusal.detail.get("field")
        errors[field if field in PAYMENT_FIELDS else "basket"] = refusal.message
        return None
    _new_sale(request)
    return reverse("till-sale", args=[order.number])


ACTIONS = {
    "add": _add, "remove": _remove, "new": _start_again, "find_customer": _find_customer,
    "choose_customer": _choose_customer, "forget_customer": _forget_customer, "load_cart": _load_cart,
    "sell": _sell,
}


# After the sale -----------------------------------------------------------------------------------


def _till_sale(request, number: str) -> tuple[Order, Location]:
    """A till sale at one of the user's stores, with its lines and payment, and that store; else 404."""
    order = (Order.objects.filter(number=number, fulfilment=Order.Fulfilment.TILL)
             .select_related("payment", "placed_by", "customer")
             .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("location").order_by("id")))
             .first())
    if order is None:
        raise Http404("No till sale has that number.")
    store = order.lines.all()[0].location  # a till sale's lines are all at the till's store
    if not locations_for_staff(request.user).filter(pk=store.pk).exists():
        raise Http404("No till sale has that number at your stores.")
    return order, store


@staff_member_required
@permission_required(TILL_PERMISSION, raise_exception=True)
@require_GET
def till_sale_page(request, number: str):
    """The sale just made: the change to give, what was sold, Print receipt and New sale."""
    order, store = _till_sale(request, number)
    return render(request, "orders/till_sale.html", {"order": order, "store": store, "payment": order.payment})


@staff_member_required
@permission_required(TILL_PERMISSION, raise_exception=True)
@require_GET
def till_receipt(request, number: str):
    """The receipt for an 80 mm till printer; ?print=1 opens the print dialog as it loads."""
    order, store = _till_sale(request, number)
    bands = order_tax_summary(order=order)
    tax = sum((band.tax for band in bands), Decimal("0"))
    return render(request, "orders/till_receipt.html", {
        "order": order, "store": store, "payment": order.payment, "bands": bands, "tax": tax,
        "vat_number": settings.SHOP_VAT_NUMBER, "print": request.GET.get("print") == "1",
    })
