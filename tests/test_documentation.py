"""Facts the documentation states that the code must keep true."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_environment_variable_is_in_the_settings_table():
    used = set()
    for path in (ROOT / "src" / "pydcom").rglob("*.py"):
        used |= set(re.findall(r"\bPYDCOM_[A-Z_]+\b", path.read_text()))
    documented = set(re.findall(r"`(PYDCOM_[A-Z_]+)`", (ROOT / "docs" / "settings.md").read_text()))
    assert used and used <= documented, used - documented
    assert documented <= used, documented - used  # nothing documented that nothing reads


def test_the_license_is_an_spdx_expression():
    """PEP 639: setuptools deprecates the table form and warns on every install."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"][0]
