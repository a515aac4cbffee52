"""The JSON API of one pin (issue 4's HTTP contract): its public story, the team's status
changes and internal notes, and citizens' support, comments and follow.

Session login at /accounts/login/ (DRF's SessionAuthentication, so a signed-in POST needs
the CSRF token). Every write goes through the same services as the pages (mapideas.services),
which check permissions again under the pin's row lock: these views only translate HTTP.
Who sees a pin is selectors.visible_idea: a pin that is not public (awaiting its author's
email confirmation, or hidden by moderation) is a 404 for everyone but the staff of its team.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, Throttled, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mapideas import ratelimit, selectors, services
from mapideas.models import (
    ANSWER_MAX_LENGTH,
    COMMENT_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    Comment,
    Idea,
    IdeaNote,
)
from mapideas.roles import WORK_FORBIDDEN, can_see_internal, can_work_on
from mapideas.serializers import IdeaFeatureSerializer
from mapideas.supporters import (
    new_supporter_token,
    remember_supporter,
    supporter_hash,
    supporter_token,
)

NOTES_FORBIDDEN = gettext_lazy("Internal notes are for the staff who work on this pin's team only.")


def _pin(request: Request, pk: int) -> Idea:
    idea = selectors.visible_idea(user=request.user, pk=pk)
    if idea is None:
        raise NotFound(_("No pin with this number."))
    return idea


def _errors(exc: DjangoValidationError, renamed: dict[str, str] | None = None) -> ValidationError:
    """A service's ValidationError as DRF's 400, fields named as the API names them."""
    renamed = renamed or {}
    if hasattr(exc, "error_dict"):
        return ValidationError({renamed.get(k, k): v for k, v in exc.message_dict.items()})
    return ValidationError({"non_field_errors": exc.messages})


# --- the pin and its public story ------------------------------------------------------------


class TimelineEntrySerializer(serializers.Serializer):
    """One public step: where the pin was routed, or a status change / public answer.
    Never who did it (staff names are personal data) nor anything internal."""

    at = serializers.DateTimeField()
    type = serializers.ChoiceField(choices=["routing", "update"])
    # routing: why it moved (created, boundary change, re-assigned) and where to
    cause = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    neighborhood = serializers.CharField(allow_null=True)
    # update: the status change (from == to for an answer alone), the answer, the team
    from_status = serializers.CharField(allow_null=True)
    to_status = serializers.CharField(allow_null=True)
    answer = serializers.CharField(allow_null=True)
    duplicate_of = serializers.IntegerField(allow_null=True)
    team = serializers.CharField()


def _timeline(idea: Idea) -> list[dict]:
    rows = []
    for entry in selectors.idea_timeline(idea=idea):
        row = dict.fromkeys(TimelineEntrySerializer().fields, None) | {"at": entry.created_at}
        if entry.routing is not None:
            event = entry.routing
            row |= {
                "type": "routing",
                "cause": event.cause,
                "reason": event.reason,
                "neighborhood": event.to_neighborhood.name if event.to_neighborhood else None,
                "team": event.to_team.display_name,
            }
        else:
            update = entry.update
            row |= {
                "type": "update",
                "from_status": update.from_status,
                "to_status": update.to_status,
                "answer": update.answer,
                "duplicate_of": update.duplicate_of_id,
                "team": update.team.display_name,
            }
        rows.append(TimelineEntrySerializer(row).data)
    return rows


def _detail(idea: Idea) -> dict:
    """The pin as a GeoJSON Feature (as in /api/ideas/) with its public timeline as a
    foreign member (RFC 7946, 6.1)."""
    fresh = selectors.all_ideas().get(pk=idea.pk)
    return {**IdeaFeatureSerializer(fresh).data, "timeline": _timeline(fresh)}


@extend_schema(
    summary="One pin as a GeoJSON Feature, with its public timeline",
    responses={200: OpenApiResponse(description="A Feature with a `timeline` member."), 404: None},
)
class IdeaDetail(APIView):
    def get(self, request: Request, pk: int) -> Response:
        return Response(_detail(_pin(request, pk)))


# --- the team's workflow -----------------------------------------------------------------------


class StatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Idea.Status.choices)
    # Required for done and declined (the service says so, naming this field).
    public_answer = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=ANSWER_MAX_LENGTH
    )
    # With status "duplicate": the pin this one repeats.
    duplicate_of = serializers.IntegerField(required=False, allow_null=True, default=None)


@extend_schema(
    summary="Change the pin's status, with a public answer (its team's members only)",
    request=StatusInputSerializer,
    responses={
        200: OpenApiResponse(description="The pin after the change, with its timeline."),
        400: OpenApiResponse(description="A forbidden transition or a missing answer, named."),
        403: OpenApiResponse(description="Not a member of the team that owns the pin."),
        404: None,
    },
)
class IdeaStatusChange(APIView):
    def post(self, request: Request, pk: int) -> Response:
        idea = _pin(request, pk)
        if not can_work_on(request.user, idea):
            raise PermissionDenied(WORK_FORBIDDEN)
        given = StatusInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            if data["status"] == Idea.Status.DUPLICATE:
                original = self._original(request, data["duplicate_of"])
                services.idea_mark_duplicate(
                    idea=idea, original=original, answer=data["public_answer"], actor=request.user
                )
            else:
                services.idea_status_change(
                    idea=idea,
                    status=data["status"],
                    answer=data["public_answer"],
                    actor=request.user,
                )
        except DjangoValidationError as exc:
            raise _errors(exc, {"answer": "public_answer"}) from exc
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        return Response(_detail(idea))

    @staticmethod
    def _original(request: Request, pk: int | None) -> Idea:
        if pk is None:
            raise ValidationError({"duplicate_of": [_("Give the number of the original pin.")]})
        original = selectors.visible_idea(user=request.user, pk=pk)
        if original is None:
            raise ValidationError({"duplicate_of": [_("No pin #%(pk)s.") % {"pk": pk}]})
        return original


class NoteSerializer(serializers.ModelSerializer):
    """An internal note: staff only, never in any public output. The author is a colleague's
    username (staff see who wrote what)."""

    written_by = serializers.CharField(source="author.get_username", default=None, read_only=True)
    assigned_to = serializers.CharField(
        source="assignee.get_username", default=None, read_only=True
    )

    class Meta:
        model = IdeaNote
        fields = ["id", "kind", "text", "written_by", "assigned_to", "created_at"]
        read_only_fields = ["id", "kind", "created_at"]
        extra_kwargs = {"text": {"max_length": NOTE_MAX_LENGTH, "allow_blank": False}}


@extend_schema(
    summary="The pin's internal notes (staff of its team and planners read; its team writes)",
    responses={200: NoteSerializer(many=True), 403: None, 404: None},
)
class IdeaNotes(APIView):
    def get(self, request: Request, pk: int) -> Response:
        idea = _pin(request, pk)
        if not can_see_internal(request.user, idea):
            raise PermissionDenied(NOTES_FORBIDDEN)
        return Response(NoteSerializer(selectors.idea_notes(idea=idea), many=True).data)

    @extend_schema(
        summary="Add an internal note (members of the pin's team)",
        request=NoteSerializer,
        responses={201: NoteSerializer, 400: None, 403: None, 404: None},
    )
    def post(self, request: Request, pk: int) -> Response:
        idea = _pin(request, pk)
        if not can_work_on(request.user, idea):
            raise PermissionDenied(WORK_FORBIDDEN)
        given = NoteSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            note = services.idea_note_add(
                idea=idea, text=given.validated_data["text"], author=request.user
            )
        except DjangoValidationError as exc:
            raise _errors(exc) from exc
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


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
        token = None
        if not request.user.is_authenticated:
            retry_after = ratelimit.hit(request, "support", settings.MAPIDEAS_RATE_SUPPORT)
            if retry_after is not None:
                raise Throttled(wait=retry_after)
            # The page's own cookie (mapideas.supporters): once per browser either way.
            token = supporter_token(request) or new_supporter_token()
        try:
            created = services.idea_support(
                idea=idea,
                user=request.user,
                token_hash=supporter_hash(token),
            )
        except DjangoValidationError as exc:
            raise _errors(exc) from exc
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

    class Meta:
        model = Comment
        fields = ["id", "by", "text", "created_at", "hidden", "hidden_reason"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"text": {"max_length": COMMENT_MAX_LENGTH, "allow_blank": False}}

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
        retry_after = ratelimit.hit(request, "comment", settings.MAPIDEAS_RATE_COMMENTS)
        if retry_after is not None:
            raise Throttled(wait=retry_after)
        try:
            comment = services.comment_add(
                idea=idea, author=request.user, text=given.validated_data["text"]
            )
        except DjangoValidationError as exc:
            raise _errors(exc) from exc
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
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
        retry_after = ratelimit.hit(request, "follow", settings.MAPIDEAS_RATE_FOLLOW)
        if retry_after is not None:
            raise Throttled(wait=retry_after)
        try:
            services.follow(idea=idea, email=given.validated_data["email"])
        except DjangoValidationError as exc:
            raise _errors(exc) from exc
        # The same answer whether or not the address already followed: nothing to learn.
        return Response(
            {"following": False, "detail": CONFIRM_SENT}, status=status.HTTP_202_ACCEPTED
        )
