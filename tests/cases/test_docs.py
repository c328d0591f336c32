"""The README's workflow section is generated from the table and must match it."""

from __future__ import annotations

from pathlib import Path

from workflows.docs import END_MARKER, START_MARKER, render_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(text: str) -> str:
    start = text.index(START_MARKER)
    return text[start:text.index(END_MARKER, start) + len(END_MARKER)]


def test_readme_workflow_section_matches_the_table():
    """Edit workflows/machine.py, then run `flask --app wsgi docs workflow`."""
    text = README.read_text(encoding="utf-8")
    assert _section(text) == render_markdown()
    assert "## Workflow" in text[:text.index(START_MARKER)]


def test_docs_command_rewrites_a_stale_section(app, tmp_path):
    """The command swaps the marked section and leaves the rest of the file alone."""
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{START_MARKER}\nold table\n{END_MARKER}\n\n## After\n",
                      encoding="utf-8")
    runner = app.test_cli_runner()
    check = runner.invoke(args=["docs", "workflow", "--readme", str(readme), "--check"])
    assert check.exit_code == 1
    assert "stale" in check.output
    assert "old table" in readme.read_text(encoding="utf-8")
    result = runner.invoke(args=["docs", "workflow", "--readme", str(readme)])
    assert result.exit_code == 0, result.output
    assert readme.read_text(encoding="utf-8") == (
        f"# Title\n\n{render_markdown()}\n\n## After\n")
    again = runner.invoke(args=["docs", "workflow", "--readme", str(readme), "--check"])
    assert again.exit_code == 0
    assert "up to date" in again.output


def test_docs_command_needs_the_markers(app, tmp_path):
    """A README without the markers is an error, not a silent no-op."""
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["docs", "workflow", "--readme", str(readme)])
    assert result.exit_code == 1
    assert "workflow" in result.output
