"""The pin's page, composed of every room's part: its story, the team's forms, following it.

Every form on the page posts to its own room's view, which re-renders the page with its errors
through `idea_page`."""

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from mapideas.backoffice.pin_page import forward_context
from mapideas.handoffs.pin_page import handoff_context
from mapideas.map import maps
from mapideas.models import HIDE_REASON_MAX_LENGTH, Idea
from mapideas.moderation.forms import FlagForm
from mapideas.outcomes.pin_page import outcome_context
from mapideas.participation import selectors
from mapideas.participation.forms import CommentForm, FollowForm
from mapideas.participation.supporters import (
    supporter_hash,
    supporter_token,
)
from mapideas.pins import selectors as pins_selectors
from mapideas.pins.places import place_phrase
from mapideas.pins.roles import can_reassign, can_see_internal, can_work_on
from mapideas.workflow import selectors as workflow_selectors
from mapideas.workflow import statuses as workflow
from mapideas.workflow.forms import AssignForm, DuplicateForm, NoteForm, ReassignForm, StatusForm


def visible_pin_or_404(request: HttpRequest, pk: int) -> Idea:
    """The pin `pk` as this person may see it (selectors.visible_idea): a pin that is not
    public is the same 404 as one that does not exist, for all but its team's staff."""
    idea = pins_selectors.visible_idea(user=request.user, pk=pk)
    if idea is None:
        raise Http404("No pin with this number.")
    return idea


def form_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def idea_page(
    request: HttpRequest, idea: Idea, *, forms: dict | None = None, status: int = 200
) -> HttpResponse:
    if idea.neighborhood_id is not None:
        rendered = maps.neighborhood_map(idea.neighborhood_id)
    else:  # a pin in a gap between neighborhoods: show its surroundings
        rendered = maps.render(maps.new_map(bounds=idea.location.buffer(0.005).extent))
    forms = forms or {}
    context: dict = {
        "idea": idea,
        "map": rendered,
        "timeline": pins_selectors.idea_timeline(idea=idea),
        "duplicate_of": (
            pins_selectors.public_ideas().filter(pk=idea.duplicate_of_id).first()
            if idea.duplicate_of_id
            else None
        ),
        "duplicates": workflow_selectors.idea_duplicates(idea=idea),
        "photo": pins_selectors.idea_photo(idea=idea),
        # "near <a place of the gazetteer>" or "in <its neighborhood>", beside its coordinates.
        "place": place_phrase(idea),
        "reassign_form": None,
    }
    context.update(following_context(request, idea, forms))
    # "Is it really fixed?": residents' verdicts once the pin was closed.
    context.update(outcome_context(request, idea, forms))
    # Handed to an outside body: the team's part (its forms, the body's report).
    context.update(handoff_context(request, idea, forms))
    # Forwarded to the city's back office: where, and where it stands there (its staff only).
    context.update(forward_context(request, idea))
    user = request.user
    if can_reassign(user, idea):
        context["reassign_form"] = forms.get("reassign_form") or ReassignForm(idea=idea)
    if can_see_internal(user, idea):
        context["notes"] = workflow_selectors.idea_notes(idea=idea)
        context["assignee"] = idea.assignee
        context["sees_internal"] = True
    if can_work_on(user, idea):
        context["status_form"] = forms.get("status_form") or StatusForm(idea=idea)
        context["note_form"] = forms.get("note_form") or NoteForm()
        context["assign_form"] = forms.get("assign_form") or AssignForm(
            team=idea.team, initial={"assignee": idea.assignee}
        )
        if Idea.Status.DUPLICATE in workflow.next_statuses(idea.status):
            context["duplicate_form"] = forms.get("duplicate_form") or DuplicateForm()
    return render(request, "mapideas/idea_detail.html", context, status=status)


# --- Citizens follow what happens: support, comments, follow ---------------------------------


def following_context(request: HttpRequest, idea: Idea, forms: dict) -> dict:
    """What the page's support, follow and comments sections need."""
    user = request.user
    signed_in = user.is_authenticated
    token_hash = "" if signed_in else supporter_hash(supporter_token(request))
    return {
        "comments": selectors.idea_comments(idea=idea),
        "supported": selectors.idea_supported(idea=idea, user=user, token_hash=token_hash),
        "following": signed_in and selectors.idea_followed(idea=idea, user=user),
        "comment_form": (forms.get("comment_form") or CommentForm()) if signed_in else None,
        "follow_form": None if signed_in else (forms.get("follow_form") or FollowForm()),
        "may_moderate": can_see_internal(user, idea),
        "hide_form": forms.get("hide_form"),
        "hide_reason_max": HIDE_REASON_MAX_LENGTH,
        # "Report this pin" (mapideas.moderation.views.idea_flag).
        "flag_form": forms.get("flag_form") or FlagForm(),
    }
