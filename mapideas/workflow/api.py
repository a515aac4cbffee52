"""The JSON API of the team's workflow on one pin: status changes and internal notes.

Every write goes through the same services as the pages, which check permissions again
under the pin's row lock: these views only translate HTTP."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mapideas.models import (
    ANSWER_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    Idea,
    IdeaNote,
)
from mapideas.pins.api import _detail, _pin
from mapideas.pins.roles import WORK_FORBIDDEN, can_see_internal, can_work_on
from mapideas.plumbing.stored_text import StoredTextSerializerField
from mapideas.workflow import selectors as workflow_selectors
from mapideas.workflow import services

NOTES_FORBIDDEN = gettext_lazy("Internal notes are for the staff who work on this pin's team only.")


# --- the team's workflow -----------------------------------------------------------------------


class StatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Idea.Status.choices)
    # Required for done and declined (the service says so, naming this field).
    public_answer = StoredTextSerializerField(
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
    # The services' `answer` is the API's `public_answer` (mapideas.plumbing.api_errors).
    service_error_fields = {"answer": "public_answer"}

    def post(self, request: Request, pk: int) -> Response:
        idea = _pin(request, pk)
        if not can_work_on(request.user, idea):
            raise PermissionDenied(WORK_FORBIDDEN)
        given = StatusInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
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
        return Response(_detail(idea))

    @staticmethod
    def _original(request: Request, pk: int | None) -> Idea:
        if pk is None:
            raise ValidationError({"duplicate_of": [_("Give the number of the original pin.")]})
        # A public pin only; any other number, the same words as the page's form.
        original = workflow_selectors.merge_original(pk=pk)
        if original is None:
            raise ValidationError({"duplicate_of": [services.NO_SUCH_PIN_MESSAGE]})
        return original


class NoteSerializer(serializers.ModelSerializer):
    """An internal note: staff only, never in any public output. The author is a colleague's
    username (staff see who wrote what)."""

    written_by = serializers.CharField(source="author.get_username", default=None, read_only=True)
    assigned_to = serializers.CharField(
        source="assignee.get_username", default=None, read_only=True
    )
    text = StoredTextSerializerField(max_length=NOTE_MAX_LENGTH)

    class Meta:
        model = IdeaNote
        fields = ["id", "kind", "text", "written_by", "assigned_to", "created_at"]
        read_only_fields = ["id", "kind", "created_at"]


@extend_schema(
    summary="The pin's internal notes (staff of its team and planners read; its team writes)",
    responses={200: NoteSerializer(many=True), 403: None, 404: None},
)
class IdeaNotes(APIView):
    def get(self, request: Request, pk: int) -> Response:
        idea = _pin(request, pk)
        if not can_see_internal(request.user, idea):
            raise PermissionDenied(NOTES_FORBIDDEN)
        return Response(NoteSerializer(workflow_selectors.idea_notes(idea=idea), many=True).data)

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
        note = services.idea_note_add(
            idea=idea, text=given.validated_data["text"], author=request.user
        )
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)
