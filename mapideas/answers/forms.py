"""The form of a team's response template (services.template_save checks it again)."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mapideas.answers.services import AUTOMATIC_STATUSES, PLACEHOLDERS, text_field
from mapideas.models import (
    ANSWER_MAX_LENGTH,
    RESPONSE_TEMPLATE_NAME_MAX_LENGTH,
    Category,
    Idea,
    ResponseTemplate,
)
from mapideas.plumbing.stored_text import StoredTextField


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.display_name


class TemplateForm(forms.Form):
    """A template's name, category (or any), automatic status (or none) and its text in each
    site language (`texts_<code>`; the site's own required)."""

    name = StoredTextField(label=_("Name"), max_length=RESPONSE_TEMPLATE_NAME_MAX_LENGTH)
    category = CategoryChoiceField(
        label=_("Category"),
        queryset=Category.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label=_("Any category"),
    )
    status = forms.ChoiceField(
        label=_("Answer automatically when the status becomes"),
        required=False,
        choices=[("", _("Never (only when chosen)"))]
        + [(s, Idea.Status(s).label) for s in AUTOMATIC_STATUSES],
        help_text=_(
            "When the team sets this status without writing an answer, this template is the "
            "public answer (a template for the pin's category before one for any category)."
        ),
    )

    def __init__(self, *args, template: ResponseTemplate | None = None, **kwargs) -> None:
        if template is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": template.name,
                    "category": template.category,
                    "status": template.status,
                    **{text_field(code): text for code, text in template.texts.items()},
                },
            )
        super().__init__(*args, **kwargs)
        placeholders = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        for code, language in settings.LANGUAGES:
            default = code == settings.LANGUAGE_CODE
            self.fields[text_field(code)] = StoredTextField(
                label=gettext("Text in %(language)s") % {"language": language},
                max_length=ANSWER_MAX_LENGTH,
                required=default,
                widget=forms.Textarea(attrs={"rows": 5}),
                help_text=(
                    gettext("Required. Placeholders: %(placeholders)s.")
                    if default
                    else gettext(
                        "Optional: pins in this language get the text in %(default)s when it "
                        "is empty. Placeholders: %(placeholders)s."
                    )
                )
                % {
                    "placeholders": placeholders,
                    "default": dict(settings.LANGUAGES)[settings.LANGUAGE_CODE],
                },
            )

    def texts(self) -> dict[str, str]:
        return {
            code: self.cleaned_data.get(text_field(code)) or "" for code, _n in settings.LANGUAGES
        }
