"""Which `Settings` fields a `storepulse` command reads, found by reading the code (nothing runs).

Starting from the command's function in storepulse/cli.py (plus `main`), follow every project
function and class it can reach: names imported from project modules (at module level or inside
the function), `module.name` references, names defined in the same module, and the
`"module:function"` strings handed to uvicorn. Collect `<...settings>.<member>` reads on the way;
a property or method of `Settings` counts as the fields it reads. Following references rather
than calls over-approximates a little (a referenced function counts as run), never under.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from storepulse.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("storepulse", "ingest", "admin", "streams", "push", "shopify")
Unit = tuple[str, str]  # (module, top-level name); name "" is the module's own body
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def module_file(module: str) -> Path | None:
    if module.split(".")[0] not in PACKAGES:
        return None
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


@dataclass
class Module:
    name: str
    tree: ast.Module
    defs: dict[str, ast.AST] = field(default_factory=dict)
    # local name -> (module, attribute or "" for the module itself)
    imports: dict[str, Unit] = field(default_factory=dict)


def bindings(node: ast.AST, package: str) -> Iterator[tuple[str, Unit]]:
    """The project names one import statement binds."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if module_file(alias.name):
                yield (alias.asname or alias.name.split(".")[0]), (alias.name.split(".")[0], "")
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        for alias in node.names:
            submodule = f"{node.module}.{alias.name}"
            if module_file(submodule):
                yield alias.asname or alias.name, (submodule, "")
            elif module_file(node.module):
                yield alias.asname or alias.name, (node.module, alias.name)


@cache
def load(module: str) -> Module:
    path = module_file(module)
    assert path, module
    parsed = Module(module, ast.parse(path.read_text()))
    for node in parsed.tree.body:
        if isinstance(node, DEFINITIONS):
            parsed.defs[node.name] = node
        parsed.imports.update(bindings(node, module))
    return parsed


def settings_members() -> dict[str, frozenset[str]]:
    """Each field, property and method of Settings -> the fields it stands for."""
    members = {name: frozenset({name}) for name in Settings.model_fields}
    tree = ast.parse(Path(ROOT / "storepulse" / "settings.py").read_text())
    body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings").body
    methods = {n.name: n for n in body if isinstance(n, ast.FunctionDef)}
    uses = {
        name: {
            n.attr
            for n in ast.walk(fn)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self"
        }
        for name, fn in methods.items()
    }
    changed = True
    while changed:  # properties that read other properties
        changed = False
        for name, used in uses.items():
            fields = frozenset().union(*(members.get(u, frozenset()) for u in used))
            if members.get(name) != fields:
                members[name], changed = fields, True
    return members


def _is_settings(node: ast.AST) -> bool:
    """`settings`, `self._settings`, `ctx.settings`, `get_settings()`."""
    if isinstance(node, ast.Call):
        node = node.func
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name.endswith("settings")


def _references(unit_node: ast.AST, module: Module) -> Iterator[Unit]:
    names = dict(module.imports)
    for node in ast.walk(unit_node):
        names.update(bindings(node, module.name))  # imports inside the function
    for node in ast.walk(unit_node):
        if isinstance(node, ast.Name) and node.id in module.defs:
            yield module.name, node.id
        elif isinstance(node, ast.Name) and node.id in names:
            yield names[node.id]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            target = names.get(node.value.id)
            if target and not target[1]:
                yield (
                    (f"{target[0]}.{node.attr}", "")
                    if module_file(f"{target[0]}.{node.attr}")
                    else (target[0], node.attr)
                )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.count(":") == 1:
            target_module, _, attr = node.value.partition(":")  # uvicorn's "module:factory"
            if attr.isidentifier() and module_file(target_module):
                yield target_module, attr


def fields_read(command: str) -> frozenset[str]:
    """The Settings fields `storepulse <command>` may read."""
    members = settings_members()
    seen: set[Unit] = set()
    todo: list[Unit] = [("storepulse.cli", f"cmd_{command}"), ("storepulse.cli", "main")]
    fields: set[str] = set()
    while todo:
        unit = todo.pop()
        if unit in seen:
            continue
        seen.add(unit)
        module = load(unit[0])
        if unit[1]:
            found = module.defs.get(unit[1])
            if found is None:  # a constant, or a name a package re-exports
                continue
            nodes = [found]
            todo.append((unit[0], ""))
            todo.extend(_references(found, module))
        else:
            # Importing a module runs its body and its imports, not the functions it defines.
            nodes = [n for n in module.tree.body if not isinstance(n, DEFINITIONS)]
            todo.extend((target, "") for target, _ in module.imports.values())
        for n in (n for top in nodes for n in ast.walk(top)):
            if isinstance(n, ast.Attribute) and n.attr in members and _is_settings(n.value):
                fields |= members[n.attr]
    return frozenset(fields)
