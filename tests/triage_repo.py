"""A repository where one LMP uses another: `triage.classify` calls `triage.summarize`.

classify v1: first version; v2: its own long system prompt edited; v3: made only by summarize's
change (summarize v1 → v2), classify's own code is the same as in v2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from user_module import import_version

import ell

MODULE = "triage"
CLASSIFY_DOCS = (
    "You sort support tickets. Answer with one category from the list you are given.",
    "You sort support tickets. Answer with exactly one category, lower-case, from the list you are given.",
)
SUMMARIZE_DOCS = ("You summarise tickets in one line.", "You summarise tickets in one short sentence, no names.")

_SOURCE = '''
import ell


@ell.simple(model="gpt-4o-mini")
def summarize(text: str):
    """{sdoc}"""
    return f"Summarise: {{text}}"


@ell.simple(model="gpt-4o-mini")
def classify(text: str):
    """{cdoc}"""
    return f"Classify this ticket: {{summarize(text)}}"
'''


def build(repo: Path, server: Any, workdir: Path) -> Path:
    """Three versions of triage.classify (see the module's docstring) in the git store at `repo`."""
    repo.mkdir(parents=True, exist_ok=True)
    ell.init(store=str(repo), default_client=server.client(max_retries=0, timeout=10), autocommit=False)
    try:
        for sdoc, cdoc in ((SUMMARIZE_DOCS[0], CLASSIFY_DOCS[0]), (SUMMARIZE_DOCS[0], CLASSIFY_DOCS[1]),
                           (SUMMARIZE_DOCS[1], CLASSIFY_DOCS[1])):
            mod = import_version(workdir, MODULE, _SOURCE.format(sdoc=sdoc, cdoc=cdoc))
            mod.classify("The printer is on fire")
        store = ell.get_store()
        assert store is not None and store.flush()
    finally:
        ell.set_store(None)
    return repo
