"""Arm labels -> intervention components.

An *arm* is what a group received: a set of named *components*. Labels are
accepted in the Dutch form used by the published reports
(``"Zelf in Actie + Werken Loont + Werkbonus"``) and in snake_case
(``"zelf_in_actie + werken_loont"``). Parts are separated by ``+``; each part
is matched case- and whitespace-insensitively against the registry's aliases.

This module needs only the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import ArmError

__all__ = [
    "ArmParser",
    "COMPARISON_LABELS",
    "arm_label",
    "default_parser",
    "known_components",
    "parse_arm",
    "register_component",
]

#: Labels meaning "no components" (the comparison group).
COMPARISON_LABELS = frozenset(
    {"control", "controle", "controlegroep", "comparison", "reference", "referentiegroep"}
)

#: Display names of the built-in components, in canonical order.
_BUILTIN = {
    "zelf_in_actie": "Zelf in Actie",
    "extra_hulp": "Extra Hulp",
    "werken_loont": "Werken Loont",
    "werkbonus": "Werkbonus",
    "app": "App",
    "keuze": "Keuze",
}

#: Phrases that stand for one or more components.
_BUILTIN_ALIASES = {
    "zelf in actie": ("zelf_in_actie",),
    "extra hulp": ("extra_hulp",),
    "werken loont": ("werken_loont",),
    "werkbonus": ("werkbonus",),
    "app": ("app",),
    "zelf in actie via app": ("zelf_in_actie", "app"),
    "keuze": ("keuze",),
    "keuze treatment": ("keuze",),
    "keuze voor treatment": ("keuze",),
}


def normalise_label(text: str) -> str:
    """Lower-case a label and fold spaces, underscores and hyphens (for matching)."""
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


@dataclass
class ArmParser:
    """Parses arm labels into tuples of component names.

    Parameters
    ----------
    components : dict of str to str, optional
        Component name (snake_case) to display name, in canonical order.
        Defaults to the six components of the Experimenten Participatiewet.
    aliases : dict of str to tuple of str, optional
        Extra phrases mapped to components.
    """

    components: dict[str, str] = field(default_factory=lambda: dict(_BUILTIN))
    aliases: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(_BUILTIN_ALIASES))

    def register(self, name: str, display: str | None = None, aliases: tuple[str, ...] = ()):
        """Add a component.

        Parameters
        ----------
        name : str
            snake_case identifier, e.g. ``"coaching"``.
        display : str, optional
            Name shown in tables and plots; defaults to ``name``.
        aliases : tuple of str
            Other phrases that mean this component.
        """
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name or ""):
            raise ArmError(
                f"Component name {name!r} is not snake_case. Use lower-case letters, digits and "
                "underscores, starting with a letter, e.g. 'job_coaching'."
            )
        self.components.setdefault(name, display or name)
        for phrase in (name, display or name, *aliases):
            self.aliases[normalise_label(phrase)] = (name,)

    def known(self) -> list[str]:
        """Return the registered component names in canonical order."""
        return list(self.components)

    def parse(self, label: str, *, allow_empty: bool = True) -> tuple[str, ...]:
        """Split an arm label into its components.

        Parameters
        ----------
        label : str
            E.g. ``"Zelf in Actie + Werken Loont + Werkbonus"``.
        allow_empty : bool
            Whether a comparison label (``"control"``) is accepted; it parses to ``()``.

        Returns
        -------
        tuple of str
            Component names in canonical order, without duplicates.

        Raises
        ------
        ArmError
            For an empty label, an unknown part, or a comparison label when not allowed.
        """
        if not isinstance(label, str) or not label.strip():
            raise ArmError(
                f"Arm label {label!r} is empty or not text. Write the components joined by '+', "
                f"e.g. 'Zelf in Actie + Werken Loont'. Known components: {self._known_text()}."
            )
        if normalise_label(label) in COMPARISON_LABELS:
            if allow_empty:
                return ()
            raise ArmError(
                f"Arm {label!r} has no components (it is a comparison group). Rows of a summary "
                "table must be treatment arms compared with their comparison group; drop the "
                "comparison rows."
            )
        found: set[str] = set()
        for part in label.split("+"):
            key = normalise_label(part)
            if key not in self.aliases:
                raise ArmError(
                    f"Unknown component {part.strip()!r} in arm label {label!r}. Known components: "
                    f"{self._known_text()}. Register a new one with "
                    f"pwbayes.register_component('{_snake(part)}')."
                )
            found.update(self.aliases[key])
        return tuple(c for c in self.components if c in found)

    def label(self, components: tuple[str, ...]) -> str:
        """Return the display label of a component tuple, e.g. ``"Zelf in Actie + Werkbonus"``."""
        if not components:
            return "comparison"
        return " + ".join(self.components.get(c, c) for c in components)

    def _known_text(self) -> str:
        return ", ".join(f"{k} ({v!r})" for k, v in self.components.items())


def _snake(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_") or "component"


_DEFAULT = ArmParser()


def default_parser() -> ArmParser:
    """Return the package-wide parser (the one :func:`register_component` extends)."""
    return _DEFAULT


def parse_arm(label: str, *, allow_empty: bool = True) -> tuple[str, ...]:
    """Parse an arm label with the default parser; see :meth:`ArmParser.parse`."""
    return _DEFAULT.parse(label, allow_empty=allow_empty)


def arm_label(components: tuple[str, ...]) -> str:
    """Display label of a component tuple with the default parser."""
    return _DEFAULT.label(components)


def known_components() -> list[str]:
    """Names of the components the default parser knows."""
    return _DEFAULT.known()


def register_component(name: str, display: str | None = None, aliases: tuple[str, ...] = ()):
    """Register a component with the default parser; see :meth:`ArmParser.register`."""
    _DEFAULT.register(name, display, aliases)
