"""The staff's audit log (mapideas.audit): one row per staff action."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mapideas", "0021_webhooks"),
        ("neighborhoods", "0011_response_target_in_team_calendar"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                ),
                ("actor_name", models.CharField(blank=True, default="", max_length=150)),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("status", "Status change"),
                            ("answer", "Public answer"),
                            ("duplicate", "Merge of duplicates"),
                            ("assignment", "Assignment"),
                            ("reassignment", "Sent to another team"),
                            ("moderation", "Moderation decision"),
                            ("template", "Response template"),
                            ("boundaries", "Boundaries switched"),
                            ("webhook", "Webhook configuration"),
                        ],
                        max_length=20,
                    ),
                ),
                ("idea_number", models.PositiveIntegerField(blank=True, null=True)),
                ("summary", models.CharField(max_length=500)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="neighborhoods.team",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["action", "-created_at"], name="audit_by_action")],
            },
        ),
    ]
