"""The floors of the code hold: each floor imports only the floors below it.

Every module under lib/ and app_pages/ (and the entry point, streamlit_app.py) is parsed with `ast`,
without importing it, and every import is read: at the top of the module, inside a function, or
under `if TYPE_CHECKING:` (a lazy import is still a dependency). A failure names each offending
import by file and line.

    floor  package         what it is for                              may import
    0      lib.engine      live training, counting, charts, patches    nothing above it
    0      lib.data        the data and how translations are scored    nothing above it
    1      lib.models      the Keras models and their experiments      lib.engine, lib.data
    2      lib.app         serving a page: course map, links, uploads  lib.engine, lib.data, lib.models
    3      lib.page_glue   each page's Streamlit glue, the warm-up     every lib floor below it
    4      app_pages       the pages (and streamlit_app.py)            every lib floor

Modules of one package import each other freely (but in no cycle). lib.data and lib.models import
no Streamlit, neither directly nor through a lib module that does. No module imports a private name
(`_name`) of another first-party module. Streamlit's own private names are kept behind
lib/app/url_settings.py's adapter and tested there. And no page stops halfway (`st.stop()`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The table above, once, as data. Two packages on one floor may not import each other.
FLOORS = {
    "lib.engine": 0,
    "lib.data": 0,
    "lib.models": 1,
    "lib.app": 2,
    "lib.page_glue": 3,
    "app_pages": 4,
    "streamlit_app": 4,
}
STREAMLIT_FREE = ("lib.data", "lib.models")
FIRST_PARTY = ("lib", "app_pages", "streamlit_app")


@dataclass(frozen=True)
class Import:
    path: str  # the importing file, relative to the repository
    line: int
    target: str  # the module imported, resolved to a first-party module where one matches
    names: tuple[str, ...]  # for `from x import a, b`: ("a", "b")

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def module_name(path: str) -> str:
    parts = list(Path(path).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str) -> str | None:
    """The floor table's package that holds `module`, or None (e.g. the bare `lib`)."""
    for package in FLOORS:
        if module == package or module.startswith(package + "."):
            return package
    return None


def is_first_party(module: str) -> bool:
    return module.split(".")[0] in FIRST_PARTY


def read_sources() -> dict[str, str]:
    files = [*sorted((ROOT / "lib").rglob("*.py")), *sorted((ROOT / "app_pages").rglob("*.py"))]
    files.append(ROOT / "streamlit_app.py")
    return {file.relative_to(ROOT).as_posix(): file.read_text(encoding="utf-8") for file in files}


