"""The layering contracts (pyproject's ``[tool.importlinter]``, checked by ``make lint``) cover every
package: import-linter checks the packages it is given and ignores any other, so a new top-level
package would otherwise be under no rule at all."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def contracts() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]


def packages() -> set[str]:
    return {init.parent.name for init in ROOT.glob("*/__init__.py")}


def test_every_package_is_in_the_graph_and_in_one_layer() -> None:
    config = contracts()
    assert set(config["root_packages"]) == packages()
    [layers] = [contract for contract in config["contracts"] if contract["type"] == "layers"]
    placed = [name.strip() for layer in layers["layers"] for name in re.split(r"[:|]", layer)]
    assert sorted(placed) == sorted(packages())


def test_every_service_is_independent_of_the_others() -> None:
    config = contracts()
    [layers] = [contract for contract in config["contracts"] if contract["type"] == "layers"]
    [independent] = [contract for contract in config["contracts"] if contract["type"] == "independence"]
    # the middle layer is the services'; the departments are the subpackages of services/
    services = {name.strip() for name in re.split(r"[:|]", layers["layers"][1])}
    assert set(independent["modules"]) == (services - {"services"}) | {"services.*"}
