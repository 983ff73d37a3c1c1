"""The `moderator` command (also `python -m moderator`): one click group, one place."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="moderator")
def cli() -> None:
    """Moderator: self-hosted comment moderation."""


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="moderator")
