"""Where the local stage's fault injection plugs in (contract, section 10: `PUT /_local/faults`).

The injection itself is not shipped: localstage/faults.py installs a controller here (the tests and
`make run` do), `PUT/DELETE /_local/faults` reach it through `controller()`, and the bank simulator
asks `bank_fault()` before it answers. Deployed, nothing is ever installed: no fault, no route.
"""

from __future__ import annotations

from typing import Any, Protocol


class Controller(Protocol):
    def configure(self, faults: dict[str, Any]) -> dict[str, Any]:
        """Replace every fault with `faults`; the faults now in force (seed included)."""
        ...

    def clear(self) -> None: ...

    def bank(self) -> str | None:
        """None, "down" or "timeout": what the bank simulator does with the next call."""
        ...


_installed: Controller | None = None


def install(controller: Controller | None) -> None:
    global _installed
    _installed = controller


def controller() -> Controller | None:
    return _installed


def bank_fault() -> str | None:
    return _installed.bank() if _installed is not None else None
