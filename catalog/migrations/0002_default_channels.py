"""The three channels every install sells through; more can be added in the admin."""
from django.db import migrations

CHANNELS = [
    ("web", "Web storefront", True),
    ("mobile", "Mobile app", True),
    ("till", "Store till", False),
]


def create_channels(apps, schema_editor):
    Channel = apps.get_model("catalog", "Channel")
    for code, name, is_online in CHANNELS:
        Channel.objects.get_or_create(code=code, defaults={"name": name, "is_online": is_online})


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(create_channels, migrations.RunPython.noop)]
