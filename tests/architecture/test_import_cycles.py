"""No import cycle in ``guigui/``, type-only imports included (issue 15).

A cycle is a group of modules that import each other, directly or through
others: none of them can be read, tested or replaced alone. The imports are
read from the source (``ast``), ``if TYPE_CHECKING:`` blocks included, since a
reader follows those too. Cycles are the strongly connected components of the
import graph (Tarjan's algorithm).

There is none: the server's connection talks to its owner through an
interface it declares (``ConnectionOwner``), and handlers receive what they
use; the client's views declare the actions they need (``Protocol``s).
"""

from __future__ import annotations

from tests.support.imports import cycles, import_graph


def test_the_cycle_finder_finds_a_cycle_and_nothing_else() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [frozenset({"a", "b", "c"})]


def test_no_import_cycle_in_the_package() -> None:
    found = [sorted(cycle) for cycle in cycles(import_graph())]
    assert found == [], "import cycle(s): break them (a Protocol, or move the shared part down)"
