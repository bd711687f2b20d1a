"""The merchandiser's and store manager's back office: roles, CSV import/export, analytics."""
from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "backoffice"
    verbose_name = "Back office"
