"""An email carries an HTML part beside its text. Messages queued before keep an empty one and are sent as
plain text, as they were written."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0002_outbox_once_per_reference"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
            name="html_body",
            field=models.TextField(blank=True, help_text="An email's HTML part, sent alongside the text."),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="body",
            field=models.TextField(help_text="The text: an SMS or messenger message, or an email's plain-text part."),
        ),
    ]
