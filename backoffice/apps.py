"""The back office's own pages and rules: roles, the store home, CSV import/export, analytics; and the
admin site's look (the shop's name in its header and title)."""
from django.apps import AppConfig
from django.conf import settings


class BackofficeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "backoffice"
    verbose_name = "Back office"

    def ready(self) -> None:
        from django.contrib import admin

        admin.site.site_header = f"{settings.SHOP_NAME} back office"
        admin.site.site_title = f"{settings.SHOP_NAME} back office"
        admin.site.index_title = "Head office"
        # The header's staff tools and the breadcrumbs lead everywhere; the sidebar took a quarter of a
        # 1280 px screen from the lists staff work through.
        admin.site.enable_nav_sidebar = False
