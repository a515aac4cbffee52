"""The JSON API of citizens following one pin: support, comments, follow."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mapideas.models import (
    COMMENT_MAX_LENGTH,
    Comment,
    Idea,
)
from mapideas.participation import selectors, services
from mapideas.participation.supporters import (
    new_supporter_token,
    remember_supporter,
    supporter_hash,
    supporter_token,
)
from mapideas.pins.api import _pin
from mapideas.plumbing import ratelimit
from mapideas.plumbing.stored_text import StoredTextSerializerField
from mapideas.plumbing.throttling import throttle

# --- citizens: support, comments, follow --------------------------------------------------------


class SupportResultSerializer(serializers.Serializer):
    supported = serializers.BooleanField()
    support_count = serializers.IntegerField()


@extend_schema(
    summary="Support the pin: once per signed-in person, anonymously once per browser",
    request=None,
    responses={
        201: SupportResultSerializer,
        200: OpenApiResponse(SupportResultSerializer, description="Already supported."),
        400: None,
        404: None,
        429: OpenApiResponse(description="Too many anonymous supports from this address."),
    },
)
class IdeaSupport(APIView):
    def post(self, request: Request, pk: int) -> Response:
        idea = _pin(request, pk)
        # Anonymous supports only, once the pin is found (MAPIDEAS_RATE_SUPPORT).
        throttle(request, ratelimit.SUPPORT)
        token = None
        if not request.user.is_authenticated:
            # The page's own cookie (mapideas.participation.supporters): once per browser
            # either way.
            token = supporter_token(request) or new_supporter_token()
        created = services.idea_support(
            idea=idea,
            user=request.user,
            token_hash=supporter_hash(token),
        )
        count = Idea.objects.values_list("support_count", flat=True).get(pk=idea.pk)
        response = Response(
            {"supported": True, "support_count": count},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
        if token is not None:
            remember_supporter(response, token)
        return response


class CommentSerializer(serializers.ModelSerializer):
    """A comment as the public sees it: a neutral label for its author (never a name), and
    in place of a hidden comment's text the moderators' reason."""

    # "Citizen #…" or the team's name for a staff reply (Comment.public_author).
    by = serializers.CharField(source="public_author", read_only=True)
    hidden = serializers.BooleanField(source="is_hidden", read_only=True)
    hidden_reason = serializers.CharField(read_only=True)
    text = StoredTextSerializerField(max_length=COMMENT_MAX_LENGTH)

    class Meta:
        model = Comment
        fields = ["id", "by", "text", "created_at", "hidden", "hidden_reason"]
        read_only_fields = ["id", "created_at"]

    def to_representation(self, comment: Comment) -> dict:
        data = super().to_representation(comment)
        if comment.is_hidden:
            data["text"] = ""
        return data


@extend_schema(
    summary="The pin's comments, oldest first",
    responses={200: CommentSerializer(many=True), 404: None},
)
class IdeaComments(APIView):
    def get(self, request: Request, pk: int) -> Response:
        idea = _pin(request, pk)
        return Response(CommentSerializer(selectors.idea_comments(idea=idea), many=True).data)

    @extend_schema(
        summary="Comment on the pin (signed-in people)",
        request=CommentSerializer,
        responses={201: CommentSerializer, 400: None, 403: None, 404: None, 429: None},
    )
    def post(self, request: Request, pk: int) -> Response:
        idea = _pin(request, pk)
        if not request.user.is_authenticated:
            raise PermissionDenied(services.COMMENT_FORBIDDEN)
        given = CommentSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        # As on the pin's page: per account, once well formed (MAPIDEAS_RATE_COMMENTS).
        throttle(request, ratelimit.COMMENTS)
        comment = services.comment_add(
            idea=idea, author=request.user, text=given.validated_data["text"]
        )
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class FollowInputSerializer(serializers.Serializer):
    # Only for someone not signed in: where to write (after they confirm by a link).
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class FollowResultSerializer(serializers.Serializer):
    following = serializers.BooleanField()
    detail = serializers.CharField()


CONFIRM_SENT = gettext_lazy("Almost done: open the link we sent to your email address to confirm.")


@extend_schema(
    summary="Follow the pin: signed in at once, or by email after a confirmation link",
    request=FollowInputSerializer,
    responses={
        200: FollowResultSerializer,
        202: OpenApiResponse(FollowResultSerializer, description="A confirmation link was sent."),
        400: None,
        404: None,
        429: OpenApiResponse(description="Too many follow requests from this address."),
    },
)
class IdeaFollow(APIView):
    def post(self, request: Request, pk: int) -> Response:
        idea = _pin(request, pk)
        if request.user.is_authenticated:
            services.follow(idea=idea, user=request.user)
            detail = (
                _("You follow this pin: we email you when it changes.")
                if request.user.email
                else _("You follow this pin, but your account has no email address to write to.")
            )
            return Response({"following": True, "detail": detail})
        given = FollowInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        if not given.validated_data["email"]:
            raise ValidationError({"email": [_("Give your email address, or sign in.")]})
        throttle(request, ratelimit.FOLLOW)
        services.follow(idea=idea, email=given.validated_data["email"])
        # The same answer whether or not the address already followed: nothing to learn.
        return Response(
            {"following": False, "detail": CONFIRM_SENT}, status=status.HTTP_202_ACCEPTED
        )
