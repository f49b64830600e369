"""`ell.lmp.function`: ell-ai's module path for `@ell.lmp.function.function()`, a tracked plain
function (defined in `ell.evaluation.tracked`, where labelers are its main use)."""

from __future__ import annotations

from ..evaluation.tracked import function

__all__ = ["function"]
