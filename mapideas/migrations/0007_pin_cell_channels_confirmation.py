"""Offline channels as the issue names them, the optional event name, pins awaiting an email
confirmation, and each pin's H3 cells (backfilled here for the pins already stored)."""

import h3.api.basic_int as h3_int
from django.db import migrations, models

BATCH = 5000
# Idea's column holding the cell at each resolution (as mapideas/cells.py had them).
CELL_FIELDS = {7: "h3_res7", 8: "h3_res8", 9: "h3_res9"}


def pin_cells(lon: float, lat: float) -> dict[str, int]:
    """The cells holding (lon, lat), as {Idea field: cell as a signed 64-bit integer} (a
    frozen copy of mapideas.cells.pin_cells as it was: h3's integer API)."""
    return {
        field: int(h3_int.latlng_to_cell(lat, lon, resolution))
        for resolution, field in CELL_FIELDS.items()
    }


def rename_event_channel(apps, schema_editor):
    """ "event" became "meeting" (what the issue and the staff form call it)."""
    apps.get_model("mapideas", "Idea").objects.filter(channel="event").update(channel="meeting")


def meeting_back_to_event(apps, schema_editor):
    apps.get_model("mapideas", "Idea").objects.filter(
        channel__in=["meeting", "letter", "import"]
    ).update(channel="event")


def backfill_cells(apps, schema_editor):
    """Every stored pin's cells (pin_cells), a batch at a time."""
    Idea = apps.get_model("mapideas", "Idea")
    last = 0
    while True:
        batch = list(
            Idea.objects.filter(pk__gt=last, h3_res9__isnull=True)
            .order_by("pk")
            .only("pk", "location")[:BATCH]
        )
        if not batch:
            return
        for idea in batch:
            for field, cell in pin_cells(idea.location.x, idea.location.y).items():
                setattr(idea, field, cell)
        Idea.objects.bulk_update(batch, list(CELL_FIELDS.values()), batch_size=1000)
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("mapideas", "0006_support_comments_follow"),
    ]

    operations = [
        migrations.AddField(
            model_name="idea",
            name="awaiting_confirmation",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name="idea",
            name="confirmation_sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="idea",
            name="event_name",
            field=models.CharField(blank=True, db_default="", default="", max_length=200),
        ),
        migrations.AddField(
            model_name="idea",
            name="h3_res7",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="idea",
            name="h3_res8",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="idea",
            name="h3_res9",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name="idea",
            name="channel",
            field=models.CharField(
                choices=[
                    ("web", "Web map"),
                    ("api", "API"),
                    ("phone", "Phone"),
                    ("meeting", "Meeting or workshop"),
                    ("paper", "Paper form"),
                    ("letter", "Letter"),
                    ("email", "Email"),
                    ("kiosk", "Kiosk"),
                    ("import", "Imported file"),
                    ("other", "Other"),
                ],
                default="web",
                max_length=10,
            ),
        ),
        migrations.RunPython(rename_event_channel, meeting_back_to_event, elidable=True),
        migrations.RunPython(backfill_cells, migrations.RunPython.noop, elidable=True),
    ]
