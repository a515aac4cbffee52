from django.apps import AppConfig
from django.conf import settings
from django.db.models import F
from django.db.models.signals import post_delete, post_migrate, pre_delete


def _uncount_supports_of_deleted_user(sender, instance, **kwargs) -> None:
    """A deleted account's supports go with it (CASCADE, no service involved): take them off
    the pins' stored counts in the same transaction, before the rows disappear."""
    from mapideas.models import Idea

    Idea.objects.filter(supports__user=instance).update(support_count=F("support_count") - 1)


class MapIdeasConfig(AppConfig):
    name = "mapideas"
    verbose_name = "Ideas and issues"

    def ready(self) -> None:
        from django.contrib import admin

        from mapideas.admin import keep_the_stored_text_rule

        # rate_counters registers the check that a Redis named for the rate-limit counters
        # never evicts (models import it too, for the table's name; this says why it must be
        # loaded).
        from mapideas.plumbing import rate_counters  # noqa: F401

        # django.contrib.admin comes first in INSTALLED_APPS: its ready() has registered
        # every app's admin by now.
        keep_the_stored_text_rule(admin.site)
        from mapideas.plumbing.spatialite import ensure_spatial_indexes_after_migrate

        # Database plumbing, not domain logic: see mapideas/plumbing/spatialite.py for why.
        post_migrate.connect(ensure_spatial_indexes_after_migrate, sender=self)
        from mapideas.map.viewport_counts import ensure_triggers_after_migrate

        # The same for the triggers keeping the viewport's counts: their current SQL
        # (mapideas.map.count_triggers) in place after every migrate, on both backends.
        post_migrate.connect(ensure_triggers_after_migrate, sender=self)
        pre_delete.connect(
            _uncount_supports_of_deleted_user,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="mapideas.uncount_supports_of_deleted_user",
        )
        from django.db.backends.signals import connection_created

        from mapideas.plumbing.postgis_session import load_postgis_when_connected

        # A kept PostgreSQL connection loads PostGIS as it opens, not in a later request.
        connection_created.connect(
            load_postgis_when_connected, dispatch_uid="mapideas.load_postgis_when_connected"
        )
        from mapideas import warmup
        from mapideas.map.maps import warm_up_outlines

        # The outlines every map draws, simplified as a worker boots (mapideas.warmup).
        warmup.register(warm_up_outlines)
        from mapideas.pins.photos import delete_file_of_deleted_photo

        # File housekeeping, not domain logic: a pin deleted in the admin (or by a cascade)
        # takes its photo row with it, and no service runs to remove the file.
        post_delete.connect(
            delete_file_of_deleted_photo,
            sender="mapideas.IdeaPhoto",
            dispatch_uid="mapideas.delete_file_of_deleted_photo",
        )
        # The same for the photos of a pin's timeline (answers' before and after photos).
        post_delete.connect(
            delete_file_of_deleted_photo,
            sender="mapideas.TimelinePhoto",
            dispatch_uid="mapideas.delete_file_of_deleted_timeline_photo",
        )
