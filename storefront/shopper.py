"""Who is shopping in this browser: their channel (web), their one cart (a signed-in customer's, or the
guest cart the session remembers), the store they chose, and turning service refusals into field errors."""
from django.contrib import messages
from django.contrib.auth import login
from rest_framework.exceptions import ValidationError

from catalog.models import Channel
from catalog.selectors import channel_named
from core.exceptions import DomainError
from customers import services as customer_services
from customers.attribution import visitor_of
from customers.identity import forget_guest_cart, remember_guest_cart, session_guest_cart
from customers.models import Cart, Customer
from inventory.models import Location

SESSION_STORE_KEY = "storefront_store"
SESSION_POINT_KEY = "storefront_point"
NON_FIELD = "__all__"
REFUSALS = (DomainError, ValidationError)  # what services raise when a rule says no; nothing was changed


def web_channel() -> Channel:
    return channel_named(Channel.WEB)


def customer_for(request) -> Customer | None:
    if not request.user.is_authenticated:
        return None
    return getattr(request.user, "customer", None)


def cart_for(request, *, create: bool = False) -> Cart | None:
    """This browser's open cart: the customer's one cart when signed in, else the session's guest cart."""
    channel = web_channel()
    customer = customer_for(request)
    if customer is not None:
        if create:
            return customer_services.cart_open_for_customer(customer=customer, channel=channel)
        return Cart.objects.filter(customer=customer, status=Cart.Status.OPEN).first()
    cart = session_guest_cart(request)
    if cart is None and create:
        cart = customer_services.cart_create_guest(channel=channel)
        remember_guest_cart(request, cart)
    return cart


def chosen_store(request) -> Location | None:
    """The store the shopper picked (this session, or their account's preferred store)."""
    code = request.session.get(SESSION_STORE_KEY)
    if not code:
        customer = customer_for(request)
        if customer is not None and customer.preferred_store_id:
            code = customer.preferred_store.code
    if not code:
        return None
    return Location.objects.active().stores().filter(code=code).first()


def sign_in(request, user) -> None:
    """Sign the browser in and fold its guest cart into the customer's one cart, telling the shopper
    about anything that could not be carried over (customer_sign_in caps by what can be supplied)."""
    guest = session_guest_cart(request)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    forget_guest_cart(request)
    customer = getattr(user, "customer", None)
    if customer is None:
        return
    _, notes = customer_services.customer_sign_in(customer=customer, channel=web_channel(), guest_cart=guest,
                                                  visitor=visitor_of(request))
    for note in notes:
        level = messages.SUCCESS if note.kept == note.wanted else messages.WARNING
        messages.add_message(request, level, note.message)


def field_errors(exc: Exception, *, fields: dict[str, str] | None = None, default: str = NON_FIELD) -> dict[str, list[str]]:
    """A service's refusal as {form field: [messages]}. `fields` maps the service's field names to the
    form's; anything without a known field goes to `default` (the top of the form)."""
    fields = fields or {}
    found: dict[str, list[str]] = {}
    if isinstance(exc, ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {default: exc.detail}
        for name, problems in detail.items():
            problems = problems if isinstance(problems, list) else [problems]
            found.setdefault(fields.get(name, default), []).extend(str(p) for p in problems)
    elif isinstance(exc, DomainError):
        name = exc.detail.get("field", "")
        found.setdefault(fields.get(name, default), []).append(exc.message)
    else:
        raise exc
    return found


def add_errors(form, errors: dict[str, list[str]]) -> None:
    for name, problems in errors.items():
        for problem in problems:
            form.add_error(None if name == NON_FIELD or name not in form.fields else name, problem)
