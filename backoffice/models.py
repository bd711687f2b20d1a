"""The back office's own permissions. There is nothing to store: the model only carries the rights
to see analytics and to import/export CSV, so groups can be granted them like any model permission."""
from django.db import models


class BackOffice(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_analytics", "Can see sales and fulfilment analytics"),
            ("import_data", "Can import and export catalogue, price, range and stock CSV files"),
        ]
