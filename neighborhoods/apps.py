from django.apps import AppConfig


class NeighborhoodsConfig(AppConfig):
    name = "neighborhoods"
    verbose_name = "Neighborhoods and district teams"
