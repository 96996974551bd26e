"""docs/ARCHITECTURE.md's picture of the server's layers matches the imports (issue 15).

The picture is the fenced block after ``<!-- server layers -->``: one line per
layer, highest first, ``N name  module.py package/ ...`` (a line that starts
with spaces continues the layer above it). The rule it states, checked here on
the source: a module imports only from its own layer and the layers below.
Every module of ``guigui/server`` must be in the picture.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.imports import import_graph

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
SERVER = "guigui.server"


def pictured_layers(text: str) -> dict[str, int]:
    """Each module or package prefix in the picture (``guigui.server.x``) to its layer."""
    after = text.split("<!-- server layers -->", 1)[1]
    block = after.split("```", 2)[1]
    layers: dict[str, int] = {}
    layer = -1
    for line in block.splitlines()[1:]:
        if not line.strip():
            continue
        if match := re.match(r"\s*(\d+)\s", line):
            layer = int(match.group(1))
        for token in line.split():
            if token.endswith(".py"):
                layers[f"{SERVER}.{token[:-3].replace('/', '.')}"] = layer
            elif token.endswith("/"):
                layers[f"{SERVER}.{token[:-1].replace('/', '.')}"] = layer
    return layers


def layer_of(module: str, layers: dict[str, int]) -> int | None:
    """The layer of ``module``: its own entry, or its closest package's."""
    while module.startswith(SERVER + "."):
        if module in layers:
            return layers[module]
        module = module.rpartition(".")[0]
    return None


def test_the_picture_reads_as_expected() -> None:
    picture = (
        "<!-- server layers -->\n```text\n 1 top    a.py b/\n          c.py\n 0 base   d/e.py\n```"
    )
    assert pictured_layers(picture) == {
        f"{SERVER}.a": 1,
        f"{SERVER}.b": 1,
        f"{SERVER}.c": 1,
        f"{SERVER}.d.e": 0,
    }


def test_every_server_module_is_pictured_and_imports_only_downwards() -> None:
    layers = pictured_layers(ARCHITECTURE.read_text(encoding="utf-8"))
    graph = import_graph()
    modules = [m for m in graph if m.startswith(SERVER + ".")]
    missing = sorted(m for m in modules if layer_of(m, layers) is None)
    assert missing == [], "modules missing from ARCHITECTURE.md's server layers"
    upwards = sorted(
        f"{module} (layer {layer_of(module, layers)}) imports {target} "
        f"(layer {layer_of(target, layers)})"
        for module in modules
        for target in graph[module]
        if target.startswith(SERVER + ".")
        and (layer_of(target, layers) or 0) > (layer_of(module, layers) or 0)
    )
    assert upwards == [], "imports against ARCHITECTURE.md's layers"
