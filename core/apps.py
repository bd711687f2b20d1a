from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        from . import reference  # noqa: F401  (connects the signals that keep reference tables fresh)
