"""Admin building blocks for records that are shown, never edited, in the back office: they change only
through their app's services (orders, stock, the outbox), so the admin offers no add, change or delete."""
from django.contrib import admin


class ReadOnlyAdmin:
    """A ModelAdmin mixin (put it first): the list and the page show the record and nothing edits it."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Lines shown on another record's page (order lines, payments, status history)."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
