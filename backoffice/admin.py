"""Internal tables that only whoever runs the system needs (API tokens, beat's clocked, solar, crontab
and interval schedules) are hidden from everyone but superusers, whatever a role's permissions."""
from django.contrib import admin
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, SolarSchedule
from rest_framework.authtoken.models import TokenProxy

from core.readonly_admin import SuperuserOnlyAdmin

for model in (TokenProxy, ClockedSchedule, CrontabSchedule, IntervalSchedule, SolarSchedule):
    registered = type(admin.site.get_model_admin(model))
    admin.site.unregister(model)
    admin.site.register(model, type(f"SuperuserOnly{registered.__name__}", (SuperuserOnlyAdmin, registered), {}))
