"""Every rule declares a pinned conda env that provides what its script imports."""
import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAME = {"torch": "pytorch", "PIL": "pillow", "sklearn": "scikit-learn", "yaml": "pyyaml",
              "matplotlib": "matplotlib-base"}
# imports that need another package at run time (pandas' Parquet I/O needs pyarrow)
RUNTIME_EXTRAS = {"pandas": {"pyarrow"}}
PIP_NAME = {"pytorch": "torch", "matplotlib-base": "matplotlib", "pyyaml": "PyYAML"}


def rules() -> list[tuple[str, str, str | None, str | None]]:
    """(file, rule, conda env, script) for every rule of the workflow."""
    out = []
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        text = smk.read_text()
        for block in re.split(r"\n(?=rule \w+:)", text)[1:]:
            name = re.match(r"rule (\w+):", block).group(1)
            conda = re.search(r'conda:\s*\n\s*"([^"]+)"', block)
            script = re.search(r'script:\s*\n\s*"([^"]+)"', block)
            out.append((smk.name, name, conda and conda.group(1), script and script.group(1)))
    return out


def module_file(mod: str) -> Path | None:
    base = ROOT / Path(*mod.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.exists():
            return cand
    return None


def package_of(path: Path) -> list[str]:
    """Dotted package of a featurelab source file: featurelab/data/x.py -> [featurelab, data]."""
    rel = path.resolve().relative_to(ROOT)
    return list(rel.parts[:-1])


def third_party_imports(path: Path, seen: set[Path] | None = None) -> set[str]:
    """Top-level third-party modules imported by ``path``, following featurelab's own modules
    (absolute and relative imports, at module level or inside functions)."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the file's package
                pkg = package_of(path)[: len(package_of(path)) - (node.level - 1)]
                base = ".".join([*pkg, base]) if base else ".".join(pkg)
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == "featurelab":
                parts = name.split(".")
                for i in range(1, len(parts) + 1):  # featurelab, featurelab.data, featurelab.data.x
                    f = module_file(".".join(parts[:i]))
                    if f:
                        found |= third_party_imports(f, seen)
            elif top not in sys.stdlib_module_names and top != "snakemake" and top != "__future__":
                found.add(top)
    return found


def env_packages(env: Path) -> dict[str, str]:
    spec = yaml.safe_load(env.read_text())
    pins = {}
    for dep in spec["dependencies"]:
        assert isinstance(dep, str) and "=" in dep, f"{env.name}: {dep!r} is not pinned"
        name, version = dep.split("=", 1)
        pins[name] = version
    return pins


RULES = rules()


def test_every_rule_has_a_pinned_env_and_a_log():
    assert len(RULES) >= 8
    for smk, rule, conda, _ in RULES:
        if rule == "all":
            continue
        assert conda, f"{smk}: rule {rule} declares no conda env"
        env = (ROOT / "rules" / conda).resolve()
        assert env.exists(), f"{smk}: rule {rule} uses {conda}, which does not exist"
        env_packages(env)


@pytest.mark.parametrize("smk, rule, conda, script", [r for r in RULES if r[3]], ids=lambda v: str(v))
def test_env_provides_what_the_script_imports(smk, rule, conda, script):
    pins = env_packages((ROOT / "rules" / conda).resolve())
    imports = third_party_imports((ROOT / "rules" / script).resolve())
    needed = {CONDA_NAME.get(m, m) for m in imports}
    for m in imports:
        needed |= RUNTIME_EXTRAS.get(m, set())
    missing = needed - set(pins)
    assert not missing, f"rule {rule}: {script} needs {sorted(missing)}, which {conda} does not provide"


def test_relative_imports_are_followed():
    # featurelab.training imports torch directly and numpy; featurelab.extract reaches
    # pyarrow only through the relative import of featurelab.activations
    assert {"torch", "pyarrow", "numpy"} <= third_party_imports(ROOT / "featurelab/extract.py")


def test_env_pins_agree_with_the_tested_versions():
    tested = {}
    for line in (ROOT / "requirements/ci.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            tested[name.lower()] = version.strip()
    for env in (ROOT / "envs").glob("*.yaml"):
        for name, version in env_packages(env).items():
            pip = PIP_NAME.get(name, name).lower()
            if pip in tested:
                assert version == tested[pip], f"{env.name} pins {name}={version}, tests run {tested[pip]}"
