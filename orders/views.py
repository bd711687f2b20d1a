"""The till: a page for store staff to sell across the counter, built on the same till_quote and till_sale
the staff API uses. Scan (or type) a SKU or barcode, see every line with its price and VAT and the total
before taking payment, take cash or a card on the terminal, and print the receipt.

The basket lives in the session, per member of staff: [(sku, quantity), ...] and the till's store. The
page needs orders.sell_at_till (store staff and managers have it); a user without it gets 403.
"""
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from catalog.models import Variant
from catalog.selectors import variant_by_code
from core.exceptions import DomainError
from customers.models import Customer
from inventory.models import Location
from inventory.selectors import locations_for_staff

from . import services
from .models import Payment
from .selectors import order_link

TILL_PERMISSION = "orders.sell_at_till"
BASKET = "till_basket"


def _tills(user) -> list[Location]:
    return list(locations_for_staff(user).active().filter(sells_in_store=True).order_by("name"))


def _basket(request) -> list[list]:
    return request.session.get(BASKET, [])


def _save(request, basket: list[list]) -> None:
    request.session[BASKET] = basket


@staff_member_required
@permission_required(TILL_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def till_page(request):
    tills = _tills(request.user)
    chosen = request.POST.get("store") or request.GET.get("store") or request.session.get("till_store")
    store = next((s for s in tills if s.code == chosen), tills[0] if len(tills) == 1 else None)
    if store is not None and request.session.get("till_store") != store.code:
        request.session["till_store"] = store.code
        _save(request, [])  # another till, another basket
    basket, errors, status = _basket(request), {}, 200
    if request.method == "POST" and store is None:
        errors["store"], status = "Choose the store this till is in.", 400
    elif request.method == "POST":
        action = request.POST.get("action", "")
        if action == "add" and _add(request, basket, errors):
            return redirect(f"{request.path}?store={store.code}")
        if action == "remove":
            _save(request, [line for line in basket if line[0] != request.POST.get("sku")])
            return redirect(f"{request.path}?store={store.code}")
        if action == "sell" and (sold := _sell(request, store, basket, errors)) is not None:
            _save(request, [])
            messages.success(request, f"Sale {sold.number} done: {sold.total_amount} {sold.currency} taken.")
            return redirect(order_link(sold, "storefront:order-receipt"))
        status = 400 if errors else 200
    quote = None
    if store is not None and basket:
        try:
            quote = services.till_quote(store=store, lines=_lines(basket))
        except DomainError as refusal:
            errors.setdefault("basket", refusal.message)
            status = 409 if status == 200 else status
    return render(request, "orders/till.html", {
        "tills": tills, "store": store, "quote": quote, "errors": errors, "basket": basket,
        "methods": [(Payment.Method.CASH, "Cash"), (Payment.Method.CARD_PRESENT, "Card on the terminal")],
        "code": request.POST.get("code", "") if errors.get("code") else "",
        "email": request.POST.get("customer_email", ""),
    }, status=status)


def _add(request, basket: list[list], errors: dict) -> bool:
    """Put the scanned code's variant in the basket (one line per SKU); False with the reason in `errors`."""
    code = request.POST.get("code", "").strip()
    quantity = request.POST.get("quantity", "1").strip() or "1"
    variant = variant_by_code(code=code)
    if variant is None:
        errors["code"] = f"Nothing has SKU or barcode {code!r}." if code else "Scan or type a SKU or barcode."
        return False
    if not quantity.isdigit() or not 1 <= int(quantity) <= 999:
        errors["quantity"] = "Enter a quantity from 1 to 999."
        return False
    line = next((line for line in basket if line[0] == variant.sku), None)
    if line is None:
        basket.append([variant.sku, int(quantity)])
    else:
        line[1] += int(quantity)
    _save(request, basket)
    return True


def _lines(basket: list[list]) -> list:
    """The basket's (variant with product, quantity) lines, in scan order: one query."""
    variants = Variant.objects.select_related("product").in_bulk([sku for sku, _ in basket], field_name="sku")
    return [(variants[sku], quantity) for sku, quantity in basket if sku in variants]


def _sell(request, store: Location, basket: list[list], errors: dict):
    """Take payment and record the sale; on a refusal, say why next to the field and change nothing."""
    if not basket:
        errors["basket"] = "Scan at least one item."
        return None
    method = request.POST.get("payment_method", "")
    if method not in (Payment.Method.CASH, Payment.Method.CARD_PRESENT):
        errors["payment_method"] = "Choose cash or card."
        return None
    customer = None
    email = request.POST.get("customer_email", "").strip()
    if email:
        customer = Customer.objects.filter(email__iexact=email).first()
        if customer is None:
            errors["customer_email"] = "No customer has that email; leave it empty to sell without one."
            return None
    try:
        return services.till_sale(store=store, lines=_lines(basket), staff=request.user, customer=customer,
                                  payment_method=method)
    except DomainError as refusal:
        errors["basket"] = refusal.message
        return None
