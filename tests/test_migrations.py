"""The models and the migration history agree: moving code between rooms (or any change to a
model) never leaves a migration unwritten."""

from io import StringIO

import pytest
from django.core.management import call_command


# makemigrations reads the applied history to check its consistency.
@pytest.mark.django_db
def test_the_models_need_no_new_migration():
    out = StringIO()
    # --check exits non-zero (SystemExit) when a migration is missing.
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()
