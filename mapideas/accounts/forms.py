"""Forms of citizens' accounts: sign-up and erasure."""

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mapideas.plumbing.forms import _PageForm

# --- Citizen sign-up ---------------------------------------------------------------------------


class SignupForm(forms.Form):
    """A citizen's sign-up: an address and, optionally, a username (services.citizen_signup
    checks the username, then emails the link that completes it). No password: it is chosen
    on the link's page (SignupPasswordForm), by whoever holds the address."""

    username = forms.CharField(
        label=_("Username (optional)"),
        max_length=150,
        required=False,
        help_text=_(
            "Others may see it: no email address. Leave it empty and we choose one for you "
            "(the email we send tells you which)."
        ),
    )
    email = forms.EmailField(
        label=_("Email"),
        help_text=_(
            "Kept private. We email you a link: there you choose your password. Then we "
            "email you when the pins you send change."
        ),
    )


class SignupPasswordForm(forms.Form):
    """The password of a new account, chosen on the page the sign-up link opens
    (services.signup_confirm checks it with Django's password validators)."""

    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        # What Form.clean returns (its stubs allow None, for overrides that return nothing).
        cleaned = self.cleaned_data
        password, again = cleaned.get("password"), cleaned.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", gettext("The two passwords differ."))
        return cleaned


class EraseAccountForm(_PageForm):
    """Erase one's own account: the password again, so a session left open is not enough."""

    AUTO_ID = "erase_%s"

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Type your password to confirm.")},
    )
