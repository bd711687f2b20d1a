"""The project itself as an app, so project-wide management commands have a home."""
from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "Project"
