"""Package boundaries inside ``src/caregrid`` (DESIGN.md, "Layout"; docs/architecture.md,
"Module contract").

Every ``.py`` file is parsed with ``ast``; every import, including those inside functions,
becomes an edge (importing package, imported package, imported module). The checker fails
on:

(a) an import of another domain package's ``models`` module (its tables);
(b) an import from a domain package up into ``caregrid.web`` or ``caregrid.cli``;
(c) a cycle between packages over module-level imports (strongly connected components of
    the package graph), and any function-level import that closes a cycle unless it is
    listed in ``KNOWN_LAZY_CYCLES``.

Both allowlists are checked for accuracy: an entry that no longer matches an import, or no
longer needs the exemption, fails the test, so the lists can only shrink.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "caregrid"

# Shared infrastructure: anyone may import these, and they are not domain packages.
INFRASTRUCTURE = frozenset(
    f"{ROOT}.{name}"
    for name in (
        "db",
        "config",
        "clock",
        "errors",
        "yamlio",
        "privacy",
        "gb11643",
        "i18n",
        "spreadsheet",
    )
)
# The two outer layers; they may import any package's service, never its tables.
OUTER = frozenset({f"{ROOT}.web", f"{ROOT}.cli"})
# Alembic migrations describe tables as they were; they are exempt from every rule.
EXEMPT_PREFIXES = (f"{ROOT}/db/migrations/",)
# A domain's routers (api.py, pages.py) are the web layer placed beside their domain: web.app
# mounts them and they use web.deps and web.render. In the package graph they count as
# caregrid.web, so they may import web helpers while the rest of the domain may not.
ROUTER_MODULES = frozenset({"api", "pages"})
# db.base.import_all_models loads every package's tables so Base.metadata is complete for
# Alembic and the tests: the one place outside a package allowed to import its models.
TABLE_REGISTRY = f"{ROOT}/db/base.py"
# vocab.py modules (enumerations and constants) are part of a package's public surface, like
# service and schemas. They hold no rules and are their own node in the package graph, so a
# package reading another's vocabulary does not tie the two into a cycle.
VOCAB_MODULE = "vocab"

# Function-level imports that close a cycle between packages. Each one is lazy on purpose;
# the list may only shrink (an entry whose import is gone or no longer closes a cycle fails).
KNOWN_LAZY_CYCLES: frozenset[tuple[str, str]] = frozenset(
    {
        # A network office's reach is its network's members; the registry's service takes
        # principals and checks access, so access reads the memberships at call time.
        ("caregrid/auth/access.py", "caregrid.registry.service"),
    }
)


@dataclass(frozen=True)
class Import:
    path: str  # file relative to the source root, e.g. "caregrid/auth/access.py"
    line: int
    source: str  # the import as written
    importer: str  # importing package, e.g. "caregrid.auth"
    package: str  # imported package, e.g. "caregrid.registry"
    module: str  # imported module, e.g. "caregrid.registry.models"
    lazy: bool  # inside a function (runs at call time)
    source_node: str  # importing node of the package graph (routers count as caregrid.web)
    target_node: str  # imported node of the package graph

    def where(self) -> str:
        return f"{self.path}:{self.line}: {self.source}"


def package_of(module: str) -> str:
    """``caregrid.registry.models`` -> ``caregrid.registry``; top-level modules stand alone."""
    parts = module.split(".")
    return ".".join(parts[:2])


def node_of(module: str) -> str:
    """The module's node in the package graph: its package, or the web layer for routers."""
    parts = module.split(".")
    if len(parts) == 3 and is_domain(package_of(module)):
        if parts[2] in ROUTER_MODULES:
            return f"{ROOT}.web"
        if parts[2] == VOCAB_MODULE:
            return module
    return package_of(module)


