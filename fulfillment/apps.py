from django.apps import AppConfig


class FulfillmentConfig(AppConfig):
    name = "fulfillment"
    verbose_name = "Fulfilment and returns"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the signal receivers)
