"""Running calls at the same moment from several threads, for race tests."""

from __future__ import annotations

import threading
from typing import Any


def run_together(*calls: Any) -> list[Any]:
    """Run the callables in threads released at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def runner(index: int, call: Any) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=runner, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
