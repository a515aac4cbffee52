"""Writes of citizens' accounts: sign-up."""

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy

from mapideas.participation.services import clean_email

if TYPE_CHECKING:
    # A lazily translated message (gettext_lazy's), known to the type checker only.
    from django_stubs_ext import StrPromise

DUPLICATE_EMAIL_MESSAGE = gettext_lazy(
    "An account already uses this email address: log in instead."
)


DUPLICATE_USERNAME_MESSAGE = gettext_lazy("This username is taken: choose another.")


@transaction.atomic
def citizen_signup(*, username: str, email: str, password: str) -> User:
    """A citizen's account (/accounts/signup/): a username (the email address when none is
    given), an email address no other account uses, and a password Django's validators
    (AUTH_PASSWORD_VALIDATORS) accept. A ValidationError names each field in fault.

    The email check is a read before the write, not a database constraint (auth_user has
    none on email): two sign-ups racing with one address could both pass; the username's
    unique index still stops a double account."""
    email = clean_email(email)
    username = (username or "").strip() or email
    user_model = get_user_model()
    errors: dict[str, list[str | StrPromise]] = {}
    if user_model.objects.filter(email__iexact=email).exists():
        errors["email"] = [DUPLICATE_EMAIL_MESSAGE]
    user = user_model(username=username, email=email)
    try:
        user.full_clean(exclude=["password"], validate_unique=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if user_model.objects.filter(username__iexact=username).exists():
        errors.setdefault("username", []).append(DUPLICATE_USERNAME_MESSAGE)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    return user
