"""Inventory back office: locations, the read-only stock and ledger views, the stock forms, and
transfers, counts and reservations, whose stock effects run only through inventory.services.

Store staff see and work on only the locations they staff (selectors.locations_for_staff): stock levels,
movements, counts and transfers (either end) of other stores are not listed, cannot be opened, and are
not offered in the forms. A store manager manages who works at their store through the Location page,
where, unless they are head office, the staff list is the only thing they can change.
"""
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from catalog.models import Variant
from catalog.selectors import variant_by_code
from core.exceptions import DomainError

from .models import (
    Location,
    Reservation,
    ReservationLine,
    StockCount,
    StockCountLine,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
)
from .selectors import ALL_LOCATIONS_PERMISSION, locations_for_staff
from .services import (
    reservation_release,
    stock_adjust,
    stock_count_cancel,
    stock_count_complete,
    stock_mark_unavailable,
    stock_receive,
    stock_set_safety_stock,
    transfer_cancel,
    transfer_receive,
    transfer_ship,
)

# Moving stock by hand needs this; StockLevel and StockMovement grant no change permission.
STOCK_PERMISSION = "inventory.add_stockmovement"
# No single booking is larger; it also keeps a typo far below the database's integer limit.
MAX_UNITS = 1_000_000


class StockPermissionMixin:
    """Lets actions declare allowed_permissions=("stock",)."""

    def has_stock_permission(self, request) -> bool:
        return request.user.has_perm(STOCK_PERMISSION)


class StoreScopedAdmin:
    """Lists and opens only rows at the locations the user works with; `location_lookups` are the
    paths to a Location (any one of them being the user's is enough)."""

    location_lookups: tuple[str, ...] = ("location",)

    def get_queryset(self, request):
        mine = locations_for_staff(request.user)
        at_mine = Q()
        for lookup in self.location_lookups:
            at_mine |= Q(**{f"{lookup}__in": mine})
        return super().get_queryset(request).filter(at_mine)


class MyLocationsFilter(admin.RelatedFieldListFilter):
    """Offers only the locations the user works with, without scanning the listed table for them."""

    def field_choices(self, field, request, model_admin):
        return [(location.pk, str(location)) for location in locations_for_staff(request.user).order_by("code")]


def _run_each(modeladmin, request, queryset, *, service, done: str, attempt: str) -> None:
    """Call the service once per selected document; report each success and each refusal."""
    for document in queryset:
        try:
            result = service(document)
        except DomainError as error:
            modeladmin.message_user(
                request, f"Could not {attempt} {modeladmin.describe(document)}: {error.message}", messages.ERROR
            )
        else:
            modeladmin.message_user(request, f"{done} {modeladmin.describe(result)}.", messages.SUCCESS)


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    """Head office edits locations; a store manager sees their own stores and changes only who works there."""

    list_display = (
        "code", "name", "kind", "city", "sells_in_store", "ships_orders", "offers_pickup", "accepts_returns",
        "is_active",
    )
    list_filter = ("kind", "sells_in_store", "ships_orders", "offers_pickup", "accepts_returns", "is_active")
    search_fields = ("code", "name", "city")
    filter_horizontal = ("staff",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=locations_for_staff(request.user))

    def _head_office(self, request) -> bool:
        return request.user.has_perm(ALL_LOCATIONS_PERMISSION)

    def get_readonly_fields(self, request, obj=None):
        if self._head_office(request):
            return super().get_readonly_fields(request, obj)
        return [field.name for field in Location._meta.fields if field.name != "id"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if "staff" in form.base_fields:
            # Members of staff to choose from, and whoever already works here (kept on save).
            current = obj.staff.values("pk") if obj is not None else []
            form.base_fields["staff"].queryset = get_user_model().objects.filter(
                Q(is_staff=True, is_active=True) | Q(pk__in=current)).order_by("username")
        return form

    def has_add_permission(self, request) -> bool:
        return self._head_office(request) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._head_office(request) and super().has_delete_permission(request, obj)


# Stock levels and the stock forms ---------------------------------------------------------------


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


def _pair_query(location_id: int, variant_id: int) -> str:
    return urlencode({"location__id__exact": location_id, "variant__id__exact": variant_id})


@admin.register(StockLevel)
class StockLevelAdmin(StoreScopedAdmin, StockPermissionMixin, admin.ModelAdmin):
    """Shown, never edited: every change is a stock form or a document action calling a service."""

    list_display = (
        "location", "sku", "on_hand", "committed", "reserved", "unavailable", "incoming", "safety_stock",
        "available", "history",
    )
    list_filter = (("location", MyLocationsFilter),)
    list_select_related = ("location", "variant")
    search_fields = ("variant__sku", "variant__barcode", "variant__product__name", "location__code")
    ordering = ("location__code", "variant__sku")
    fields = (
        "location", "variant", "on_hand", "committed", "reserved", "unavailable", "incoming", "safety_stock",
        "available", "history",
    )

    def get_queryset(self, request):
        # Annotated so staff can sort by what can be sold.
        return super().get_queryset(request).annotate(
            available_units=F("on_hand") - F("committed") - F("reserved") - F("unavailable")
        )

    @admin.display(description="SKU", ordering="variant__sku")
    def sku(self, level: StockLevel) -> str:
        return level.variant.sku

    @admin.display(description="available", ordering="available_units")
    def available(self, level: StockLevel) -> int:
        return level.available_units

    @admin.display(description="movements")
    def history(self, level: StockLevel) -> str:
        url = reverse("admin:inventory_stockmovement_changelist")
        return format_html('<a href="{}?{}">History</a>', url, _pair_query(level.location_id, level.variant_id))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        operations = [
            path(
                f"{slug}/",
                self.admin_site.admin_view(self.stock_operation_view),
                {"form_class": form_class},
                name=f"inventory_stocklevel_{slug.replace('-', '_')}",
            )
            for slug, form_class in STOCK_OPERATIONS
        ]
        return operations + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        operations = []
        if self.has_stock_permission(request):
            operations = [
                (reverse(f"admin:inventory_stocklevel_{slug.replace('-', '_')}"), form_class.title)
                for slug, form_class in STOCK_OPERATIONS
            ]
        return super().changelist_view(request, {**(extra_context or {}), "stock_operations": operations})

    def stock_operation_view(self, request, form_class: type[StockOperationForm]):
        if not self.has_stock_permission(request):
            raise PermissionDenied
        form = form_class(request.POST if request.method == "POST" else None,
                          locations=locations_for_staff(request.user))
        if form.is_bound and form.is_valid():
            try:
                message = form.run(actor=request.user)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, message, messages.SUCCESS)
                changed = _pair_query(form.cleaned_data["location"].pk, form.cleaned_data["variant"].pk)
                return redirect(f"{reverse('admin:inventory_stocklevel_changelist')}?{changed}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": form_class.title,
            "form": form,
        }
        return TemplateResponse(request, "admin/inventory/stock_operation_form.html", context)


