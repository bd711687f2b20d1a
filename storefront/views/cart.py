"""The cart page: the same cart as the mobile app (guest or signed-in), opened from a reminder link
too; changing quantities and removing lines. Adding happens on the product page."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from catalog.images import product_images_attach
from customers import services as customer_services
from customers.identity import remember_guest_cart
from customers.models import Cart
from customers.selectors import cart_from_resume_link, cart_view
from orders.pricing import quote

from ..forms import QuantityForm
from ..shopper import REFUSALS, add_errors, cart_for, chosen_store, customer_for, field_errors, web_channel


@require_http_methods(["GET", "POST"])
def cart_page(request):
    """Shows the cart a reminder link names, or this browser's own (signed-in or guest) cart. A POST
    changes one line's quantity or removes it; a refusal is shown on that line and changes nothing."""
    web = web_channel()
    needs_sign_in, line_errors = False, {}
    if request.method == "POST":
        cart = cart_for(request)
        done = _change_line(request, cart, line_errors)
        if done:
            return redirect("storefront:cart")
    elif request.GET.get("resume"):
        cart = cart_from_resume_link(request.GET["resume"])
        if cart is None or cart.status != Cart.Status.OPEN:
            return render(request, "storefront/cart.html", {"view": None, "gone": True}, status=404)
        if cart.customer_id is None:
            remember_guest_cart(request, cart)
        else:
            needs_sign_in = customer_for(request) != cart.customer
    else:
        cart = cart_for(request)
    view = cart_view(cart=cart, channel=web)
    product_images_attach([l.line.variant.product for l in view.lines])
    return render(request, "storefront/cart.html", {
        "view": view, "vat": _vat(request, cart, view), "needs_sign_in": needs_sign_in, "line_errors": line_errors,
        "quantities": {k: request.POST.get("quantity") for k in line_errors},
    }, status=400 if line_errors else 200)


def _vat(request, cart: Cart | None, view):
    """The tax inside the basket's subtotal, at the rates of where it is going: the pickup store or the
    delivery address chosen on the cart, else the shopper's store, else the shop's own country (GB).
    Checkout works it out again, with the delivery, once the shopper has chosen."""
    priced = [(l.line.variant, l.line.quantity, l.unit_price) for l in view.lines if l.unit_price is not None]
    if not priced:
        return None
    place = (cart.pickup_store or (cart.delivery_address if cart.fulfilment == Cart.Fulfilment.DELIVERY else None)
             or chosen_store(request))
    return quote(lines=priced, currency=view.currency, tax_country=getattr(place, "country", "") or "GB").tax


def _change_line(request, cart: Cart | None, line_errors: dict) -> bool:
    line_id = request.POST.get("line", "")
    line = cart.lines.select_related("variant__product").filter(pk=line_id).first() if cart and line_id.isdigit() else None
    if line is None:
        messages.error(request, "That item is no longer in your basket.")
        return True
    web = web_channel()
    if request.POST.get("action") == "remove":
        customer_services.cart_remove_line(cart=cart, line=line, channel=web)
        messages.success(request, f"Removed {line.variant.name} from your basket.")
        return True
    form = QuantityForm(request.POST)
    if form.is_valid():
        try:
            customer_services.cart_set_quantity(cart=cart, line=line, quantity=form.cleaned_data["quantity"],
                                                channel=web)
        except REFUSALS as refusal:
            add_errors(form, field_errors(refusal, fields={"quantity": "quantity"}, default="quantity"))
    if form.errors:
        line_errors[line.pk] = [str(e) for e in form.errors.get("quantity", [])]
        return False
    messages.success(request, f"{line.variant.name}: quantity is now {form.cleaned_data['quantity']}.")
    return True
