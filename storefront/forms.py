"""The storefront's forms: what a shopper may type on each page, checked before any service is called,
with every message attached to the field it is about."""
from datetime import date

from django import forms
from django.core.validators import RegexValidator
from django.utils.formats import date_format

from core.phones import PhoneFormField
from core.templatetags.money import miles
from customers.services import MAX_LINE_QUANTITY
from inventory.models import Location
from orders.models import Payment
from orders.selectors import PickupOption

POSTCODE = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,14}$", "Enter a postcode, e.g. W1C 1DA.")
MOBILE_HELP = "For a text when an order is ready to collect or on its way."
PASSWORD_HELP = "At least 8 characters; not only numbers, not a common password."
EMAIL_ERRORS = {"required": "Enter your email address.", "invalid": "Enter an email address like name@example.com."}


class AddToCartForm(forms.Form):
    """Add the variant the product page's picker names: the view passes it as `chosen` (its options, else
    the SKU, named it among this product's; None when they name none) or the `problem` with the choice
    ("That colour is not made in that size…"); cleaned_data["variant"] is what to add."""

    sku = forms.CharField(label="Size and colour", required=False)
    quantity = forms.IntegerField(label="Quantity", min_value=1, max_value=MAX_LINE_QUANTITY, initial=1,
                                  error_messages={"min_value": f"Choose a whole number from 1 to {MAX_LINE_QUANTITY}.",
                                                  "max_value": f"Choose a whole number from 1 to {MAX_LINE_QUANTITY}.",
                                                  "invalid": f"Choose a whole number from 1 to {MAX_LINE_QUANTITY}.",
                                                  "required": "Say how many you want."})

    def __init__(self, *args, chosen=None, problem: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.chosen, self.problem = chosen, problem

    @classmethod
    def for_choice(cls, *, sku: str, query) -> "AddToCartForm":
        """The empty form for the chosen SKU, keeping a sensible quantity that came back with the choice."""
        try:
            quantity = cls.base_fields["quantity"].clean(query.get("quantity") or 1)
        except forms.ValidationError:
            quantity = 1
        return cls(initial={"sku": sku, "quantity": quantity})

    def clean(self):
        data = super().clean()
        if self.problem:
            self.add_error("sku", self.problem)
        elif self.chosen is None:
            self.add_error("sku", "That size and colour is not sold online; choose another." if data.get("sku")
                           else "Choose a size and colour first.")
        else:
            data["variant"] = self.chosen
        return data


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(label="Quantity", min_value=1, max_value=MAX_LINE_QUANTITY,
                                  error_messages={"min_value": f"Choose a whole number from 1 to {MAX_LINE_QUANTITY}.",
                                                  "max_value": f"Choose a whole number from 1 to {MAX_LINE_QUANTITY}.",
                                                  "invalid": f"Choose a whole number from 1 to {MAX_LINE_QUANTITY}.",
                                                  "required": "Say how many you want."})


class NearForm(forms.Form):
    """Where the shopper is: the browser's location (latitude/longitude) or a typed postcode or town."""

    near = forms.CharField(label="Postcode or town", max_length=60, required=False)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)


class SignInForm(forms.Form):
    email = forms.EmailField(label="Email", error_messages=EMAIL_ERRORS)
    password = forms.CharField(label="Password", widget=forms.PasswordInput,
                               error_messages={"required": "Enter your password."})


class RegisterForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=80, required=False)
    last_name = forms.CharField(label="Last name", max_length=80, required=False)
    email = forms.EmailField(label="Email", error_messages=EMAIL_ERRORS)
    phone = PhoneFormField(label="Mobile number (optional)", required=False, help_text=MOBILE_HELP)
    password = forms.CharField(label="Password", widget=forms.PasswordInput, help_text=PASSWORD_HELP,
                               error_messages={"required": "Choose a password."})
    email_consent = forms.BooleanField(label="Email me news and offers (you can change this any time)", required=False)
    sms_consent = forms.BooleanField(label="Text me news and offers at my mobile number", required=False)

    def clean(self):
        data = super().clean()
        if data.get("sms_consent") and not data.get("phone"):
            self.add_error("phone", "Give your mobile number to get texts, or untick the box for texts.")
        return data


class DetailsForm(forms.Form):
    """The shopper's name and mobile number, as their account keeps them."""

    first_name = forms.CharField(label="First name", max_length=80, required=False)
    last_name = forms.CharField(label="Last name", max_length=80, required=False)
    phone = PhoneFormField(label="Mobile number (optional)", required=False, help_text=MOBILE_HELP)


class PasswordResetForm(forms.Form):
    """The email of the account whose password was forgotten."""

    email = forms.EmailField(label="Email", error_messages=EMAIL_ERRORS)


