"""The base of the forms that share one page (several per pin page): ids prefixed per form."""

from django import forms

# --- The district teams' workflow -----------------------------------------------------------


class _PageForm(forms.Form):
    """A form whose field ids start with AUTO_ID's prefix rather than "id_"."""

    AUTO_ID = "id_%s"

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", self.AUTO_ID)
        super().__init__(*args, **kwargs)
