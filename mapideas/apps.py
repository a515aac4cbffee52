from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MapIdeasConfig(AppConfig):
    name = "mapideas"
    verbose_name = "Ideas and issues"

    def ready(self) -> None:
        from mapideas.spatialite import ensure_spatial_indexes_after_migrate

        # Database plumbing, not domain logic: see mapideas/spatialite.py for why.
        post_migrate.connect(ensure_spatial_indexes_after_migrate, sender=self)