class NewPasswordForm(forms.Form):
    """A new password typed twice; what Django's password validators say of it comes back from the service and
    is put next to it."""

    password = forms.CharField(label="New password", help_text=PASSWORD_HELP,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               error_messages={"required": "Choose a new password."})
    password_again = forms.CharField(label="New password again",
                                     widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                     error_messages={"required": "Type the new password again."})

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", "This is not the same as the new password above; type it again.")
        return data


class PasswordChangeForm(NewPasswordForm):
    """The current password, then the new one twice."""

    current_password = forms.CharField(label="Current password",
                                       widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                                       error_messages={"required": "Enter your current password."})
    field_order = ["current_password", "password", "password_again"]


class ConsentForm(forms.Form):
    email = forms.BooleanField(label="Email", required=False)
    sms = forms.BooleanField(label="Text messages (SMS)", required=False)
    messenger = forms.BooleanField(label="Messenger", required=False)


class AddressForm(forms.Form):
    label = forms.CharField(label="Name this address (e.g. Home, Work)", max_length=40, required=False)
    recipient = forms.CharField(label="Full name", max_length=160,
                                error_messages={"required": "Enter the name of the person receiving the parcel."})
    line1 = forms.CharField(label="Address line 1", max_length=200,
                            error_messages={"required": "Enter the first line of the address."})
    line2 = forms.CharField(label="Address line 2 (optional)", max_length=200, required=False)
    city = forms.CharField(label="Town or city", max_length=100, error_messages={"required": "Enter the town or city."})
    postcode = forms.CharField(label="Postcode", max_length=16, validators=[POSTCODE],
                               error_messages={"required": "Enter the postcode."})
    country = forms.ChoiceField(label="Country", choices=[("GB", "United Kingdom")], initial="GB")
    phone = PhoneFormField(label="Phone (optional)", required=False)
    is_default = forms.BooleanField(label="Use this address by default", required=False)

    def clean_postcode(self):
        return " ".join(self.cleaned_data["postcode"].upper().split())


class StoreSelect(forms.Select):
    """The store list, with the stores that cannot have the basket shown but not choosable."""

    unavailable: frozenset = frozenset()

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if str(value) in self.unavailable:
            option["attrs"]["disabled"] = True
        return option


def pickup_said(option: PickupOption, today: date) -> str:
    """When the whole basket can be collected at the store, in the shopper's words."""
    if option.collect_from is None:
        return "Not available here"
    when = "today" if option.collect_from <= today else f"from {date_format(option.collect_from, 'l j F')}"
    return f"In stock — collect {when}" if option.all_there else f"Collect {when}"


