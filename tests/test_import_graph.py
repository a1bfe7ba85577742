"""No import cycle anywhere in kyc/.

A cycle held together by an import inside a function (or by a task named by a string) hides a
layering mistake: the two modules can only be understood, tested and changed together. The
graph is built from the source, every import statement counted wherever it stands (module
level, inside a function, under TYPE_CHECKING), each edge pointing at the most specific kyc
module the import names.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PACKAGE = ROOT / "kyc"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imported_names(module: str, path: Path) -> Iterator[tuple[str, str]]:
    """(what is imported, the module it comes from): `from kyc.analysis import pdf` imports the
    module kyc.analysis.pdf, `from kyc.models import Customer` a name of kyc.models."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield f"{base}.{alias.name}", base


def import_graph() -> dict[str, set[str]]:
    known = modules()

    def resolve(name: str) -> str | None:
        parts = name.split(".")
        while parts:
            if ".".join(parts) in known:
                return ".".join(parts)
            parts.pop()
        return None

    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        targets = {
            name if name in known else resolve(source)
            for name, source in _imported_names(module, path)
        }
        graph[module] = {t for t in targets if t and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_of_kyc_imports_itself_back_through_others():
    graph = import_graph()
    found = cycles(graph)

    described = [
        " ; ".join(f"{m} -> {sorted(graph[m] & set(component))}" for m in component)
        for component in found
    ]
    assert not found, "import cycles in kyc/:\n" + "\n".join(described)


def test_the_cycle_finder_sees_a_cycle_through_a_function_level_import():
    """The checker itself: a lazy import closing a loop is a cycle, a chain is not."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    graph = import_graph()
    assert "kyc.services.jobs" in graph["kyc.tasks"]
    assert "kyc.models" in graph["kyc.services.jobs"]


def test_tasks_queued_under_their_old_names_still_resolve():
    """django-tasks-db finds a queued task by its stored path (import_string): rows enqueued
    before the tasks moved beside their services name kyc.tasks.*."""
    from django.utils.module_loading import import_string

    from kyc.services import jobs, ocr, webhooks

    assert import_string("kyc.tasks.submit_job_task") is jobs.submit_job_task
    assert import_string("kyc.tasks.poll_job_task") is jobs.poll_job_task
    assert import_string("kyc.tasks.refetch_job_task") is jobs.refetch_job_task
    assert import_string("kyc.tasks.process_webhook_task") is webhooks.process_webhook_task
    assert import_string("kyc.tasks.push_ocr_correction_task") is ocr.push_ocr_correction_task
