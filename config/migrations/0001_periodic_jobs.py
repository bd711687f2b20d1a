"""A fresh install gets its periodic jobs (config/schedule.py) in django-celery-beat's tables."""
from django.db import migrations

from config.schedule import sync_periodic_jobs


def create_jobs(apps, schema_editor):
    sync_periodic_jobs(apps.get_model("django_celery_beat", "PeriodicTask"),
                       apps.get_model("django_celery_beat", "IntervalSchedule"))


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_jobs, migrations.RunPython.noop)]
