from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0003_stocklevel_reorder_point_and_more'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='location',
            options={'ordering': ['code'], 'permissions': [('all_locations', 'Can work with every location (head office), not only the stores they staff')]},
        ),
    ]
