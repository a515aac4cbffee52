"""The page an "Is it fixed?" email's links open (mapideas.outcomes.fix_checks).

A GET shows the pin and the two answers, and never answers: mail scanners open links.
`?answer=yes|no` (the link that was clicked) puts that answer first. Each answer is a POST
form with the CSRF token, as every form of the site: "yes" in one press, "no" with a short
note (required) and an optional photo.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from mapideas.models import FEEDBACK_NOTE_MAX_LENGTH, FixFeedback
from mapideas.outcomes import fix_checks
from mapideas.outcomes.fix_checks import FixCheckLink, LinkState
from mapideas.pins import photos
from mapideas.pins import selectors as pins_selectors
from mapideas.plumbing import ratelimit
from mapideas.plumbing.forms import _PageForm
from mapideas.plumbing.stored_text import StoredTextField
from mapideas.submission.forms import photo_field

VERDICTS = {"yes": FixFeedback.Verdict.FIXED, "no": FixFeedback.Verdict.STILL_THERE}
NOTE_REQUIRED_MESSAGE = _("Say in a few words what is still there: it helps the team.")

# A link in any state but OPEN, as a page: its status code on a GET and on a POST.
STATUS = {
    LinkState.ANSWERED: (200, 409),
    LinkState.EXPIRED: (410, 410),
    LinkState.NOT_DONE: (200, 409),
    LinkState.GONE: (404, 404),
}


class FixAnswerForm(_PageForm):
    """One answer to "Is it fixed?": `answer` travels hidden in each of the page's two forms;
    the note and the photo belong to "no"."""

    answer = forms.ChoiceField(
        choices=[("yes", _("Yes, it is fixed")), ("no", _("No, it is still there"))],
        widget=forms.HiddenInput,
        error_messages={"required": _("Choose “yes” or “no”.")},
    )
    note = StoredTextField(
        label=_("What is still there?"),
        max_length=FEEDBACK_NOTE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photo = photo_field()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Read per form, not at import: in the request's language; the photo's limits come
        # from settings.
        self.fields["note"].help_text = gettext(
            "Needed for “no”: for the team, at most %(max)s characters. The public sees only "
            "how many people answered."
        ) % {"max": FEEDBACK_NOTE_MAX_LENGTH}
        self.fields["photo"].help_text = photos.limits_text()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("answer") == "no" and not cleaned.get("note") and "note" not in self.errors:
            self.add_error("note", NOTE_REQUIRED_MESSAGE)
        return cleaned


def _page(
    request: HttpRequest,
    link: FixCheckLink | None,
    *,
    form: FixAnswerForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict = {"link": link, "state": link.state if link else None}
    if link is not None and link.state != LinkState.GONE:
        idea = link.check.idea
        chosen = form["answer"].value() if form is not None else request.GET.get("answer")
        context |= {
            "idea": idea,
            "photo": pins_selectors.idea_photo(idea=idea),
            "form": form or FixAnswerForm(),
            "no_first": chosen == "no",
        }
    return render(request, "mapideas/fix_check.html", context, status=status)


@require_http_methods(["GET", "POST"])
def fix_check(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the pin and its two answers (answers nothing). POST: the answer, once; then the
    pin's page. A token MapIdeas never sent is a 404; a used, expired or outdated link says
    so and answers nothing."""
    link = fix_checks.fix_check_of_link(token=token)
    if link is None:
        return _page(request, None, status=404)
    if link.state != LinkState.OPEN:
        on_get, on_post = STATUS[link.state]
        return _page(request, link, status=on_post if request.method == "POST" else on_get)
    if request.method != "POST":
        return _page(request, link)
    form = FixAnswerForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, link, form=form, status=400)
    # Counted as every submission, outside the answer's transaction (ratelimit.py).
    refused = ratelimit.too_many(request, ratelimit.SUBMISSIONS)
    if refused is not None:
        return refused
    try:
        answered = fix_checks.fix_check_answer(
            token=token,
            verdict=VERDICTS[form.cleaned_data["answer"]],
            note=form.cleaned_data["note"],
            photo=form.cleaned_data["photo"],
            ip_hash=ratelimit.client_address_hash(request),
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _page(request, link, form=form, status=400)
    if answered is None:  # the pin was deleted meanwhile
        return _page(request, None, status=404)
    if answered.result is None:  # used, expired or reopened meanwhile
        link = FixCheckLink(answered.check, answered.state)
        return _page(request, link, status=STATUS[answered.state][1])
    messages.success(request, answered.result.message)
    return redirect(answered.check.idea)
