"""Who is asking: the customer behind a request and their one open cart, for every face that serves
shoppers (the API and the web pages). A guest's cart is named by the X-Cart-Token header (apps) or
remembered by the browser session (web); a signed-in shopper always gets their own open cart."""
import uuid

from django.db import connection
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied

from catalog.models import Channel
from core.selects import columns, instances

from . import services
from .models import Cart, Customer

CART_TOKEN_HEADER = "X-Cart-Token"
SESSION_CART_KEY = "cart_token"
CART_TOKEN_PARAM = OpenApiParameter(CART_TOKEN_HEADER, str, OpenApiParameter.HEADER, description="A guest's cart token.")


def customer_of(request) -> Customer:
    """The signed-in customer, or the API's 401/403 when there is none."""
    if not request.user.is_authenticated:
        raise AuthenticationFailed("Sign in first.")
    customer = getattr(request.user, "customer", None)
    if customer is None:
        raise PermissionDenied("This login has no customer profile.")
    return customer


def _open_guest_cart(token: object) -> Cart | None:
    try:
        token = uuid.UUID(str(token or "").strip())
    except ValueError:
        return None
    found = instances(f"SELECT {columns(Cart, 'c')} FROM {Cart._meta.db_table} c WHERE c.token = %s"
                      " AND c.customer_id IS NULL AND c.status = %s",
                      [Cart._meta.get_field("token").get_db_prep_value(token, connection), Cart.Status.OPEN], Cart)
    return found[0][0] if found else None


def session_guest_cart(request) -> Cart | None:
    """The open guest cart this browser's session remembers (web pages never read the header)."""
    return _open_guest_cart(request.session.get(SESSION_CART_KEY))


def guest_cart(request) -> Cart | None:
    """The open guest cart named by the header, else remembered by the session. A token that names no open
    cart (merged at sign-in, ordered, or never ours) is ignored, as if none were sent: the app starts afresh
    and the answer carries the new cart's token."""
    header = request.headers.get(CART_TOKEN_HEADER)
    return _open_guest_cart(header) if header else session_guest_cart(request)


def remember_guest_cart(request, cart: Cart) -> None:
    request.session[SESSION_CART_KEY] = str(cart.token)


def forget_guest_cart(request) -> None:
    request.session.pop(SESSION_CART_KEY, None)


def guest_cart_key(request) -> str:
    """What names a guest's cart in this request (header or session): the owner of an idempotency key."""
    return request.headers.get(CART_TOKEN_HEADER) or request.session.get(SESSION_CART_KEY, "")


def current_cart(request, channel: Channel, create: bool = False) -> Cart | None:
    """The API's cart for this request: the signed-in customer's (opened on first use), else the guest's named
    by the header or the session; with `create`, a guest without one gets a new cart."""
    if request.user.is_authenticated:
        return services.cart_open_for_customer(customer=customer_of(request), channel=channel)
    cart = guest_cart(request)
    if cart is None and create:
        cart = services.cart_create_guest(channel=channel)
        remember_guest_cart(request, cart)
    return cart
