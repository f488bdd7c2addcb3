"""Small text helpers shared by reports, plots and messages."""

from __future__ import annotations

__all__ = ["plural"]


def plural(noun: str) -> str:
    """English plural of a site noun: ``municipality`` -> ``municipalities``."""
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")
