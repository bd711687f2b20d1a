"""What the inventory back-office pages share: the stock permission, store scoping,
the location filter and the helper that runs a service on each selected document.

Store staff see and work on only the locations they staff (selectors.locations_for_staff): stock levels,
movements, counts and transfers (either end) of other stores are not listed, cannot be opened, and are
not offered in the forms.
"""
from django.contrib import admin, messages
from django.db.models import Q

from core.exceptions import DomainError

from ..selectors import locations_for_staff

# Moving stock by hand needs this; StockLevel and StockMovement grant no change permission.
STOCK_PERMISSION = "inventory.add_stockmovement"


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


def run_each(modeladmin, request, queryset, *, service, done: str, attempt: str) -> None:
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
