"""The accessibility suite's own setup: axe-core comes from npm at the pinned version, and
its absence fails the run rather than skipping the checks."""

import json
from pathlib import Path

import pytest

from tests.a11y.conftest import AXE, axe_script

ROOT = Path(__file__).resolve().parents[2]


def test_a_missing_axe_fails_loudly(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="axe-core is missing"):
        axe_script(tmp_path / "axe.min.js")


def test_axe_is_installed_at_the_pinned_version():
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["axe-core"]
    assert pinned[0].isdigit(), "pin axe-core to an exact version"
    locked = json.loads((ROOT / "package-lock.json").read_text())
    assert locked["packages"]["node_modules/axe-core"]["version"] == pinned
    installed = json.loads((AXE.parent / "package.json").read_text())["version"]
    assert installed == pinned
