"""A message about a thing is held once per template, medium and reference. Messages queued twice before
this (a split order's parcels shared the order's reference) keep the first as it was; each later one gets
its id added to its reference, so nothing is lost and the constraint can hold."""
from django.db import migrations, models
from django.db.models import Count, Min


def tell_repeats_apart(apps, schema_editor):
    OutboxMessage = apps.get_model("notifications", "OutboxMessage")
    repeated = (OutboxMessage.objects.exclude(reference="").values("template", "reference", "medium")
                .annotate(copies=Count("id"), first=Min("id")).filter(copies__gt=1))
    for group in repeated:
        later = OutboxMessage.objects.filter(template=group["template"], reference=group["reference"],
                                             medium=group["medium"]).exclude(pk=group["first"])
        for message in later:
            suffix = f"#{message.pk}"
            message.reference = message.reference[:64 - len(suffix)] + suffix
            message.save(update_fields=["reference"])


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(tell_repeats_apart, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="outboxmessage",
            name="reference",
            field=models.CharField(blank=True, help_text="What the message is about (order:R…, fulfillment:12, "
                                                         "return:RT…): one message per template and medium for each.",
                                   max_length=64),
        ),
        migrations.AddConstraint(
            model_name="outboxmessage",
            constraint=models.UniqueConstraint(condition=models.Q(("reference", ""), _negated=True),
                                               fields=("template", "reference", "medium"),
                                               name="outbox_once_per_reference"),
        ),
    ]
