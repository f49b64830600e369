"""Redaction: secrets never reach what ell records, by default.

Everything a version or a call records passes through here first: versions (source, closure,
meta) before they are hashed, invocations before the store serialises them, evaluation runs and
feedback. Three kinds of detector, each in its own module, shared by recording, the push check
(`ell_git.secrets`), ``ell forget`` and the web UI:

- `names`: values bound to secret-looking names (``DB_PASSWORD``, ``api_key=``, ``Authorization``);
- `formats`: well-known credential formats (provider keys, cloud and forge tokens, JWTs, PEM keys,
  ``Bearer``/``Basic`` headers, URLs with a password);
- `environment`: the values of secret-looking environment variables, wherever they appear.

Each hidden value becomes a stable placeholder naming what was hidden, ``<redacted:DB_PASSWORD>``.
`values` applies them to data, `text` to free text, `source` to Python source, `records` to the
records `ell` hands to a store; `policy` holds the user's additions (``ell.init(redact_names=,
redact_rules=, allow=)``) and the on/off switch (``ell.init(redact=False)``).
"""

from __future__ import annotations

from .formats import LABELS as FORMAT_LABELS
from .formats import Hit as Hit
from .names import STRONG as STRONG
from .names import WEAK as WEAK
from .names import strength as name_strength
from .policy import Policy as Policy
from .policy import Rule as Rule
from .policy import configure as configure
from .policy import counts as counts
from .policy import current as current
from .policy import is_placeholder as is_placeholder
from .policy import placeholder as placeholder
from .records import needs_redaction as needs_redaction
from .records import redact_args as redact_args
from .records import redact_evaluation_run as redact_evaluation_run
from .records import redact_feedback as redact_feedback
from .records import redact_invocation as redact_invocation
from .source import redact_source as redact_source
from .text import find_in_text as find_in_text
from .text import redact_text as redact_text
from .values import redact_value as redact_value

__all__ = [
    "FORMAT_LABELS", "Hit", "Policy", "Rule", "STRONG", "WEAK", "configure", "counts", "current", "find_in_text",
    "is_placeholder", "name_strength", "needs_redaction", "placeholder", "redact_args", "redact_evaluation_run",
    "redact_feedback", "redact_invocation", "redact_source", "redact_text", "redact_value",
]