@admin.register(StockMovement)
class StockMovementAdmin(StoreScopedAdmin, admin.ModelAdmin):
    """The ledger, append-only: nobody adds, edits or deletes a movement here."""

    list_display = (
        "created_at", "location", "variant", "reason", "on_hand_delta", "committed_delta", "reserved_delta",
        "unavailable_delta", "incoming_delta", "reference", "actor", "note",
    )
    list_filter = ("reason", ("location", MyLocationsFilter))
    list_select_related = ("location", "variant__product", "actor")
    date_hierarchy = "created_at"
    search_fields = ("variant__sku", "reference")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# Documents: transfers and counts ------------------------------------------------------------------

EDITABLE_STATUS = {Transfer: Transfer.Status.DRAFT, StockCount: StockCount.Status.OPEN}


def _is_editable(document: Transfer | StockCount | None) -> bool:
    """A document is plain data while draft (transfer) or open (count); after that it has moved stock."""
    return document is None or document.status == EDITABLE_STATUS[type(document)]


class DocumentLineInline(admin.TabularInline):
    """Lines of a transfer or count: editable while the document is, read-only afterwards."""

    extra = 1
    autocomplete_fields = ("variant",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant__product")

    def has_add_permission(self, request, obj) -> bool:
        return _is_editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return _is_editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return _is_editable(obj) and super().has_delete_permission(request, obj)


class DocumentAdmin(StoreScopedAdmin, StockPermissionMixin, admin.ModelAdmin):
    """Saving edits only the document's rows; its stock effects happen only through the actions."""

    frozen_after_editing: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if _is_editable(obj) else readonly + self.frozen_after_editing

    def get_object(self, request, object_id, from_field=None):
        # A save writes every column, status included: lock the row (the change view is atomic) so
        # a ship or completion that lands meanwhile is neither overwritten nor edited after the fact.
        document = super().get_object(request, object_id, from_field)
        if document is None or request.method != "POST":
            return document
        return type(document).objects.select_for_update().get(pk=document.pk)

    def has_delete_permission(self, request, obj=None) -> bool:
        return _is_editable(obj) and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # Bulk delete checks no document's status; one that has moved stock must stay on record.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class TransferLineInline(DocumentLineInline):
    model = TransferLine
    fields = ("variant", "quantity", "received_quantity")
    readonly_fields = ("received_quantity",)


class TransferForm(forms.ModelForm):
    class Meta:
        model = Transfer
        fields = ("source", "destination", "note")

    # Set per request by TransferAdmin.get_form: the locations the user works with.
    staff_locations = None

    def clean(self):
        cleaned = super().clean()
        source, destination = cleaned.get("source"), cleaned.get("destination")
        if source is not None and source == destination:
            self.add_error("destination", "Choose a destination other than the source.")
        elif source is not None and destination is not None and self.staff_locations is not None \
                and not self.staff_locations.filter(pk__in=[source.pk, destination.pk]).exists():
            self.add_error(None, "A transfer must leave from or arrive at a location you work at.")
        return cleaned


@admin.register(Transfer)
class TransferAdmin(DocumentAdmin):
    form = TransferForm
    list_display = ("id", "source", "destination", "status", "created_at", "shipped_at", "received_at")
    list_filter = ("status", ("source", MyLocationsFilter),
                   ("destination", MyLocationsFilter))
    list_select_related = ("source", "destination")
    location_lookups = ("source", "destination")
    fields = (
        "source", "destination", "note", "status", "created_at", "shipped_at", "shipped_by", "received_at",
        "received_by",
    )
    readonly_fields = ("status", "created_at", "shipped_at", "shipped_by", "received_at", "received_by")
    frozen_after_editing = ("source", "destination")
    inlines = (TransferLineInline,)
    actions = ("ship_transfers", "receive_transfers", "cancel_transfers")

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.staff_locations = locations_for_staff(request.user)
        return form

    def describe(self, transfer: Transfer) -> str:
        return f"transfer {transfer.pk} ({transfer.source.code} → {transfer.destination.code})"

    def _only_at_my_end(self, request, queryset, *, end: str, attempt: str):
        """The sending store ships, the receiving one receives; say so for any other selected transfer."""
        mine = queryset.filter(**{f"{end}__in": locations_for_staff(request.user)})
        for transfer in queryset.exclude(pk__in=mine.values("pk")):
            self.message_user(request, f"Could not {attempt} {self.describe(transfer)}: you do not work at its "
                                       f"{end}.", messages.ERROR)
        return mine

    @admin.action(description="Ship selected transfers", permissions=("stock",))
    def ship_transfers(self, request, queryset):
        queryset = self._only_at_my_end(request, queryset, end="source", attempt="ship")
        _run_each(self, request, queryset, service=lambda t: transfer_ship(transfer=t, actor=request.user),
                  done="Shipped", attempt="ship")

    @admin.action(description="Receive selected transfers (in full)", permissions=("stock",))
    def receive_transfers(self, request, queryset):
        queryset = self._only_at_my_end(request, queryset, end="destination", attempt="receive")
        _run_each(self, request, queryset, service=lambda t: transfer_receive(transfer=t, actor=request.user),
                  done="Received", attempt="receive")

    @admin.action(description="Cancel selected draft transfers", permissions=("change",))
    def cancel_transfers(self, request, queryset):
        _run_each(self, request, queryset, service=lambda t: transfer_cancel(transfer=t, actor=request.user),
                  done="Cancelled", attempt="cancel")


class StockCountLineInline(DocumentLineInline):
    model = StockCountLine
    readonly_fields = ("expected_quantity", "difference")

    def get_fields(self, request, obj=None):
        if obj is not None and obj.status == StockCount.Status.COMPLETED:
            return ("variant", "counted_quantity", "expected_quantity", "difference")
        return ("variant", "counted_quantity")


@admin.register(StockCount)
class StockCountAdmin(DocumentAdmin):
    list_display = ("id", "location", "status", "created_at", "completed_at", "completed_by")
    list_filter = ("status", ("location", MyLocationsFilter))
    list_select_related = ("location", "completed_by")
    fields = ("location", "note", "status", "created_at", "completed_at", "completed_by")
    readonly_fields = ("status", "created_at", "completed_at", "completed_by")
    frozen_after_editing = ("location",)
    inlines = (StockCountLineInline,)
    actions = ("complete_counts", "cancel_counts")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "location":
            kwargs["queryset"] = locations_for_staff(request.user).active()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def describe(self, count: StockCount) -> str:
        return f"count {count.pk} at {count.location.code}"

    @admin.action(description="Complete selected counts", permissions=("stock",))
    def complete_counts(self, request, queryset):
        _run_each(self, request, queryset, service=lambda c: stock_count_complete(count=c, actor=request.user),
                  done="Completed and booked", attempt="complete")

    @admin.action(description="Cancel selected counts", permissions=("change",))
    def cancel_counts(self, request, queryset):
        _run_each(self, request, queryset, service=lambda c: stock_count_cancel(count=c),
                  done="Cancelled", attempt="cancel")


# Reservations -------------------------------------------------------------------------------------


class ReservationLineInline(admin.TabularInline):
    model = ReservationLine
    fields = ("location", "variant", "quantity")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location", "variant__product")

    def has_add_permission(self, request, obj) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Reservation)
class ReservationAdmin(StockPermissionMixin, admin.ModelAdmin):
    """Holds are made and settled by checkout; staff can only look, or release one."""

    list_display = ("id", "status", "channel", "reference", "expires_at")
    list_filter = ("status", "channel")
    list_select_related = ("channel",)
    search_fields = ("reference",)
    inlines = (ReservationLineInline,)
    actions = ("release_reservations",)

    def describe(self, reservation: Reservation) -> str:
        return f"reservation {reservation.pk}" + (f" ({reservation.reference})" if reservation.reference else "")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Release selected reservations", permissions=("stock",))
    def release_reservations(self, request, queryset):
        _run_each(self, request, queryset,
                  service=lambda r: reservation_release(reservation=r, actor=request.user),
                  done="Released", attempt="release")
