"""Project hygiene: pinned, consistent dependencies; clean notebooks; lint; make targets."""

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from helpers.config import KIT_ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_packages() -> set[str]:
    project = tomllib.loads((KIT_ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    return {_name(r) for r in requirements}


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (KIT_ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_name(name)] = version.strip()
    return pins


def test_environment_yml_lists_the_same_packages_at_the_pinned_versions():
    environment = yaml.safe_load((KIT_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    listed = dict(line.split("==") for line in pip_section)
    assert {_name(n) for n in listed} == _pyproject_packages()
    pins = _constraints()
    for name, version in listed.items():
        assert pins[_name(name)] == version, f"{name}: environment.yml {version}, " \
                                             f"constraints.txt {pins[_name(name)]}"


def test_every_dependency_is_pinned():
    missing = _pyproject_packages() - set(_constraints())
    assert not missing, f"not pinned in constraints.txt: {missing}"


NOTEBOOKS = sorted((KIT_ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs_and_with_a_parameters_cell(path):
    notebook = json.loads(path.read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    tagged = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    for line in "".join(tagged[0]["source"]).splitlines():
        assert re.match(r'^\w+: \w+ = .+  # \S', line), f"untyped or uncommented: {line}"
    assert notebook["metadata"]["kernelspec"]["name"] == "cvkit"


def test_notebooks_state_the_tables_they_read_and_write():
    for path in NOTEBOOKS[:-1]:
        first = "".join(json.loads(path.read_text())["cells"][0]["source"])
        assert "**reads**" in first and "**writes**" in first, path.name


def test_ruff_passes_on_code_and_notebooks():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed: run `make setup`")
    result = subprocess.run([ruff, "check", "src", "tests", "notebooks", "benchmarks"],
                            cwd=KIT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_help_lists_every_target():
    makefile = (KIT_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, flags=re.M))
    documented = set(re.findall(r"^([a-z-]+):.*## ", makefile, flags=re.M))
    assert targets == documented
