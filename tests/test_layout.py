"""The commissioned layout (issue 14): the domains beside one shared package, every domain in the same
shape, and imports that run one way. These read the source, so they fail the moment a domain loses a
module, the shared package reaches into a domain, or two packages start importing each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = "youthvoice"
DOMAINS = ("survey", "workshops", "analysis")
SHAPE = ("models", "schemas", "service", "api", "pages", "exports", "demo")
# Who may import whom, besides everyone importing the shared package.
ALLOWED = {"survey": set(), "workshops": set(), "analysis": {"survey", "workshops"}}
# The composition root and the command line are the only shared modules that know the domains.
COMPOSITION = {"youthvoice/app.py", "youthvoice/cli.py"}
PACKAGES = (SHARED, *DOMAINS)


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imports_of(path: Path) -> list[tuple[str, int, bool]]:
    """(top-level package imported, line, inside a function) for every import of a project package."""
    tree = ast.parse(path.read_text())
    inner = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
    own = path.relative_to(ROOT).parts[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [own] if node.level else [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in PACKAGES:
                found.append((top, node.lineno, id(node) in inner))
    return found


def test_top_level_is_the_commissioned_layout():
    for name in ("survey", "workshops", "analysis", "youthvoice"):
        assert (ROOT / name / "__init__.py").is_file(), name
    for name in ("templates", "tests"):
        assert (ROOT / name).is_dir(), name
    for name in ("pyproject.toml", "README.md"):
        assert (ROOT / name).is_file(), name
    assert not (ROOT / "youthvoice" / "survey").exists() and not (ROOT / "youthvoice" / "core").exists()


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_domain_has_the_same_shape(domain):
    missing = [m for m in SHAPE if not (ROOT / domain / f"{m}.py").is_file()]
    assert not missing, f"{domain} lacks {missing}"
    assert (ROOT / "templates" / domain).is_dir(), f"templates/{domain}/ is missing"
    assert list((ROOT / domain / "migrations").glob(f"{domain}_*.py")), f"{domain}/migrations/ has no migration"


def test_the_shared_package_imports_no_domain():
    wrong = [f"{p.relative_to(ROOT)}:{line} imports {top}"
             for p in sources(SHARED) if str(p.relative_to(ROOT)) not in COMPOSITION and "/migrations/" not in str(p)
             for top, line, _ in imports_of(p) if top in DOMAINS]
    assert not wrong, "\n".join(wrong)


def test_domains_import_each_other_only_downwards_and_without_cycles():
    edges: dict[str, set[str]] = {d: set() for d in DOMAINS}
    wrong = []
    for domain in DOMAINS:
        for p in sources(domain):
            for top, line, _ in imports_of(p):
                if top in DOMAINS and top != domain:
                    edges[domain].add(top)
                    if top not in ALLOWED[domain]:
                        wrong.append(f"{p.relative_to(ROOT)}:{line} imports {top}")
    assert not wrong, "\n".join(wrong)

    def reaches(start: str, goal: str, seen: frozenset = frozenset()) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in edges[start])

    assert not [d for d in DOMAINS if reaches(d, d)], edges


def test_no_import_hides_inside_a_function():
    """Imports inside functions are how cycles were dodged; the project's own modules are imported at the
    top (the command line may defer its heavy ones)."""
    wrong = [f"{p.relative_to(ROOT)}:{line}" for pkg in PACKAGES for p in sources(pkg)
             if "/migrations/" not in str(p) and str(p.relative_to(ROOT)) != "youthvoice/cli.py"
             for _top, line, inner in imports_of(p) if inner]
    assert not wrong, "\n".join(wrong)
