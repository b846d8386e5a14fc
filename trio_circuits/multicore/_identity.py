"""Which worker this process is: set by the worker's main before the factory runs.

Kept here rather than in the environment, so that processes a worker starts in turn
are not taken for workers themselves.
"""

from __future__ import annotations

#: This process's worker index, or None outside ``run(..., workers=N)``'s workers.
index: int | None = None
#: N, in a worker.
count: int | None = None