class CheckoutForm(forms.Form):
    """The checkout as one form. Card details never reach this server: the page's script sends them to
    Stripe and puts the PaymentMethod id it gets back in `payment_method_id`."""

    PICKUP, DELIVERY = "pickup", "delivery"
    ADDRESS_FIELDS = ("name", "line1", "city", "postcode")

    fulfilment = forms.ChoiceField(label="How do you want it?", widget=forms.RadioSelect,
                                   choices=[(PICKUP, "Collect from a store (free)"), (DELIVERY, "Deliver to an address")],
                                   error_messages={"required": "Choose collection from a store or delivery."})
    store = forms.ChoiceField(label="Store to collect from", required=False, widget=StoreSelect)
    collect_window = forms.CharField(label="Collection time (optional)", max_length=40, required=False)
    collector_name = forms.CharField(label="Someone else collecting? Their name (optional)", max_length=120,
                                     required=False,
                                     help_text="They show the pickup code at the counter. Leave it empty if you "
                                               "collect it yourself.")
    saved_address = forms.ChoiceField(label="Deliver to", required=False)
    name = forms.CharField(label="Full name", max_length=160, required=False)
    line1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    line2 = forms.CharField(label="Address line 2 (optional)", max_length=200, required=False)
    city = forms.CharField(label="Town or city", max_length=100, required=False)
    postcode = forms.CharField(label="Postcode", max_length=16, required=False, validators=[POSTCODE])
    country = forms.ChoiceField(label="Country", choices=[("GB", "United Kingdom")], initial="GB", required=False)
    delivery_method = forms.CharField(label="Delivery option", max_length=32, required=False)
    email = forms.EmailField(label="Email for the confirmation", max_length=254,
                             error_messages={"required": "Give an email address for the order confirmation.",
                                             "invalid": "Enter an email address like name@example.com."})
    phone = PhoneFormField(label="Mobile number (optional, for a text when it is ready)", required=False)
    voucher = forms.CharField(label="Voucher code (optional)", max_length=32, required=False)
    payment_method = forms.ChoiceField(label="How do you want to pay?", widget=forms.RadioSelect,
                                       choices=[(Payment.Method.CARD, "Card, now"),
                                                (Payment.Method.PAY_AT_PICKUP, "Pay when you collect")],
                                       error_messages={"required": "Choose how to pay."})
    payment_method_id = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput,
                                      error_messages={"required": "The form expired; please submit it again."})

    def __init__(self, *args, stores=(), addresses=(), placing: bool = True, **kwargs):
        """`placing=False` checks only what is needed to quote the order (no payment, no delivery choice)."""
        super().__init__(*args, **kwargs)
        self.placing = placing
        self.fields["store"].choices = [("", "Choose a store")] + [(s.code, f"{s.name} — {s.city}") for s in stores]
        self.fields["saved_address"].choices = [("", "A new address (below)")] + [
            (str(a.pk), f"{a.label + ': ' if a.label else ''}{a}") for a in addresses]
        if not addresses:
            del self.fields["saved_address"]
        if not placing:
            for name in ("email", "payment_method", "idempotency_key"):
                self.fields[name].required = False

    def describe_stores(self, options: list[PickupOption], today: date, where: str = "") -> None:
        """Each store in the list says how far it is and when it can have the whole basket; a store that cannot
        have it is shown but cannot be chosen. Stores nearest first when `where` (the shopper's point) is known."""
        described = {option.store.code: option for option in options}
        field = self.fields["store"]
        rest = [(code, label) for code, label in field.choices[1:] if code not in described]
        field.choices = [field.choices[0]] + [
            (code, " · ".join(part for part in (f"{option.store.name} — {option.store.city}",
                                                miles(option.distance_km), pickup_said(option, today)) if part))
            for code, option in described.items()] + rest
        field.widget.unavailable = frozenset(code for code, option in described.items() if option.collect_from is None)
        if where:
            field.help_text = f"Nearest first from {where}."

    def clean(self):
        data = super().clean()
        fulfilment = data.get("fulfilment")
        if fulfilment == self.PICKUP:
            if not data.get("store"):
                self.add_error("store", "Choose the store to collect from.")
        elif fulfilment == self.DELIVERY:
            if not data.get("saved_address"):
                missing = {"name": "Enter the name of the person receiving the parcel.",
                           "line1": "Enter the first line of the address.", "city": "Enter the town or city.",
                           "postcode": "Enter the postcode."}
                for field, message in missing.items():
                    if not data.get(field) and field not in self.errors:
                        self.add_error(field, message)
            if self.placing and not data.get("delivery_method"):
                self.add_error("delivery_method", "Choose a delivery option.")
            if self.placing and data.get("payment_method") == Payment.Method.PAY_AT_PICKUP:
                self.add_error("payment_method", "Pay at pickup is only for orders collected in store.")
        if self.placing and data.get("payment_method") == Payment.Method.CARD and not data.get("payment_method_id"):
            self.add_error("payment_method_id", "Enter your card details.")
        if data.get("postcode"):
            data["postcode"] = " ".join(data["postcode"].upper().split())
        return data


def pickup_stores():
    return Location.objects.active().stores().filter(offers_pickup=True).order_by("name")


class ReturnForm(forms.Form):
    """One quantity and reason per line that can still be returned."""

    REASONS = [("", "Choose a reason"), ("Does not fit", "Does not fit"), ("Not as described", "Not as described"),
               ("Arrived damaged", "Arrived damaged"), ("Changed my mind", "Changed my mind")]

    def __init__(self, *args, returnable=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = []
        for line, can in returnable:
            quantity = forms.TypedChoiceField(label=f"How many of {line.name} to return", coerce=int, initial=0,
                                              choices=[(n, str(n)) for n in range(0, can + 1)])
            reason = forms.ChoiceField(label=f"Why are you returning {line.name}?", choices=self.REASONS,
                                       required=False)
            self.fields[f"quantity_{line.pk}"], self.fields[f"reason_{line.pk}"] = quantity, reason
            self.rows.append((line, can, f"quantity_{line.pk}", f"reason_{line.pk}"))

    def bound_rows(self):
        return [(line, can, self[q], self[r]) for line, can, q, r in self.rows]

    def clean(self):
        data = super().clean()
        chosen = {}
        for line, _, quantity, reason in self.rows:
            units = data.get(quantity) or 0
            if units:
                if not data.get(reason):
                    self.add_error(reason, "Tell us why, so we can do better.")
                chosen[line.pk] = (units, data.get(reason, ""))
        if not chosen and not self.errors:
            raise forms.ValidationError("Choose at least one item to return.")
        data["lines"] = chosen
        return data


class ArrivalForm(forms.Form):
    """The shopper saying "I'm here" at the store, with where to find them if they like."""

    fulfillment = forms.IntegerField(widget=forms.HiddenInput)
    bay = forms.CharField(label="Bay number (optional)", max_length=20, required=False)
    car = forms.CharField(label="Your car (optional)", max_length=120, required=False,
                          help_text="So we can find you, e.g. blue Golf.")


class CollectorForm(forms.Form):
    """Who collects a pickup order: someone else by name, or (empty) the shopper."""

    collector_name = forms.CharField(label="Someone else collecting? Their name", max_length=120, required=False,
                                     help_text="They show the pickup code at the counter. Leave it empty to collect "
                                               "it yourself.")
