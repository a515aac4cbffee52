"""The JSON API of a resident's verdict on a closed pin: POST /api/ideas/<pk>/feedback/."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mapideas.models import FEEDBACK_NOTE_MAX_LENGTH, FixFeedback, Idea
from mapideas.outcomes import services
from mapideas.pins.api import _pin
from mapideas.plumbing import ratelimit
from mapideas.plumbing.parsers import JSONParser
from mapideas.plumbing.stored_text import StoredTextSerializerField


class FeedbackInputSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(
        choices=FixFeedback.Verdict.choices,
        help_text="`fixed` (a pin marked done only) or `still_there` (done or declined).",
    )
    note = StoredTextSerializerField(
        max_length=FEEDBACK_NOTE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="For the pin's team only, never public.",
    )
    photo = serializers.FileField(
        required=False,
        allow_null=True,
        help_text=(
            "With `still_there` only, multipart/form-data only: JPEG, PNG or WebP, within the "
            "limits of a pin's photo; stored re-encoded without metadata, for the team only."
        ),
    )
    # 254, as the model keeps.
    email = serializers.EmailField(
        max_length=254,
        required=False,
        allow_blank=True,
        default="",
        help_text=(
            "Unless signed in with a verified address: a confirmation link is sent to it, and "
            "the answer counts once it is opened. Never shown."
        ),
    )


class FeedbackResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=[outcome.value for outcome in services.Outcome],
        help_text=(
            "`recorded`: counted; `awaiting_confirmation`: counted once the emailed link is "
            "opened; `already_given`: this person answered about this closure before, nothing "
            "counted twice; `reopened`: counted, and the pin is reopened."
        ),
    )
    counted = serializers.BooleanField()
    detail = serializers.CharField()
    status = serializers.CharField(help_text="The pin's status now.")
    fix_confirmed_count = serializers.IntegerField()
    dispute_count = serializers.IntegerField()


STATUS_OF = {
    services.Outcome.RECORDED: status.HTTP_201_CREATED,
    services.Outcome.REOPENED: status.HTTP_201_CREATED,
    services.Outcome.AWAITING_CONFIRMATION: status.HTTP_202_ACCEPTED,
    services.Outcome.ALREADY_GIVEN: status.HTTP_200_OK,
}


@extend_schema(
    summary="Say whether a closed pin is really fixed: once per person per closure",
    description=(
        "A signed-in person with a verified address counts at once; anyone else gives "
        "`email` and gets a confirmation link. Enough distinct people (one per network) "
        "saying `still_there` within the team's window reopen the pin. The answer names no "
        "one."
    ),
    request={
        "application/json": FeedbackInputSerializer,
        "multipart/form-data": FeedbackInputSerializer,
    },
    responses={
        201: OpenApiResponse(FeedbackResultSerializer, description="Counted (maybe reopened)."),
        202: OpenApiResponse(
            FeedbackResultSerializer, description="A confirmation link was sent to `email`."
        ),
        200: OpenApiResponse(
            FeedbackResultSerializer, description="Already given: nothing counted twice."
        ),
        400: None,
        404: None,
        429: OpenApiResponse(description="Too many submissions from this client."),
    },
)
class IdeaFeedback(APIView):
    # JSON as everywhere, and multipart/form-data for a dispute sent with a photo.
    parser_classes = [JSONParser, MultiPartParser]

    def post(self, request: Request, pk: int) -> Response:
        idea = _pin(request, pk)
        given = FeedbackInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        result = services.feedback_give(
            idea=idea,
            verdict=data["verdict"],
            note=data["note"],
            photo=data.get("photo"),
            user=request.user,
            email=data["email"],
            ip_hash=ratelimit.client_address_hash(request),
            source=FixFeedback.Source.API,
            rate_identity=ratelimit.client_identity(request),
        )
        counts = Idea.objects.values("status", "fix_confirmed_count", "dispute_count").get(
            pk=idea.pk
        )
        return Response(
            {
                "outcome": result.outcome.value,
                "counted": result.counted,
                "detail": result.message,
                **counts,
            },
            status=STATUS_OF[result.outcome],
        )
