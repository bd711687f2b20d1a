"""Phone numbers as the shop keeps them: read with the phonenumbers library in the shop's region (PHONE_REGION,
the UK by default), refused unless valid, and stored in E.164 (+447700900123), one spelling per number, so
"07700 900123", "+44 (0)7700 900123" and "0044 7700-900123" are one phone and a search is one exact, indexable
match. A form field and an API field check every number that comes in."""
import phonenumbers
from django import forms
from django.conf import settings
from rest_framework import serializers, status

from .exceptions import DomainError

DEFAULT_REGION = "GB"
NOT_A_NUMBER = "That is not a valid phone number."
INTERNATIONAL = (phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN,
                 phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD)
# Ofcom keeps 07700 900000 to 900999 for drama and demos: real UK mobile numbers that never ring anyone.
# libphonenumber calls them unallocated; the shop accepts them, so its examples, demo data and tests can use them.
DRAMA_MOBILES = "+447700900"


class PhoneInvalid(DomainError):
    """What was typed as a phone number is not one the shop can text."""

    code = "phone_invalid"
    http_status = status.HTTP_400_BAD_REQUEST


def phone_region() -> str:
    return getattr(settings, "PHONE_REGION", DEFAULT_REGION)


def _how_to_write(region: str) -> str:
    local = "a UK number like 07700 900123" if region == "GB" else f"a number as dialled in {region}"
    return f"Enter {local}, or an international one starting with + and the country code."


def phone_parse(text: str, *, field: str = "phone") -> str:
    """The number `text` spells, in E.164. A number without a country code is read as dialled in the shop's
    region; one that is not valid there (a foreign number without its code, a digit short) is refused with
    how to write it, and an international one that is not valid as not a phone number."""
    region = phone_region()
    try:
        number = phonenumbers.parse(text, region, keep_raw_input=True)
    except phonenumbers.NumberParseException as exc:
        raise PhoneInvalid(_how_to_write(region), field=field) from exc
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.is_valid_number(number) or (e164.startswith(DRAMA_MOBILES) and len(e164) == 13):
        return e164
    if number.country_code_source in INTERNATIONAL:
        raise PhoneInvalid(NOT_A_NUMBER, field=field)
    raise PhoneInvalid(_how_to_write(region), field=field)


def phone_or_blank(text: str, *, field: str = "phone") -> str:
    """An optional phone: "" when nothing was typed, else the number in E.164 (PhoneInvalid if it is not one)."""
    return phone_parse(text, field=field) if text.strip() else ""


def phone_in(text: str) -> str | None:
    """The number in E.164 when what was typed in a search box is a valid phone number, else None (a name, an
    email, an order number or a pickup code)."""
    try:
        return phone_parse(text)
    except PhoneInvalid:
        return None


class PhoneInput(forms.TextInput):
    input_type = "tel"


class PhoneFormField(forms.CharField):
    """A phone number on a form, cleaned to E.164; what is not one is refused next to the field."""

    widget = PhoneInput

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        try:
            return phone_parse(value)
        except PhoneInvalid as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "autocomplete": "tel"}


class PhoneSerializerField(serializers.CharField):
    """A phone number in an API body, stored and returned in E.164; what is not one is refused naming the field."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "A phone number: a UK one as dialled (07700 900123) or any with + and the "
                                       "country code. Stored and returned in E.164, e.g. +447700900123.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return phone_parse(super().to_internal_value(data))
        except PhoneInvalid as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from exc


def stored_phones_to_e164(apps, *, fields: list[tuple[str, str]], batch: int = 1000) -> None:
    """For data migrations: rewrite each stored phone of every ("app.Model", field) in E.164 where it is a valid
    number; a value that is not (legacy free text) is left as it was. Reads and writes `batch` rows at a time."""
    for label, field in fields:
        model = apps.get_model(label)
        rows = model.objects.exclude(**{field: ""}).order_by("pk").values_list("pk", field)
        last = None
        while chunk := list((rows if last is None else rows.filter(pk__gt=last))[:batch]):
            changed = [model(pk=pk, **{field: e164}) for pk, stored in chunk
                       if (e164 := phone_in(stored)) is not None and e164 != stored]
            model.objects.bulk_update(changed, [field])
            last = chunk[-1][0]
