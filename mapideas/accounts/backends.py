"""Signing in with a local password: Django's ModelBackend, closed to staff accounts when a
city signs its staff in through its identity provider (MAPIDEAS_STAFF_PASSWORDS off).

Staff accounts are team members, planners, is_staff and superusers
(selectors.is_staff_account); citizens keep their passwords. The rule holds for every page
that checks a password (the login page, the admin's), and for sessions already open: Django
asks the backend that opened a session again at each request (`get_user`), so a staff
session opened with a password ends when passwords are switched off.
"""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser, User

from mapideas.accounts.selectors import is_staff_account


def local_password_allowed(user: User) -> bool:
    return settings.MAPIDEAS_STAFF_PASSWORDS or not is_staff_account(user)


class PasswordBackend(ModelBackend):
    def user_can_authenticate(self, user: User | AnonymousUser | None) -> bool:
        return (
            super().user_can_authenticate(user)
            and isinstance(user, User)
            and local_password_allowed(user)
        )
