from django.apps import AppConfig


class GeodataConfig(AppConfig):
    name = "geodata"
    verbose_name = "Imports, exports and heatmaps"

    def ready(self) -> None:
        # A pin's page names the gazetteer's place near the pin (mapideas never imports
        # geodata: it asks the providers registered here).
        from geodata.places.nearby import place_near_idea
        from mapideas.pins import places

        places.register(place_near_idea)

        # What each process keeps derived from the boundaries, computed as it boots.
        from geodata.engagement.warm import warm_up_boundaries
        from mapideas import warmup

        warmup.register(warm_up_boundaries)
