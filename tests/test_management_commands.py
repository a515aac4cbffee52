"""Every management command of the project follows one rule about dry runs, and says so.

A command that imports or changes many rows is a dry run unless --commit
(mapideas.plumbing.commands), and its --help ends with the same sentence. The others are
listed below, each with the reason it needs no dry run; a new command is one or the other.
"""

from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

from mapideas.plumbing.commands import DRY_RUN_HELP

ROOT = Path(__file__).resolve().parents[1]
APPS = ("mapideas", "neighborhoods", "geodata")

# The commands that do not import or change many rows, and why no dry run fits them.
NOT_MANY_ROWS = {
    # Reads the database and writes a file (whole or not at all).
    "export_layer": "reads only",
    # Sends the emails that are due: a sent email cannot be rolled back, so a dry run could
    # not do what a real run does. Run every minute, it has its own rule (the outbox).
    "send_notifications": "its own rule",
    # Sends the webhook deliveries that are due: a delivered POST cannot be taken back.
    "send_webhooks": "its own rule",
    # Forwards pins to the back offices and reads their answers: a POST cannot be taken back.
    "sync_backoffice": "its own rule",
    # Each changes the one thing a person named on the command line.
    "add_member": "one thing named",
    "open311_key": "one thing named",
    "erase_citizen": "one thing named",
}


def project_commands() -> dict[str, str]:
    """Each command of the project's apps, by name, with its app."""
    return {name: app for name, app in get_commands().items() if app in APPS}


def help_of(name: str) -> tuple[str, dict[str, str | None]]:
    """The command's --help, whitespace folded, and each option string with its help."""
    command = load_command_class(project_commands()[name], name)
    parser = command.create_parser("manage.py", name)
    options = {
        option: action.help for action in parser._actions for option in action.option_strings
    }
    return " ".join(parser.format_help().split()), options


def test_the_commands_found_are_the_files_under_management_commands():
    files = {
        path.stem
        for app in APPS
        for path in (ROOT / app / "management" / "commands").glob("*.py")
        if path.stem != "__init__"
    }
    assert set(project_commands()) == files
    assert len(files) >= 11, "no commands found: has the layout changed?"


def test_the_list_of_exceptions_names_only_commands_that_exist():
    assert set(NOT_MANY_ROWS) <= set(project_commands())


@pytest.mark.parametrize("name", sorted(project_commands()))
def test_every_command_takes_commit_and_says_so_or_is_a_listed_exception(name):
    help_text, options = help_of(name)
    if name in NOT_MANY_ROWS:
        assert "--commit" not in options, f"{name} takes --commit: remove it from NOT_MANY_ROWS"
    else:
        assert "--commit" in options, f"{name} neither takes --commit nor is in NOT_MANY_ROWS"
        assert " ".join(DRY_RUN_HELP.split()) in help_text
        # The one shared definition (add_commit_argument), worded the same everywhere.
        assert options["--commit"] == (
            "write the changes (without it: a dry run, nothing is written)"
        )


@pytest.mark.parametrize(
    "name", sorted(name for name, why in NOT_MANY_ROWS.items() if why == "one thing named")
)
def test_a_command_that_changes_one_named_thing_says_it_writes_at_once(name):
    help_text, _options = help_of(name)
    assert "It writes at once, with no dry run and no --commit: it changes only" in help_text
