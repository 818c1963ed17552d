"""The README is the contract a newcomer follows: it must not drift from the code (datasette's idea)."""

import re
from pathlib import Path

from agkg.cli import main
from agkg.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented():
    missing = [name for name in SETTINGS if f"| `{name}` |" not in README]
    assert not missing, f"settings missing from the README's table: {missing}"


def test_every_command_is_documented():
    missing = [name for name in main.commands if f"`agkg {name}" not in README]
    assert not missing, f"commands missing from the README: {missing}"


def test_ci_runs_the_readme_test_command():
    first_screen = README.split("<!-- The rest of this file is reference. -->")[0]
    commands = re.findall(r"```sh\n(.*?)```", first_screen, re.S)
    assert len(commands) == 2, "the first screen gives the serve command and the test command"
    test_command = commands[1].strip().split("&&")[-1].strip()
    assert test_command == "python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()
