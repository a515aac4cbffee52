"""Form widgets (mapideas.plumbing.form_renderer) are drawn from Django's Jinja2 widget
templates, with the HTML Django's own templates draw, and from Django's templates where Jinja2
has none (the admin's widgets)."""

import re

import pytest
from django import forms
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.template.backends.jinja2 import Template as Jinja2Template

from mapideas.outcomes.forms import FeedbackForm
from mapideas.participation.forms import CommentForm, FollowForm
from mapideas.plumbing.form_renderer import FormRenderer


class EveryWidget(forms.Form):
    text = forms.CharField(max_length=20, help_text="Help <b>text</b>")
    email = forms.EmailField(required=False)
    number = forms.IntegerField(min_value=1)
    when = forms.DateTimeField(required=False)
    kind = forms.ChoiceField(choices=[("a", "A & co"), ("b", "<B>")], widget=forms.RadioSelect)
    many = forms.MultipleChoiceField(
        choices=[("x", "X"), ("y", "Y")], widget=forms.CheckboxSelectMultiple, required=False
    )
    pick = forms.ChoiceField(choices=[("", "---"), ("1", "One")])
    note = forms.CharField(widget=forms.Textarea)
    agree = forms.BooleanField()
    photo = forms.ImageField(required=False)
    hidden = forms.CharField(widget=forms.HiddenInput, initial="\"quoted\" 'single' <value>")


def drawn(form) -> list[str]:
    """Each field's widget and the form's errors, with runs of white space as one space and
    none between tags, and quotes escaped as Django escapes them: the two sets of templates
    differ only there (a browser shows both the same). Jinja2 writes " as &#34; and ' as
    &#39;; the options of radio buttons and check boxes have other line breaks."""
    parts = [str(field) for field in form] + [str(form.errors), str(form.non_field_errors())]
    return [
        re.sub(r">\s+<", "><", re.sub(r"\s+", " ", part))
        .replace("&#34;", "&quot;")
        .replace("&#39;", "&#x27;")
        .strip()
        for part in parts
    ]


@pytest.mark.parametrize(
    "make",
    [
        lambda renderer: EveryWidget(renderer=renderer),
        lambda renderer: EveryWidget({"text": "<script>", "number": "0"}, renderer=renderer),
        lambda renderer: FollowForm(renderer=renderer),
        lambda renderer: CommentForm({"text": ""}, renderer=renderer),
        lambda renderer: FeedbackForm(verdict="still_there", needs_email=True, renderer=renderer),
    ],
)
def test_widgets_are_drawn_as_djangos_own_templates_draw_them(make):
    assert drawn(make(FormRenderer())) == drawn(make(DjangoTemplates()))


def test_it_is_the_renderer_of_every_form_and_draws_with_jinja2():
    renderer = get_default_renderer()

    assert isinstance(renderer, FormRenderer)
    assert isinstance(renderer.get_template("django/forms/widgets/input.html"), Jinja2Template)


@pytest.mark.django_db
def test_a_widget_jinja2_lacks_is_drawn_from_djangos_templates():
    from django.contrib import admin

    from neighborhoods.models import Neighborhood

    field = Neighborhood._meta.get_field("team")
    widget = RelatedFieldWidgetWrapper(forms.Select(), field.remote_field, admin.site)

    html = widget.render("team", None, renderer=FormRenderer())

    assert 'class="related-widget-wrapper"' in html and "<select" in html
