"""The Location page, where a store manager manages who works at their store: unless they are head
office, the staff list is the only thing they can change.
"""
from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q

from ..models import WEEKDAYS, Location
from ..selectors import ALL_LOCATIONS_PERMISSION, locations_for_staff

DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                     strict=True))


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


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    """Head office edits locations; a store manager sees their own stores and changes only who works there."""

    form = LocationForm

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
