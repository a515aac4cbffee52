"""The rate limits' counters get a table of their own, mapideas_ratelimitcounter: they were kept
in Django's cache, where the viewport's cached answers evicted them and each increment moved
their expiry (docs/decisions/0015-rate-limit-counters.md). One row per client, limit and
fixed window; nothing is copied over (the counts in the cache are minutes old at most).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mapideas", "0016_public_cell_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="RateLimitCounter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("bucket", models.CharField(max_length=100)),
                ("identity", models.CharField(max_length=64)),
                ("window_start", models.BigIntegerField()),
                ("window_end", models.BigIntegerField()),
                ("hits", models.BigIntegerField()),
            ],
            options={
                "db_table": "mapideas_ratelimitcounter",
                "indexes": [models.Index(fields=["window_end"], name="ratelimitcounter_end")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("bucket", "identity", "window_start", "window_end"),
                        name="ratelimitcounter_key",
                    )
                ],
            },
        ),
    ]
