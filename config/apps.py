"""The project itself as an app, so project-wide management commands have a home."""
from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "Project"

    def ready(self) -> None:
        # Sent after django_celery_beat's tables are migrated (this app has no models, so gets no signal).
        post_migrate.connect(_sync_periodic_jobs, sender=apps.get_app_config("django_celery_beat"))


def _sync_periodic_jobs(sender, **kwargs) -> None:
    """Every migrate leaves the periodic jobs as config/schedule.py lists them (fresh or existing install)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from .schedule import sync_periodic_jobs

    sync_periodic_jobs(PeriodicTask, IntervalSchedule)
