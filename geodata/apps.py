from django.apps import AppConfig


class GeodataConfig(AppConfig):
    name = "geodata"
    verbose_name = "Imports, exports and heatmaps"
