import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("neighborhoods", "0004_existing_boundaries_become_version_one")]

    operations = [
        migrations.AlterField(
            model_name="neighborhood",
            name="version",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="neighborhoods",
                to="neighborhoods.boundaryversion",
            ),
        ),
    ]