def is_domain(package: str) -> bool:
    return package != ROOT and package not in INFRASTRUCTURE and package not in OUTER


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(root: Path, dotted: str) -> bool:
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _walk(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import node with whether it sits inside a function body."""

    def visit(node: ast.AST, lazy: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, lazy
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from visit(child, inner)

    yield from visit(tree, False)


def collect(root: Path) -> list[Import]:
    """All imports of ``caregrid`` modules made by files under ``root/caregrid``."""
    found: list[Import] = []
    for path in sorted((root / ROOT).rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(EXEMPT_PREFIXES):
            continue
        here = _module_name(root, path)
        importer = package_of(here)
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        for node, lazy in _walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = here.split(".")
                    drop = node.level - 1 if is_pkg else node.level
                    base = base[: len(base) - drop] if drop else base
                    prefix = ".".join(base)
                    dotted = f"{prefix}.{node.module}" if node.module else prefix
                else:
                    dotted = node.module or ""
                for alias in node.names:
                    sub = f"{dotted}.{alias.name}"
                    targets.append(sub if _is_module(root, sub) else dotted)
            for target in dict.fromkeys(targets):
                if target != ROOT and not target.startswith(f"{ROOT}."):
                    continue
                found.append(
                    Import(
                        path=rel,
                        line=node.lineno,
                        source=ast.unparse(node),
                        importer=importer,
                        package=package_of(target),
                        module=target,
                        lazy=lazy,
                        source_node=node_of(here),
                        target_node=node_of(target),
                    )
                )
    return found


def _sccs(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[set[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component: set[str] = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            result.append(component)

    for node in sorted(graph):
        if node not in index:
            strong(node)
    return result


def _crosses(imp: Import) -> bool:
    """Is this import an edge of the package graph? A package's own modules (its vocab
    included) are one package; its routers sit in the web layer."""
    if imp.source_node == imp.target_node:
        return False
    within = imp.importer == imp.package
    return not within or not OUTER.isdisjoint({imp.source_node, imp.target_node})


def _graph(imports: Iterable[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for imp in imports:
        if _crosses(imp):
            graph[imp.source_node].add(imp.target_node)
            graph.setdefault(imp.target_node, set())
    return graph


def check(
    root: Path,
    *,
    lazy_cycles: frozenset[tuple[str, str]] = frozenset(),
) -> list[str]:
    """Every boundary violation under ``root`` (a source root holding ``caregrid/``)."""
    everything = collect(root)
    registry = [i for i in everything if i.path == TABLE_REGISTRY and i.module.endswith(".models")]
    imports = [i for i in everything if i not in registry]
    problems: list[str] = []
    if any(i.path == TABLE_REGISTRY for i in everything) and not registry:
        problems.append(f"{TABLE_REGISTRY} no longer imports any models: drop TABLE_REGISTRY")

    # (a) another domain package's tables
    for imp in imports:
        if imp.importer == imp.package or not is_domain(imp.package):
            continue
        if imp.module == f"{imp.package}.models":
            problems.append(f"imports another package's models: {imp.where()}")

    # (b) upward into web or cli
    for imp in imports:
        if imp.package in OUTER and imp.source_node not in OUTER:
            problems.append(f"imports upward into {imp.package}: {imp.where()}")

    # (c) cycles over module-level imports
    eager = [imp for imp in imports if not imp.lazy]
    for component in _sccs(_graph(eager)):
        if len(component) > 1:
            members = ", ".join(sorted(component))
            edges = [
                imp.where()
                for imp in eager
                if _crosses(imp) and imp.source_node in component and imp.target_node in component
            ]
            listed = "\n  ".join(dict.fromkeys(edges))
            problems.append(f"module-level import cycle between {members}:\n  {listed}")

    # (c') function-level imports that close a cycle must be known
    full = _graph(imports)
    cyclic = {frozenset(c) for c in _sccs(full) if len(c) > 1}
    closing: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for imp in imports:
        if (
            imp.lazy
            and _crosses(imp)
            and any(imp.source_node in c and imp.target_node in c for c in cyclic)
        ):
            closing[(imp.path, imp.module)].append(imp)
    for key, imps in sorted(closing.items()):
        if key not in lazy_cycles:
            for imp in imps:
                problems.append(f"function-level import closes a cycle: {imp.where()}")
    for path, module in sorted(lazy_cycles - closing.keys()):
        problems.append(f"stale KNOWN_LAZY_CYCLES entry (no longer a cycle): {path} -> {module}")

    return problems


def test_package_boundaries() -> None:
    problems = check(SRC, lazy_cycles=KNOWN_LAZY_CYCLES)
    assert not problems, "\n".join(problems)


def _plant(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return _plant(
        tmp_path,
        {
            "caregrid/__init__.py": "",
            "caregrid/db/__init__.py": "",
            "caregrid/registry/__init__.py": "",
            "caregrid/registry/models.py": "class Institution: ...\n",
            "caregrid/registry/service.py": "from caregrid.registry.models import Institution\n",
            "caregrid/referral/__init__.py": "",
            "caregrid/referral/service.py": "from caregrid.registry import service\n",
            "caregrid/web/__init__.py": "",
            "caregrid/web/app.py": "from caregrid.referral import service\n",
            "caregrid/db/migrations/__init__.py": "",
            "caregrid/db/migrations/v1.py": "from caregrid.registry.models import Institution\n",
        },
    )


def test_clean_tree_passes(tree: Path) -> None:
    assert check(tree) == []


def test_planted_models_import_is_reported(tree: Path) -> None:
    _plant(tree, {"caregrid/referral/api.py": "from caregrid.registry.models import Institution\n"})
    problems = check(tree)
    assert problems == [
        "imports another package's models: caregrid/referral/api.py:1: "
        "from caregrid.registry.models import Institution"
    ]


def test_models_imported_as_a_module_or_inside_a_function_is_reported(tree: Path) -> None:
    _plant(
        tree,
        {
            "caregrid/referral/api.py": (
                "def f():\n    from caregrid.registry import models\n    return models\n"
            ),
            "caregrid/referral/pages.py": "from ..registry.models import Institution\n",
        },
    )
    problems = check(tree)
    assert len(problems) == 2
    assert "caregrid/referral/api.py:2" in problems[0]
    assert "caregrid/referral/pages.py:1" in problems[1]


def test_import_into_web_is_reported(tree: Path) -> None:
    _plant(tree, {"caregrid/registry/service.py": "import caregrid.web.app\n"})
    problems = check(tree)
    assert problems[0] == (
        "imports upward into caregrid.web: caregrid/registry/service.py:1: import caregrid.web.app"
    )
    # web -> referral -> registry -> web is also a cycle
    assert problems[1].startswith("module-level import cycle")


def test_routers_may_use_web_helpers(tree: Path) -> None:
    _plant(
        tree,
        {
            "caregrid/web/deps.py": "DB = None\n",
            "caregrid/web/app.py": "from caregrid.registry import api\n",
            "caregrid/registry/api.py": "from caregrid.web.deps import DB\n",
        },
    )
    assert check(tree) == []


def test_module_level_cycle_is_reported(tree: Path) -> None:
    _plant(tree, {"caregrid/registry/checks.py": "from caregrid.referral.service import x\n"})
    (problem,) = check(tree)
    assert problem.startswith("module-level import cycle between caregrid.referral, caregrid.reg")
    assert "caregrid/registry/checks.py:1" in problem


def test_lazy_cycle_needs_an_allowlist_entry_and_the_entry_goes_stale(tree: Path) -> None:
    lazy = "def f():\n    from caregrid.referral import service\n"
    _plant(tree, {"caregrid/registry/checks.py": lazy})
    (problem,) = check(tree)
    assert problem.startswith("function-level import closes a cycle: caregrid/registry/checks.py:2")
    allowed = frozenset({("caregrid/registry/checks.py", "caregrid.referral.service")})
    assert check(tree, lazy_cycles=allowed) == []
    (tree / "caregrid/registry/checks.py").write_text("", encoding="utf-8")
    assert check(tree, lazy_cycles=allowed) == [
        "stale KNOWN_LAZY_CYCLES entry (no longer a cycle): "
        "caregrid/registry/checks.py -> caregrid.referral.service"
    ]


def test_vocabulary_is_its_own_node(tree: Path) -> None:
    _plant(
        tree,
        {
            "caregrid/registry/vocab.py": "LEVELS = ()\n",
            "caregrid/registry/checks.py": "from caregrid.referral.vocab import LEVELS\n",
            "caregrid/referral/vocab.py": "from caregrid.registry.vocab import LEVELS\n",
        },
    )
    assert check(tree) == []