def parse_imports(sources: dict[str, str]) -> dict[str, list[Import]]:
    """Each module's imports, by module name. `from lib.app import warm_up` counts as importing lib.app.warm_up."""
    modules = {module_name(path) for path in sources}
    found: dict[str, list[Import]] = {}
    for path, source in sources.items():
        module = module_name(path)
        is_package = Path(path).name == "__init__.py"
        imports = found.setdefault(module, [])
        for node in ast.walk(ast.parse(source, filename=path)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    imports.append(Import(path, node.lineno, alias.name, ()))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.split(".") if is_package else module.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                names = tuple(alias.name for alias in node.names)
                submodules = [f"{base}.{name}" for name in names if f"{base}.{name}" in modules]
                for submodule in submodules:
                    imports.append(Import(path, node.lineno, submodule, ()))
                rest = tuple(name for name in names if f"{base}.{name}" not in modules)
                if rest or not submodules:
                    imports.append(Import(path, node.lineno, base, rest))
    return found


def floor_violations(imports: dict[str, list[Import]]) -> list[str]:
    problems = []
    for module, its_imports in imports.items():
        home = package_of(module)
        if home is None:
            continue
        for imported in its_imports:
            target = package_of(imported.target)
            if target is None or target == home:
                continue
            if FLOORS[target] >= FLOORS[home]:
                problems.append(
                    f"{imported.where()} imports {imported.target}: {home} (floor {FLOORS[home]}) may not import "
                    f"{target} (floor {FLOORS[target]})"
                )
    return problems


def streamlit_violations(imports: dict[str, list[Import]]) -> list[str]:
    """Imports in lib.data and lib.models that bring Streamlit, directly or through a lib module."""
    # For each module, how it reaches Streamlit: the chain of imports, or None.
    reaches: dict[str, list[Import] | None] = {}

    def chain_to_streamlit(module: str, visiting: frozenset[str]) -> list[Import] | None:
        if module in reaches:
            return reaches[module]
        chain = None
        for imported in imports.get(module, []):
            if imported.target.split(".")[0] == "streamlit":
                chain = [imported]
                break
            if imported.target in imports and imported.target not in visiting:
                further = chain_to_streamlit(imported.target, visiting | {module})
                if further:
                    chain = [imported, *further]
                    break
        reaches[module] = chain
        return chain

    problems = []
    for module in sorted(imports):
        if package_of(module) not in STREAMLIT_FREE:
            continue
        for imported in imports[module]:
            if imported.target.split(".")[0] == "streamlit":
                problems.append(f"{imported.where()} imports {imported.target}")
            elif imported.target in imports:
                chain = chain_to_streamlit(imported.target, frozenset({module}))
                if chain:
                    via = ", which imports ".join(f"{step.target} ({step.where()})" for step in chain)
                    problems.append(f"{imported.where()} imports {imported.target}, which imports {via}")
    return problems


def private_name_violations(sources: dict[str, str], imports: dict[str, list[Import]]) -> list[str]:
    """`from lib.x import _name`, and `module._name` on a first-party module bound by an import."""
    problems = []
    for module, its_imports in imports.items():
        for imported in its_imports:
            if not is_first_party(imported.target) or imported.target == module:
                continue
            for name in imported.names:
                if name.startswith("_") and not name.startswith("__"):
                    problems.append(f"{imported.where()} imports the private name {name} from {imported.target}")
    modules = set(imports)
    for path, source in sources.items():
        module = module_name(path)
        tree = ast.parse(source, filename=path)
        bound: dict[str, str] = {}  # local name -> first-party module it names
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname and alias.name in modules:
                        bound[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in modules:
                        bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
                continue
            owner = ast.unparse(node.value)
            target = bound.get(owner, owner if owner in modules else None)
            if target and target != module:
                problems.append(f"{path}:{node.lineno} reads the private name {node.attr} of {target}")
    return problems


def cycles(imports: dict[str, list[Import]]) -> list[str]:
    """Each import cycle among lib modules, as the chain of imports that closes it."""
    lib_modules = {module for module in imports if module.startswith("lib.")}
    edges: dict[str, dict[str, Import]] = {module: {} for module in lib_modules}
    for module in lib_modules:
        for imported in imports[module]:
            if imported.target in lib_modules and imported.target != module:
                edges[module].setdefault(imported.target, imported)

    # Tarjan's strongly connected components: every component of two or more modules holds a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(edges[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                components.append(component)

    for module in sorted(lib_modules):
        if module not in index:
            visit(module)

    problems = []
    for component in components:
        start = min(component)
        path = shortest_cycle(start, edges, component)
        steps = [edges[a][b] for a, b in zip(path, path[1:])]
        problems.append("import cycle: " + ", then ".join(f"{step.where()} imports {step.target}" for step in steps))
    return problems


def shortest_cycle(start: str, edges: dict[str, dict[str, Import]], within: Iterable[str]) -> list[str]:
    within = set(within)
    paths = {start: [start]}
    queue = [start]
    while queue:
        module = queue.pop(0)
        for target in sorted(edges[module]):
            if target == start:
                return [*paths[module], start]
            if target in within and target not in paths:
                paths[target] = [*paths[module], target]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")  # A component of two or more always has one.


def report(problems: list[str]) -> str:
    return f"{len(problems)} import(s) break the floors:\n  " + "\n  ".join(problems)


@pytest.fixture(scope="module")
def sources() -> dict[str, str]:
    return read_sources()


@pytest.fixture(scope="module")
def imports(sources) -> dict[str, list[Import]]:
    return parse_imports(sources)


# --- The house --------------------------------------------------------------------------------------


def test_every_package_has_a_floor(sources):
    packages = {Path(path).parent.as_posix().replace("/", ".") for path in sources if path.startswith("lib/")}
    packages.discard("lib")
    # A sub-package (lib/page_glue/settings) stands on its parent's floor.
    floorless = {package for package in packages if package_of(package) is None}
    assert floorless == set(), f"packages with no floor in tests/test_floors.py: {floorless}"
    assert set(FLOORS) - packages - {"app_pages", "streamlit_app"} == set(), "a floor names a package that is gone"


def test_each_floor_imports_only_floors_below_it(imports):
    problems = floor_violations(imports)
    assert not problems, report(problems)


def test_data_and_models_import_no_streamlit(imports):
    problems = streamlit_violations(imports)
    assert not problems, report(problems)


def test_no_private_name_is_imported_across_modules(sources, imports):
    problems = private_name_violations(sources, imports)
    assert not problems, report(problems)


def test_no_import_cycles_between_lib_modules(imports):
    problems = cycles(imports)
    assert not problems, report(problems)


def test_no_page_stops_halfway(sources):
    """Pages end what they begin: an `st.stop()` halfway down a page would skip its share box and notes."""
    problems = [
        f"{path}:{node.lineno} calls {ast.unparse(node.func)}()"
        for path, source in sources.items()
        for node in ast.walk(ast.parse(source, filename=path))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and ast.unparse(node.func) == "st.stop"
    ]
    assert not problems, "branch instead (if/else, or a function that returns early):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("package", [package for package in FLOORS if package.startswith("lib.")])
def test_each_package_says_what_it_may_import(package):
    """The first lines of each package's __init__.py name its floor and the floors below it, as the table does."""
    init = ROOT / package.replace(".", "/") / "__init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    below = [other for other, floor in FLOORS.items() if floor < FLOORS[package] and other.startswith("lib.")]
    says = f"May import: {', '.join(below)}." if below else "May import: nothing above it"
    assert says in " ".join(docstring.split()), f"{init.relative_to(ROOT)}'s docstring should say {says!r}"


# --- The checks themselves catch what they are for ----------------------------------------------------


def test_the_checks_name_the_offending_import():
    sources = {
        "lib/data/corpus.py": "from lib.app.text_files import decode_text_upload\n",
        "lib/app/text_files.py": "import streamlit as st\n",
        "lib/models/a.py": "def f():\n    from lib.models.b import _helper\n",
        "lib/models/b.py": "import lib.models.a as a\nx = a._hidden\n",
        "lib/models/c.py": "from lib.engine.training import train_live\n",
        "lib/engine/training.py": "from lib.engine import charts\n",
        "lib/engine/charts.py": "import streamlit\n",
    }
    imports = parse_imports(sources)
    assert floor_violations(imports) == [
        "lib/data/corpus.py:1 imports lib.app.text_files: lib.data (floor 0) may not import lib.app (floor 2)"
    ]
    assert streamlit_violations(imports) == [
        "lib/data/corpus.py:1 imports lib.app.text_files, which imports streamlit (lib/app/text_files.py:1)",
        "lib/models/c.py:1 imports lib.engine.training, which imports lib.engine.charts (lib/engine/training.py:1)"
        ", which imports streamlit (lib/engine/charts.py:1)",
    ]
    assert private_name_violations(sources, imports) == [
        "lib/models/a.py:2 imports the private name _helper from lib.models.b",
        "lib/models/b.py:2 reads the private name _hidden of lib.models.a",
    ]
    assert cycles(imports) == [
        "import cycle: lib/models/a.py:2 imports lib.models.b, then lib/models/b.py:1 imports lib.models.a"
    ]
