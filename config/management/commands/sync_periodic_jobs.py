"""`manage.py sync_periodic_jobs`: (re)apply config/schedule.py to django-celery-beat's tables."""
from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.schedule import sync_periodic_jobs


class Command(BaseCommand):
    help = "Create or update the periodic jobs every install runs."

    def handle(self, *args, **options):
        count = sync_periodic_jobs(PeriodicTask, IntervalSchedule)
        self.stdout.write(self.style.SUCCESS(f"{count} periodic jobs in place."))
