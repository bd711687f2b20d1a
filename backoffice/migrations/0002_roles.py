"""The back office's roles as groups. The permissions are created here first (post_migrate would make
them only after every migration has run), so the groups get them on a fresh database too.

The lists are frozen here, as a migration's data should be; a later change of a role is a new migration.
"""
from django.db import migrations

from backoffice.roles import permissions_grant

CATALOG = [f"{action}_{model}" for model in ("category", "product", "variant", "price", "range", "taxrate")
           for action in ("add", "change", "delete", "view")]
ORDERS_VIEW = [("orders", f"view_{model}") for model in ("order", "orderline", "payment", "orderevent")]
CUSTOMERS_VIEW = [("customers", f"view_{model}") for model in ("customer", "address", "cart", "cartline")]
FULFILMENTS = [
    ("fulfillment", "view_fulfillment"), ("fulfillment", "change_fulfillment"),
    ("fulfillment", "view_fulfillmentline"), ("fulfillment", "view_fulfillmentevent"),
    ("fulfillment", "view_return"), ("fulfillment", "view_returnline"), ("fulfillment", "change_return"),
    ("fulfillment", "use_scan_station"),
]
STOCK_DOCUMENTS = [("inventory", f"{action}_{model}") for model in ("transfer", "transferline", "stockcount",
                                                                    "stockcountline")
                   for action in ("add", "change", "delete", "view")]

ROLES = {
    "Merchandiser": [
        *[("catalog", codename) for codename in CATALOG],
        ("catalog", "view_channel"),
        ("inventory", "view_location"), ("inventory", "all_locations"),
        ("backoffice", "import_data"), ("backoffice", "view_analytics"),
    ],
    "Store manager": [
        ("inventory", "view_location"), ("inventory", "change_location"),
        ("inventory", "view_stocklevel"), ("inventory", "view_stockmovement"), ("inventory", "add_stockmovement"),
        *STOCK_DOCUMENTS, *FULFILMENTS, *ORDERS_VIEW, *CUSTOMERS_VIEW, ("orders", "sell_at_till"),
        ("backoffice", "view_analytics"),
    ],
    "Store staff": [*FULFILMENTS, *ORDERS_VIEW, *CUSTOMERS_VIEW, ("orders", "sell_at_till")],
    "Pickup staff": [("fulfillment", "use_scan_station")],
}


def create_roles(apps, schema_editor):
    permissions_grant(apps, grants=ROLES, replace=True)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("backoffice", "0001_permissions"),
        ("catalog", "0007_tax_rates"),
        ("customers", "0003_cart_reminded_state"),
        ("inventory", "0004_location_all_locations_permission"),
        ("orders", "0005_till_permission"),
        ("fulfillment", "0004_return_refund_tax"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
