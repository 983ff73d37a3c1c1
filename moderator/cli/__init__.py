"""The `moderator` command (also `python -m moderator`): one click group, one place.

The group is defined here; each module of this package adds its commands to it:
score (`moderator score`), serve (`serve`, `init-db`), sites (`sites ...`), users
(`users ...`); desk, integration and model commands add themselves from their own modules.
"""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="moderator")
def cli() -> None:
    """Moderator: self-hosted comment moderation."""


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="moderator")


# Each module below adds its commands to `cli` (or to the groups it defines).
from moderator import desk_commands  # noqa: E402, F401
from moderator import integration_commands  # noqa: E402, F401
from moderator import model_commands  # noqa: E402, F401
from moderator.cli import score  # noqa: E402, F401
from moderator.cli import serve  # noqa: E402, F401
from moderator.cli import sites  # noqa: E402, F401
from moderator.cli import users  # noqa: E402, F401
