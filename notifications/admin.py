"""The outbox in the back office, read-only: what was sent to whom, what is waiting, and why a message
failed. Messages are written by the services that cause them and sent by the delivery tasks."""
from django.contrib import admin

from core.readonly_admin import ReadOnlyAdmin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["created_at", "medium", "recipient", "template", "reference", "status", "attempts", "sent_at"]
    list_filter = ["status", "medium", "marketing", "template"]
    search_fields = ["recipient", "reference"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
