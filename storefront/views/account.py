"""The shopper's account: sign in and register (the guest cart is merged into the account's cart),
sign out, a forgotten password reset through an emailed link, every order from every channel (and the link
that adds orders placed as a guest) in the words of the order page, their name and mobile number, their
password, saved addresses and marketing consent."""
from functools import wraps

from django.contrib import messages
from django.contrib.auth import authenticate, logout, update_session_auth_hash
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.redirects import safe_next
from customers import services as customer_services
from customers.throttles import auth_attempt_allowed
from orders.claims import claim_outcome, guest_orders_claim
from orders.exceptions import ClaimRefused
from orders.selectors import order_list

from ..forms import (
    AddressForm,
    ConsentForm,
    DetailsForm,
    NewPasswordForm,
    PasswordChangeForm,
    PasswordResetForm,
    RegisterForm,
    SignInForm,
)
from ..order_status import order_status_said
from ..shopper import REFUSALS, add_errors, customer_for, field_errors, sign_in, web_channel


def _slowed_down(request, form, template: str):
    """A 429 page with the form when sign-in and registration attempts from here, or against this account,
    have used up the API's limits (each POST counts); None otherwise."""
    if request.method != "POST" or auth_attempt_allowed(request):
        return None
    form.is_valid()
    form.add_error(None, "Too many attempts from here or for this account; wait a while and try again.")
    return render(request, template, {"form": form, "next": safe_next(request, "")}, status=429)


def customer_required(view):
    """Signed-in shoppers only; others are sent to sign in and brought back."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse('storefront:sign-in')}?{urlencode({'next': request.get_full_path()})}")
        if customer_for(request) is None:
            return render(request, "storefront/account/no_profile.html", status=403)
        return view(request, *args, **kwargs)
    return wrapped


@require_http_methods(["GET", "POST"])
def sign_in_page(request):
    form = SignInForm(request.POST if request.method == "POST" else None)
    if slowed := _slowed_down(request, form, "storefront/account/sign_in.html"):
        return slowed
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, username=form.cleaned_data["email"].lower(),
                            password=form.cleaned_data["password"])
        if user is None:
            form.add_error("password", "That email and password do not match an account.")
        else:
            sign_in(request, user)
            messages.success(request, "You are signed in.")
            return redirect(safe_next(request, reverse("storefront:account")))
    return render(request, "storefront/account/sign_in.html", {"form": form, "next": safe_next(request, "")},
                  status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def register_page(request):
    form = RegisterForm(request.POST if request.method == "POST" else None)
    if slowed := _slowed_down(request, form, "storefront/account/register.html"):
        return slowed
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        web = web_channel()
        try:
            customer = customer_services.customer_register(
                email=data["email"], password=data["password"], channel=web, first_name=data["first_name"],
                last_name=data["last_name"], phone=data["phone"])
        except REFUSALS as refusal:
            add_errors(form, field_errors(refusal, fields={"email": "email", "password": "password"}))
        else:
            if data["email_consent"] or data["sms_consent"]:
                customer_services.customer_set_consent(customer=customer, channel=web, email=data["email_consent"],
                                                       sms=data["sms_consent"])
            sign_in(request, customer.user)
            messages.success(request, "Welcome! Your account is ready.")
            return redirect(safe_next(request, reverse("storefront:account")))
    return render(request, "storefront/account/register.html", {"form": form, "next": safe_next(request, "")},
                  status=400 if form.errors else 200)


@require_POST
def sign_out(request):
    logout(request)
    messages.success(request, "You are signed out.")
    return redirect("storefront:home")


@require_http_methods(["GET", "POST"])
def password_reset(request):
    """A forgotten password: the shopper gives their email and is emailed a link to choose a new one. The
    answer is the same whether or not the email has an account; asking is limited like signing in."""
    form = PasswordResetForm(request.POST if request.method == "POST" else None)
    if slowed := _slowed_down(request, form, "storefront/account/password_reset.html"):
        return slowed
    if request.method == "POST" and form.is_valid():
        customer_services.password_reset_request(email=form.cleaned_data["email"])
        messages.success(request, customer_services.RESET_ASKED)
        return redirect("storefront:password-reset")
    return render(request, "storefront/account/password_reset.html", {"form": form},
                  status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def password_reset_confirm(request, uid: str, token: str):
    """The emailed link: a new password, typed twice. Once it is set, every session and app token of the
    login ends and the shopper signs in with it; a link that is wrong, used or expired says so (400)."""
    if customer_services.password_reset_login(uid=uid, token=token) is None:
        return render(request, "storefront/account/password_reset_invalid.html",
                      {"refusal": customer_services.RESET_LINK_REFUSED}, status=400)
    form = NewPasswordForm(request.POST if request.method == "POST" else None)
    if slowed := _slowed_down(request, form, "storefront/account/password_reset_confirm.html"):
        return slowed
    if request.method == "POST" and form.is_valid():
        try:
            customer_services.password_reset_confirm(uid=uid, token=token, password=form.cleaned_data["password"])
        except REFUSALS as refusal:
            add_errors(form, field_errors(refusal, fields={"password": "password"}))
        else:
            messages.success(request, "Your password is changed. Sign in with your new password.")
            return redirect("storefront:sign-in")
    return render(request, "storefront/account/password_reset_confirm.html", {"form": form},
                  status=400 if form.errors else 200)


@customer_required
def account(request):
    """Every order of the customer's, each with the phrase its order page shows (fulfilments prefetched)."""
    customer = customer_for(request)
    orders = order_list(customer=customer).prefetch_related("fulfillments")[:100]
    return render(request, "storefront/account/orders.html", {
        "customer": customer, "orders": [(order, order_status_said(order, order.fulfillments.all()))
                                         for order in orders],
    })


