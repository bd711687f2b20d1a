"""The Location page: head office edits a location (its place and hours, what it offers, how routing uses it,
its collection windows); a store manager sees their own stores and changes only who works there.
"""
from datetime import date, time, timedelta

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Case, Q, When
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html_join

from ..models import WEEKDAYS, CollectionWindow, Location
from ..selectors import ALL_LOCATIONS_PERMISSION, locations_for_staff

DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                     strict=True))
A_MONDAY = date(2024, 1, 1)  # Location.hours_on takes a date: the weekday's hours are those of this week's day
CHANGE_PERMISSION = "inventory.change_location"
WINDOW_RULES = (
    "Collection windows: when the store hands over collection orders, and how many orders each takes. A window "
    "starts before it ends, does not overlap another on the same day, and, when the store has opening hours, "
    "lies within that day's hours (none on a day it is closed), so a shopper is never offered a time the door is "
    "shut.")


class LocationForm(forms.ModelForm):
    ship_days = forms.MultipleChoiceField(
        choices=list(DAY_NAMES.items()), widget=forms.CheckboxSelectMultiple, required=False,
        help_text="Days it sends delivery orders; on other days they go elsewhere. None ticked: every day.")

    class Meta:
        model = Location
        fields = "__all__"

    def clean_ship_days(self):
        chosen = self.cleaned_data["ship_days"]
        return [] if len(chosen) == len(WEEKDAYS) else [day for day in WEEKDAYS if day in chosen]


def _clock(value: time) -> str:
    return f"{value:%H:%M}"


class CollectionWindowForm(forms.ModelForm):
    weekday = forms.ChoiceField(choices=list(DAY_NAMES.items()), label="Day")
    starts = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), help_text=(
        "Within the store's opening hours that day, when it has hours."))
    ends = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), help_text=(
        "After it starts, and no later than the store closes."))

    class Meta:
        model = CollectionWindow
        fields = ("weekday", "starts", "ends", "capacity")

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts"), cleaned.get("ends")
        if starts is not None and ends is not None and starts >= ends:
            self.add_error("ends", f"A window must start before it ends: this one starts at {_clock(starts)} and "
                                   f"ends at {_clock(ends)}.")
        return cleaned


class CollectionWindowFormSet(BaseInlineFormSet):
    """Checks the windows kept together, against the location's opening hours as submitted with them."""

    def add_fields(self, form, index):
        """The table's columns head the inputs; a screen reader is told which window and which of its fields."""
        super().add_fields(form, index)
        window = "New window" if index is None else f"Window {index + 1}"
        for name, field in form.fields.items():
            label = "delete it" if name == "DELETE" else str(field.label or name).lower()
            field.widget.attrs.setdefault("aria-label", f"{window}: {label}")

    def clean(self):
        super().clean()
        location = self.instance
        hours_set = isinstance(location.opening_hours, dict) and bool(location.opening_hours)
        by_day: dict[str, list[tuple[time, time, forms.Form]]] = {}
        for form in self.forms:
            if self._should_delete_form(form) or form.errors or not form.cleaned_data:
                continue
            day, starts, ends = (form.cleaned_data[key] for key in ("weekday", "starts", "ends"))
            name = DAY_NAMES[day]
            if hours_set:
                hours = location.hours_on(A_MONDAY + timedelta(days=WEEKDAYS.index(day)))
                if hours is None:
                    form.add_error("weekday", f"{location.name or 'The location'} is closed on {name}s (see its "
                                              f"opening hours), so it cannot hand over orders then.")
                    continue
                if starts < hours[0] or ends > hours[1]:
                    form.add_error("starts", f"{name} {_clock(starts)}–{_clock(ends)} is outside the opening hours, "
                                             f"{_clock(hours[0])}–{_clock(hours[1])}: choose times within them.")
                    continue
            by_day.setdefault(day, []).append((starts, ends, form))
        for day, windows in by_day.items():
            latest = None  # the window seen so far that ends last
            for starts, ends, form in sorted(windows, key=lambda window: window[:2]):
                if latest is not None and starts < latest[1]:
                    form.add_error("starts", f"{DAY_NAMES[day]} {_clock(starts)}–{_clock(ends)} overlaps "
                                             f"{_clock(latest[0])}–{_clock(latest[1])}: one window must end before "
                                             f"the next starts.")
                if latest is None or ends > latest[1]:
                    latest = (starts, ends)


