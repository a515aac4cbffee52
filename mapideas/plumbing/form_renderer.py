"""How form widgets are drawn: Django's Jinja2 copies of its widget templates, and Django's own
templates for the widgets that have no Jinja2 copy (the admin's, GeoDjango's map widget).

Django keeps its two sets of widget templates alike, so the HTML is the same either way; a
Jinja2 template is compiled to Python, where a Django template is walked node by node. A pin's
page draws up to four forms for anyone (follow, report, and the two "is it fixed?" forms), and
their widgets were a tenth of its time: 1.7 ms of about 15. The pages themselves stay Django
templates.
"""

from django.forms.renderers import BaseRenderer, DjangoTemplates, Jinja2
from django.template import TemplateDoesNotExist


class FormRenderer(BaseRenderer):
    """FORM_RENDERER: each widget template from Django's Jinja2 set where it has one, else
    from Django's templates (as the default renderer finds them, in the apps included)."""

    def __init__(self) -> None:
        self.jinja2 = Jinja2()
        self.django = DjangoTemplates()
        # The names Jinja2 lacks, so that each is looked for there once per process.
        self.django_only: set[str] = set()

    def compile_templates(self) -> None:
        """Compile every Jinja2 widget template now (a process's boot step, mapideas.warmup),
        not on the first page each process draws them."""
        environment = self.jinja2.engine.env  # type: ignore[attr-defined]  # a Jinja2 backend
        for name in environment.list_templates(extensions=["html"]):
            environment.get_template(name)

    def get_template(self, template_name: str):
        if template_name not in self.django_only:
            try:
                return self.jinja2.get_template(template_name)
            except TemplateDoesNotExist:
                self.django_only.add(template_name)
        return self.django.get_template(template_name)