@customer_required
@require_GET
def claim_orders(request, token: str):
    """The link emailed to a customer who once ordered as a guest: following it joins those orders to the
    account and shows them on the orders page; a link that cannot be followed is a 400 saying why."""
    try:
        orders = guest_orders_claim(customer=customer_for(request), token=token)
    except ClaimRefused as refusal:
        return render(request, "storefront/account/claim_refused.html", {"refusal": refusal}, status=400)
    messages.success(request, claim_outcome(orders))
    return redirect("storefront:account")


@customer_required
@require_http_methods(["GET", "POST"])
def details(request):
    """The shopper's name and mobile number: seen, and changed."""
    customer = customer_for(request)
    form = DetailsForm(request.POST if request.method == "POST" else None,
                       initial={name: getattr(customer, name) for name in DetailsForm.base_fields})
    if request.method == "POST" and form.is_valid():
        customer_services.customer_update(customer=customer, channel=web_channel(), **form.cleaned_data)
        messages.success(request, "Your details are saved.")
        return redirect("storefront:details")
    return render(request, "storefront/account/details.html", {"form": form, "customer": customer},
                  status=400 if form.errors else 200)


@customer_required
@require_http_methods(["GET", "POST"])
def password_change(request):
    """A new password, proven by the current one. This browser stays signed in; every other session and app
    token of the login ends. Attempts are limited like signing in."""
    form = PasswordChangeForm(request.POST if request.method == "POST" else None)
    if slowed := _slowed_down(request, form, "storefront/account/password_change.html"):
        return slowed
    if request.method == "POST" and form.is_valid():
        try:
            user = customer_services.customer_change_password(
                user=request.user, current_password=form.cleaned_data["current_password"],
                password=form.cleaned_data["password"])
        except REFUSALS as refusal:
            add_errors(form, field_errors(refusal, fields={"current_password": "current_password",
                                                           "password": "password"}))
        else:
            update_session_auth_hash(request, user)
            messages.success(request, "Your password is changed. You are still signed in here; anywhere else "
                                      "(another browser, the app) signs in again with the new password.")
            return redirect("storefront:password-change")
    return render(request, "storefront/account/password_change.html", {"form": form},
                  status=400 if form.errors else 200)


@customer_required
@require_http_methods(["GET", "POST"])
def addresses(request):
    customer = customer_for(request)
    form = AddressForm(request.POST if request.method == "POST" else None, initial={"recipient": customer.full_name})
    if request.method == "POST" and form.is_valid():
        customer_services.address_save(customer=customer, **form.cleaned_data)
        messages.success(request, "Address saved.")
        return redirect("storefront:addresses")
    return render(request, "storefront/account/addresses.html", {
        "customer": customer, "addresses": customer.addresses.all(), "form": form,
    }, status=400 if form.errors else 200)


@customer_required
@require_http_methods(["GET", "POST"])
def address_edit(request, pk: int):
    customer = customer_for(request)
    address = customer.addresses.filter(pk=pk).first()
    if address is None:
        return render(request, "404.html", {"message": "No such address in your account."}, status=404)
    if request.method == "POST" and request.POST.get("action") == "delete":
        customer_services.address_delete(address=address)
        messages.success(request, "Address deleted.")
        return redirect("storefront:addresses")
    initial = {name: getattr(address, name) for name in AddressForm.base_fields}
    form = AddressForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        customer_services.address_save(customer=customer, address=address, **form.cleaned_data)
        messages.success(request, "Address saved.")
        return redirect("storefront:addresses")
    return render(request, "storefront/account/address_edit.html", {"form": form, "address": address},
                  status=400 if form.errors else 200)


@customer_required
@require_http_methods(["GET", "POST"])
def consent(request):
    customer = customer_for(request)
    form = ConsentForm(request.POST if request.method == "POST" else None,
                       initial={name: customer.consents_to(name) for name in ("email", "sms", "messenger")})
    if request.method == "POST" and form.is_valid():
        customer_services.customer_set_consent(customer=customer, channel=web_channel(), **form.cleaned_data)
        messages.success(request, "Your choices are saved.")
        return redirect("storefront:consent")
    return render(request, "storefront/account/consent.html", {"form": form, "customer": customer})
