"""What a client may send to create a pin."""

import copy

from django.utils.translation import gettext as _
from rest_framework import serializers

from mapideas.models import (
    CONTACT_NAME_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Idea,
)
from mapideas.pins.serializers import CategorySlugField, PointField
from mapideas.plumbing.stored_text import StoredTextSerializerField


class IdeaInputSerializer(serializers.Serializer):
    """What a client may send. Routing, status and team are decided by the server: any such
    fields in the body are ignored."""

    kind = serializers.ChoiceField(choices=Idea.Kind.choices)
    title = StoredTextSerializerField(max_length=TITLE_MAX_LENGTH)
    description = StoredTextSerializerField(
        max_length=DESCRIPTION_MAX_LENGTH, allow_blank=True, required=False, default=""
    )
    category = CategorySlugField()
    location = PointField()
    # Someone not signed in may give an email address (when MAPIDEAS_SUBMISSION_MODES has
    # "email"): the pin is routed at once but public only once the link emailed to it is
    # followed. Private, as the name: never in any output. Ignored for a signed-in author.
    # 254, as the model keeps: a longer one is refused here, naming `email`.
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
    name = StoredTextSerializerField(
        max_length=CONTACT_NAME_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
    )
    # Consent, never in any output: the name and email go with the pin to the city's own
    # work-order system (mapideas.backoffice). Kept for a pin with a contact only (signed in,
    # or with `email`); without one there is nothing to share.
    contact_shared_with_city = serializers.BooleanField(
        required=False,
        default=False,
        help_text=(
            "The sender agrees that their name and email (their account's, or `email` and "
            "`name`) go with the pin to the city's services handling it, in the city's own "
            "work-order system, so that they can contact them directly. Without it they never "
            "do. Ignored for a pin sent without an account or an email. Never in any output."
        ),
    )

    # Optional, with a multipart/form-data body only (JSON carries no files): checked and
    # re-encoded by mapideas.pins.photos, a refused one refuses the pin with an error on `photo`.
    photo = serializers.FileField(
        required=False,
        allow_null=True,
        help_text=(
            "An optional photo (multipart/form-data only): JPEG, PNG or WebP, within "
            "MAPIDEAS_PHOTO_MAX_BYTES (10 MB by default) and 80 megapixels (a PNG 12.5, "
            "a WebP 3.1; a JPEG is decoded reduced). Stored resized and re-encoded as JPEG "
            "with every metadata (EXIF, GPS included) removed. In multipart, `location` is "
            "GeoJSON text."
        ),
    )

    def get_fields(self):
        # Shallow copies of the declared fields, where DRF deep-copies them: a deep copy runs
        # every field's __init__ again, for each pin sent (a twentieth of a POST's CPU). The
        # copies are bound to this serializer as DRF binds them; nothing changes a field's
        # shared parts (choices, validators) per request.
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}

    def validate_location(self, value):
        if value.geom_type != "Point":
            raise serializers.ValidationError(
                _(
                    'Send a GeoJSON Point ({"type": "Point", "coordinates": [lon, lat]}), '
                    "not a %(type)s."
                )
                % {"type": value.geom_type}
            )
        return value