def _may_edit(request) -> bool:
    """Head office with the right to change locations: the same people who edit the location's own fields."""
    return request.user.has_perm(ALL_LOCATIONS_PERMISSION) and request.user.has_perm(CHANGE_PERMISSION)


class CollectionWindowInline(admin.TabularInline):
    model = CollectionWindow
    form = CollectionWindowForm
    formset = CollectionWindowFormSet
    extra = 0
    verbose_name = "collection window"
    verbose_name_plural = "Collection windows"

    def get_queryset(self, request):
        in_week_order = Case(*[When(weekday=day, then=index) for index, day in enumerate(WEEKDAYS)])
        return super().get_queryset(request).order_by(in_week_order, "starts")

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("inventory.view_location") or _may_edit(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return _may_edit(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return _may_edit(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return _may_edit(request)


PLACE = ("code", "name", "kind", "is_active", "address_line", "city", "postcode", "country", "latitude",
         "longitude", "phone", "email", "opening_hours")
SERVICES = ("sells_in_store", "offers_pickup", "pickup_hold_days", "accepts_returns")
ROUTING = ("ships_orders", "ship_days", "daily_ship_capacity", "routing_rank", "transfer_lead_days")


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    """Head office edits locations; a store manager sees their own stores and changes only who works there."""

    form = LocationForm
    inlines = (CollectionWindowInline,)

    list_display = (
        "code", "name", "kind", "city", "sells_in_store", "ships_orders", "offers_pickup", "accepts_returns",
        "daily_ship_capacity", "routing_rank", "is_active",
    )
    list_filter = ("kind", "sells_in_store", "ships_orders", "offers_pickup", "accepts_returns", "is_active")
    search_fields = ("code", "name", "city")
    filter_horizontal = ("staff",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=locations_for_staff(request.user))

    def _head_office(self, request) -> bool:
        return request.user.has_perm(ALL_LOCATIONS_PERMISSION)

    def get_fieldsets(self, request, obj=None):
        services = SERVICES if self._head_office(request) else (*SERVICES, "collection_windows_in_words")
        return (
            (None, {"fields": PLACE}),
            ("Selling, collection and returns", {"fields": services, "description": WINDOW_RULES}),
            ("Routing", {"fields": ROUTING, "description": (
                "How order routing uses this location: whether and on which days it sends orders, how many a day, "
                "its rank, and how many working days it takes to send a transfer to a store for a collection "
                "(ship-to-store).")}),
            ("Staff", {"fields": ("staff",)}),
        )

    def get_inlines(self, request, obj):
        """Head office sees (and, with the right to change locations, edits) the windows in place; a store
        manager reads them among the location's fields (collection_windows_in_words)."""
        return self.inlines if self._head_office(request) else ()

    def get_readonly_fields(self, request, obj=None):
        if self._head_office(request):
            return super().get_readonly_fields(request, obj)
        return [field.name for field in Location._meta.fields if field.name != "id"] + ["collection_windows_in_words"]

    @admin.display(description="Collection windows")
    def collection_windows_in_words(self, obj: Location | None) -> str:
        windows = [] if obj is None else sorted(obj.collection_windows.all(),
                                                key=lambda w: (WEEKDAYS.index(w.weekday), w.starts))
        if not windows:
            return "None: shoppers collect any time the store is open."
        return format_html_join(
            "", "<div>{} {}–{}, up to {} orders</div>",
            ((DAY_NAMES[w.weekday], _clock(w.starts), _clock(w.ends), w.capacity) for w in windows))

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
