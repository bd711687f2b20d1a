"""Admin building blocks: read-only pages for records that change only through their app's services
(orders, stock, the outbox), and money columns written as people read them (£1,234.50)."""
from operator import attrgetter

from django.contrib import admin

from .money import format_money


class ReadOnlyAdmin:
    """A ModelAdmin mixin (put it first): the list and the page show the record and nothing edits it."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SuperuserOnlyAdmin:
    """A ModelAdmin mixin for internal tables (tokens, raw events, schedules): superusers only, whatever
    permissions a role holds."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)


class ReadOnlyInline(admin.TabularInline):
    """Lines shown on another record's page (order lines, payments, status history)."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def money_column(field: str, description: str, currency: str = "currency"):
    """A list or page column showing `field` as money (£1,234.50), sortable by it; `currency` is the path to
    the record's currency, e.g. "currency" or "payment.currency"."""
    @admin.display(description=description, ordering=field)
    def column(obj) -> str:
        return format_money(getattr(obj, field), attrgetter(currency)(obj))

    column.__name__ = f"{field}_as_money"
    return staticmethod(column)  # a class attribute of the admin, called with the record alone
