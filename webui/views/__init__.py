"""Blueprints, one per page area: home, lmp (page, diff), invocations (list, one), live (polling)."""
