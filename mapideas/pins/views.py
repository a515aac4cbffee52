"""The pin's page and its photo (the page itself is put together in mapideas.pins.page)."""

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from mapideas.models import ID_MAX, Idea
from mapideas.pins import photos
from mapideas.pins import selectors as pins_selectors
from mapideas.pins.page import idea_page, visible_pin_or_404


def idea_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A pin's public page: where it is, which team has it, its status, its public timeline
    (routing and the team's answers), its duplicates.

    Staff who may work on the pin also see the workflow forms; staff who may read its
    internal notes see them (never anyone else: mapideas.pins.roles). A pin awaiting its author's
    email confirmation is a 404 for everyone but those staff."""
    return idea_page(request, visible_pin_or_404(request, pk))


# Public photos may sit in shared caches for a day: a photo hidden by moderators (or a pin
# deleted) can linger there that long, which is why it is not a year.
PHOTO_CACHE_SECONDS = 24 * 3600


@require_safe
def idea_photo(request: HttpRequest, pk: int) -> FileResponse:
    """A pin's photo, as stored (a re-encoded JPEG without metadata), for whoever may see the
    pin: anyone for a public pin, only its staff for one awaiting confirmation or hidden by
    moderation (a 404 for everyone else, as the page). The file is outside any web root."""
    return photo_response(visible_pin_or_404(request, pk))


@require_safe
def timeline_photo(request: HttpRequest, pk: int, photo_pk: int) -> FileResponse:
    """A before or after photo of a team's answer on pin `pk`, for whoever may see the pin
    (as idea_photo: the public while it is public, only its staff otherwise); a 404 once
    moderators hid it, or for a photo of another pin."""
    idea = visible_pin_or_404(request, pk)
    photo = pins_selectors.timeline_photo(idea=idea, pk=photo_pk) if photo_pk <= ID_MAX else None
    if photo is None:
        raise Http404("No such photo.")
    return _file_response(idea, photo.name)


def photo_response(idea: Idea) -> FileResponse:
    """The photo of `idea`, a pin the caller has checked this person may see: a 404 if it has
    none (or moderators hid it). Cached publicly only while the pin is public."""
    photo = pins_selectors.idea_photo(idea=idea)
    if photo is None:
        raise Http404("This pin has no photo.")
    return _file_response(idea, photo.name)


def _file_response(idea: Idea, name: str) -> FileResponse:
    try:
        stream = photos.photo_storage().open(name, "rb")
    except FileNotFoundError:
        raise Http404("This pin has no photo.") from None
    response = FileResponse(stream, content_type=photos.CONTENT_TYPE)
    # Never a download with the upload's name (it is not kept); shown in the page.
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    if not idea.is_public:
        # Seen by its staff or its confirmation link's holder only: no shared cache may keep it.
        response["Cache-Control"] = "private, no-store"
    else:
        response["Cache-Control"] = f"public, max-age={PHOTO_CACHE_SECONDS}"
    return response
