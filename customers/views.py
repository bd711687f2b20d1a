"""The shopper's cart page on the website: the same cart as the app, opened from a reminder link too."""
from django.shortcuts import render

from catalog.models import Channel

from .models import Cart
from .selectors import cart_from_resume_link, cart_view


def cart_page(request):
    """Shows the cart a reminder link names, or this browser's own (signed-in or guest) cart."""
    web = Channel.objects.get(code=Channel.WEB)
    cart, needs_sign_in = None, False
    if request.GET.get("resume"):
        cart = cart_from_resume_link(request.GET["resume"])
        if cart is None or cart.status != Cart.Status.OPEN:
            return render(request, "storefront/cart.html", {"view": None, "gone": True}, status=404)
        if cart.customer_id is None:
            request.session["cart_token"] = str(cart.token)
        else:
            needs_sign_in = getattr(request.user, "customer", None) != cart.customer
    elif request.user.is_authenticated and getattr(request.user, "customer", None):
        cart = Cart.objects.filter(customer=request.user.customer, status=Cart.Status.OPEN).first()
    elif request.session.get("cart_token"):
        cart = Cart.objects.filter(token=request.session["cart_token"], customer__isnull=True,
                                   status=Cart.Status.OPEN).first()
    return render(request, "storefront/cart.html", {"view": cart_view(cart=cart, channel=web),
                                                    "needs_sign_in": needs_sign_in})
