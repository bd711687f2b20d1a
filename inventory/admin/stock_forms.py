"""The stock forms: receive, adjust, mark unavailable and set safety stock at one (location, variant),
each run through its inventory.services function. STOCK_OPERATIONS lists them by URL slug.
"""
from django import forms
from django.core.exceptions import ValidationError

from catalog.models import Variant
from catalog.selectors import variant_by_code

from ..models import Location
from ..services import stock_adjust, stock_mark_unavailable, stock_receive, stock_set_safety_stock

# No single booking is larger; it also keeps a typo far below the database's integer limit.
MAX_UNITS = 1_000_000


class VariantCodeField(forms.CharField):
    """A SKU or barcode typed or scanned by staff, cleaned to the Variant it names."""

    def clean(self, value) -> Variant:
        code = super().clean(value)
        variant = variant_by_code(code=code)
        if variant is None:
            raise ValidationError(f"No variant has the SKU or barcode “{code}”.", code="unknown_variant")
        return variant


class StockOperationForm(forms.Form):
    """One stock change at one (location, variant); run() calls its service and says what changed."""

    title = ""
    required_css_class = "required"

    location = forms.ModelChoiceField(queryset=Location.objects.active())
    variant = VariantCodeField(label="SKU or barcode", max_length=64, help_text="Type or scan it.")

    def __init__(self, *args, locations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if locations is not None:
            self.fields["location"].queryset = locations.active()

    def run(self, *, actor) -> str:
        raise NotImplementedError


class ReceiveStockForm(StockOperationForm):
    title = "Receive stock"

    quantity = forms.IntegerField(min_value=1, max_value=MAX_UNITS, help_text="Units that arrived.")
    reference = forms.CharField(
        max_length=64, required=False, help_text="Delivery note or purchase order, e.g. PO-1042."
    )

    def run(self, *, actor) -> str:
        data = self.cleaned_data
        level = stock_receive(
            location=data["location"], variant=data["variant"], quantity=data["quantity"],
            reference=data["reference"], actor=actor,
        )
        return (
            f"Received {data['quantity']} × {data['variant'].sku} at {data['location'].code}; "
            f"on hand now {level.on_hand}."
        )


class AdjustStockForm(StockOperationForm):
    title = "Adjust stock"

    quantity = forms.IntegerField(
        label="Change in on hand", min_value=-MAX_UNITS, max_value=MAX_UNITS,
        help_text="Units to add, or a negative number to remove, e.g. -2.",
    )
    note = forms.CharField(label="Reason", max_length=200, help_text="Why the stock is corrected.")

    def clean_quantity(self) -> int:
        if self.cleaned_data["quantity"] == 0:
            raise ValidationError("An adjustment must add or remove at least one unit.", code="zero")
        return self.cleaned_data["quantity"]

    def run(self, *, actor) -> str:
        data = self.cleaned_data
        level = stock_adjust(
            location=data["location"], variant=data["variant"], delta=data["quantity"], note=data["note"],
            actor=actor,
        )
        return (
            f"Adjusted {data['variant'].sku} at {data['location'].code} by {data['quantity']:+d}; "
            f"on hand now {level.on_hand}."
        )


class MarkUnavailableForm(StockOperationForm):
    title = "Mark unavailable"

    quantity = forms.IntegerField(
        min_value=1, max_value=MAX_UNITS, help_text="Damaged or quarantined units: still on hand, no longer sold."
    )
    note = forms.CharField(max_length=200, required=False, help_text="What is wrong with them.")

    def run(self, *, actor) -> str:
        data = self.cleaned_data
        level = stock_mark_unavailable(
            location=data["location"], variant=data["variant"], quantity=data["quantity"], note=data["note"],
            actor=actor,
        )
        return (
            f"Marked {data['quantity']} × {data['variant'].sku} unavailable at {data['location'].code}; "
            f"available now {level.available}."
        )


class SetSafetyStockForm(StockOperationForm):
    title = "Set safety stock"

    quantity = forms.IntegerField(
        label="Safety stock", min_value=0, max_value=MAX_UNITS,
        help_text="Units kept back from online channels for walk-in shoppers; 0 keeps none back.",
    )

    def run(self, *, actor) -> str:
        data = self.cleaned_data
        level = stock_set_safety_stock(
            location=data["location"], variant=data["variant"], quantity=data["quantity"], actor=actor
        )
        return (
            f"Safety stock of {data['variant'].sku} at {data['location'].code} set to {level.safety_stock}; "
            f"{level.available_online} available online."
        )


STOCK_OPERATIONS = (
    ("receive", ReceiveStockForm),
    ("adjust", AdjustStockForm),
    ("mark-unavailable", MarkUnavailableForm),
    ("safety-stock", SetSafetyStockForm),
)
