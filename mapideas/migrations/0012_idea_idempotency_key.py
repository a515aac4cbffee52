"""Idempotent pin submission (issue 8): a retried POST with the same Idempotency-Key (or the
web form's one-time token) finds its pin; the unique constraint makes concurrent retries
safe (mapideas.services.idea_submit_once)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mapideas", "0011_team_set_by_staff"),
    ]

    operations = [
        migrations.AddField(
            model_name="idea",
            name="idempotency_key",
            field=models.CharField(
                blank=True, editable=False, max_length=64, null=True, unique=True
            ),
        ),
        migrations.AddField(
            model_name="idea",
            name="idempotency_fingerprint",
            field=models.CharField(
                blank=True, db_default="", default="", editable=False, max_length=64
            ),
        ),
    ]
