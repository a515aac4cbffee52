from django.apps import AppConfig


class MapIdeasConfig(AppConfig):
    name = "mapideas"
    verbose_name = "Ideas and issues"
