"""The newest-first index gains the id: lists page by key on (created_at, id), and with
created_at alone every page sorted its ties again (an Incremental Sort on PostgreSQL)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mapideas", "0019_verified_addresses"),
        ("neighborhoods", "0011_response_target_in_team_calendar"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="idea",
            name="idea_newest",
        ),
        migrations.AddIndex(
            model_name="idea",
            index=models.Index(fields=["-created_at", "-id"], name="idea_newest_key"),
        ),
    ]
