"""POST /api/ideas/<id>/flag/: report a pin (mapideas.moderation.services.idea_flag).

Thin like every API module: the serializer checks the shape, the service the rest. Works without
an account, as POST /api/ideas/ (DRF's session authentication asks for a CSRF token only
from signed-in sessions).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mapideas.models import FLAG_TEXT_MAX_LENGTH, ID_MAX, Flag
from mapideas.moderation import services as moderation
from mapideas.moderation.views import flagger_hash
from mapideas.pins import selectors
from mapideas.plumbing import ratelimit
from mapideas.plumbing.stored_text import StoredTextSerializerField
from mapideas.plumbing.throttling import throttle


class FlagInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Flag.Reason.choices)
    text = StoredTextSerializerField(
        max_length=FLAG_TEXT_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Anything to add; seen by the city's moderators only.",
    )


class FlagAcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    created = serializers.BooleanField(help_text="False when this person had reported it.")


@extend_schema(
    summary="Report a pin (spam, abuse, personal data...); enough reports hide it",
    description=(
        "Anyone may report a pin, once (by account when signed in, else by IP address). "
        "After MAPIDEAS_FLAGS_TO_HIDE reports the pin leaves every public list, map and "
        "export until the city's moderators decide."
    ),
    request=FlagInputSerializer,
    responses={
        201: FlagAcceptedSerializer,
        200: FlagAcceptedSerializer,
        400: OpenApiResponse(description="A field is missing or wrong; the body names it."),
        404: OpenApiResponse(description="No public pin with this number."),
        429: OpenApiResponse(description="Too many reports from this account or address."),
    },
    examples=[
        OpenApiExample(
            "Spam", value={"reason": "spam", "text": "An advert for a shop."}, request_only=True
        )
    ],
)
class IdeaFlagCreate(APIView):
    def post(self, request: Request, pk: int) -> Response:
        idea = selectors.public_ideas().filter(pk=pk).first() if 0 < pk <= ID_MAX else None
        if idea is None:
            raise NotFound(_("No public pin with this number."))
        given = FlagInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        # Counted once the request is well formed (MAPIDEAS_RATE_FLAGS).
        throttle(request, ratelimit.FLAGS)
        try:
            result = moderation.idea_flag(
                idea=idea,
                reason=given.validated_data["reason"],
                text=given.validated_data["text"],
                user=request.user,
                flagger_hash=flagger_hash(request),
            )
        except DjangoValidationError as exc:
            if "idea" in getattr(exc, "error_dict", {}):  # hidden meanwhile
                raise NotFound(_("No public pin with this number.")) from None
            raise  # a 400 naming the fields (mapideas.plumbing.api_errors)
        if result.created:
            body = {
                "detail": _("Thank you: the city's moderators will look at it."),
                "created": True,
            }
            return Response(body, status=status.HTTP_201_CREATED)
        body = {"detail": _("You reported this pin already."), "created": False}
        return Response(body, status=status.HTTP_200_OK)
