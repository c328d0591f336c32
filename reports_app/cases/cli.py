"""`flask --app wsgi docs workflow`: the README's workflow section, generated from the table."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from workflows.docs import render_markdown, replace_section

README = Path(__file__).resolve().parents[2] / "README.md"

docs_cli = AppGroup("docs", help="Generate documentation from the code.")


@docs_cli.command("workflow")
@click.option("--readme", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=README, show_default=True, help="The README to update.")
@click.option("--check", is_flag=True, help="Only check: exit 1 when the section is stale.")
def workflow_docs_command(readme: Path, check: bool) -> None:
    """Rewrite the README's workflow section from workflows/machine.py."""
    text = readme.read_text(encoding="utf-8")
    try:
        updated = replace_section(text, render_markdown())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if updated == text:
        click.echo(f"{readme}: workflow section is up to date")
        return
    if check:
        raise click.ClickException(
            f"{readme}: workflow section is stale; run `flask --app wsgi docs workflow`")
    readme.write_text(updated, encoding="utf-8")
    click.echo(f"{readme}: workflow section rewritten")
