from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('fulfillment', '0002_lowstockalert'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='fulfillment',
            options={'ordering': ['-created_at'], 'permissions': [('use_scan_station', 'Can use the scan station and pick lists (/scan/)')]},
        ),
    ]
