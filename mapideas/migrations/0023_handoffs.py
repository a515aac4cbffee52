"""Pins handed to an outside body with no account (mapideas.handoffs)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mapideas", "0022_audit_log"),
        ("neighborhoods", "0011_response_target_in_team_calendar"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
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
                    ("handoff", "Hand-off to an outside body"),
                ],
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="Handoff",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("body_name", models.CharField(max_length=120)),
                ("body_email", models.EmailField(max_length=254)),
                ("message", models.TextField(blank=True, default="")),
                ("token_hash", models.CharField(max_length=64)),
                ("expires_at", models.DateTimeField()),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("sent", "Sent"),
                            ("accepted", "Accepted"),
                            ("reported", "Work reported done"),
                            ("approved", "Approved"),
                            ("returned", "Sent back"),
                            ("withdrawn", "Withdrawn"),
                        ],
                        default="sent",
                        max_length=10,
                    ),
                ),
                ("body_comment", models.TextField(blank=True, default="")),
                ("photo_name", models.CharField(blank=True, default="", max_length=100)),
                ("photo_width", models.PositiveIntegerField(default=0)),
                ("photo_height", models.PositiveIntegerField(default=0)),
                ("photo_bytes", models.PositiveIntegerField(default=0)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("accepted_at", models.DateTimeField(blank=True, null=True)),
                ("reported_at", models.DateTimeField(blank=True, null=True)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "idea",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="handoffs",
                        to="mapideas.idea",
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="neighborhoods.team",
                    ),
                ),
            ],
            options={
                "ordering": ["created_at", "id"],
            },
        ),
    ]
