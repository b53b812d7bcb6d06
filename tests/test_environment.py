"""environment.yml (conda) and pyproject.toml (pip, make) must pin the same packages alike."""
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from nbutils.datasets import trusted_sha256

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;,]+)\s*$")


def normalize(name: str) -> str:
    """PEP 503 name: case, '-', '_' and '.' do not distinguish packages."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: list[str], where: str) -> dict[str, str]:
    out = {}
    for req in requirements:
        match = PIN.match(req)
        assert match, f"{where}: {req!r} is not pinned as name==version"
        name = normalize(match.group(1))
        assert name not in out, f"{where}: {name} listed twice"
        out[name] = match.group(2)
    return out


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def conda_env() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def conda_pip_section() -> list[str]:
    sections = [d["pip"] for d in conda_env()["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, "environment.yml needs exactly one pip section"
    return sections[0]


def test_pyproject_pins_every_dependency():
    deps = pyproject()["project"]["dependencies"]
    assert pins(deps, "pyproject.toml"), "pyproject.toml lists no dependencies"


def test_environment_yml_pins_the_same_versions_as_pyproject():
    from_pyproject = pins(pyproject()["project"]["dependencies"], "pyproject.toml")
    from_conda = pins([r for r in conda_pip_section() if not r.startswith("-e")], "environment.yml")
    only_pyproject = sorted(set(from_pyproject) - set(from_conda))
    only_conda = sorted(set(from_conda) - set(from_pyproject))
    assert not only_pyproject, (
        f"pinned in pyproject.toml but not in environment.yml: {only_pyproject}")
    assert not only_conda, f"pinned in environment.yml but not in pyproject.toml: {only_conda}"
    differ = {n: (from_pyproject[n], from_conda[n]) for n in from_pyproject
              if from_pyproject[n] != from_conda[n]}
    assert not differ, f"versions differ (pyproject.toml, environment.yml): {differ}"


def test_environment_yml_installs_the_project_and_matching_python():
    assert "-e ." in [r.strip() for r in conda_pip_section()]
    plain = [d for d in conda_env()["dependencies"] if isinstance(d, str)]
    assert "pip" in plain
    pythons = [d for d in plain if d.startswith("python")]
    assert pythons == ["python=3.11"], pythons
    assert pyproject()["project"]["requires-python"] == ">=3.11"


def test_torch_is_the_ordinary_wheel_not_a_local_cpu_build():
    deps = pins(pyproject()["project"]["dependencies"], "pyproject.toml")
    assert "+" not in deps["torch"] and "+" not in deps["torchvision"]


def test_package_version_is_the_one_in_pyproject():
    """nbutils.__version__ is part of every cache key: it is the package's only version."""
    assert "version" not in pyproject()["project"]
    assert "version" in pyproject()["project"]["dynamic"]
    dynamic = pyproject()["tool"]["setuptools"]["dynamic"]
    assert dynamic["version"] == {"attr": "nbutils.__version__"}


def test_registry_checksums_are_the_shared_ones():
    """The trusted sha256 of the dataset registry are those of shared/data/SHA256SUMS (when the
    shared folder lies beside the repository, as in CI), every file of every dataset."""
    shared = ROOT.parent / "shared" / "data" / "SHA256SUMS"
    if not shared.is_file():
        pytest.skip("no ../shared/data/SHA256SUMS beside the repository")
    listed = {}
    for line in shared.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, rel = line.split(maxsplit=1)
            listed[rel.lstrip("*")] = digest
    ours = trusted_sha256()
    assert len(ours) == 15
    assert {rel: listed.get(rel) for rel in ours} == ours
