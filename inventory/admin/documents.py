"""Transfers and stock counts: documents edited as plain data while draft or open, whose stock effects
run only through their actions (inventory.services); once they have moved stock they are frozen.
"""
from django import forms
from django.contrib import admin, messages

from ..models import StockCount, StockCountLine, Transfer, TransferLine
from ..selectors import locations_for_staff
from ..services import stock_count_cancel, stock_count_complete, transfer_cancel, transfer_receive, transfer_ship
from .common import MyLocationsFilter, StockPermissionMixin, StoreScopedAdmin, run_each

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
        run_each(self, request, queryset, service=lambda t: transfer_ship(transfer=t, actor=request.user),
                 done="Shipped", attempt="ship")

    @admin.action(description="Receive selected transfers (in full)", permissions=("stock",))
    def receive_transfers(self, request, queryset):
        queryset = self._only_at_my_end(request, queryset, end="destination", attempt="receive")
        run_each(self, request, queryset, service=lambda t: transfer_receive(transfer=t, actor=request.user),
                 done="Received", attempt="receive")

    @admin.action(description="Cancel selected draft transfers", permissions=("change",))
    def cancel_transfers(self, request, queryset):
        run_each(self, request, queryset, service=lambda t: transfer_cancel(transfer=t, actor=request.user),
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
        run_each(self, request, queryset, service=lambda c: stock_count_complete(count=c, actor=request.user),
                 done="Completed and booked", attempt="complete")

    @admin.action(description="Cancel selected counts", permissions=("change",))
    def cancel_counts(self, request, queryset):
        run_each(self, request, queryset, service=lambda c: stock_count_cancel(count=c),
                 done="Cancelled", attempt="cancel")
