"""Pins staff re-assigned by hand keep that team through boundary changes; pins whose latest
routing was such a re-assignment are marked so here."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def mark_hand_assigned(apps, schema_editor):
    Idea = apps.get_model("mapideas", "Idea")
    RoutingEvent = apps.get_model("mapideas", "RoutingEvent")
    latest_cause = (
        RoutingEvent.objects.filter(idea=OuterRef("pk"))
        .order_by("-created_at", "-id")[:1]
        .values("cause")
    )
    Idea.objects.annotate(latest=Subquery(latest_cause)).filter(latest="manual").update(
        team_set_by_staff=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("mapideas", "0010_moderation"),
    ]

    operations = [
        migrations.AddField(
            model_name="idea",
            name="team_set_by_staff",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(mark_hand_assigned, migrations.RunPython.noop, elidable=True),
    ]
