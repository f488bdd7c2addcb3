"""Arm labels -> intervention components.

An *arm* is what a group received: a set of named *components*. Labels are
accepted in the Dutch form used by the published reports
(``"Zelf in Actie + Werken Loont + Werkbonus"``) and in snake_case
(``"zelf_in_actie + werken_loont"``). Parts are separated by ``+``; each part
is matched case- and whitespace-insensitively against the registry's aliases.

This module also holds the one rule that decides which rows of person-level data are a
site's comparison group (:func:`comparison_roles`), used by the models, the published
per-site method, the subgroup estimates and the causal-forest check alike.

This module needs only the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .errors import ArmError

__all__ = [
    "ArmParser",
    "COMPARISON_LABELS",
    "DEFAULT_COMPARISON",
    "REFERENCE_LABELS",
    "arm_label",
    "comparison_per_site",
    "comparison_role",
    "comparison_roles",
    "default_parser",
    "is_reference_group",
    "known_components",
    "parse_arm",
    "register_component",
]

#: Labels meaning "no components" (the comparison group).
COMPARISON_LABELS = frozenset(
    {"control", "controle", "controlegroep", "comparison", "reference", "referentiegroep"}
)

#: The comparison group of every site unless the user says otherwise.
DEFAULT_COMPARISON = "control"
#: Labels of a random reference group of non-participants (Groningen's register outcomes):
#: a comparison group whose members are not participants, so effects are not averaged
#: over them.
REFERENCE_LABELS = frozenset({"reference", "referentiegroep"})

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
            if not key:
                raise ArmError(
                    f"Arm label {label!r} has an empty part between or after '+'; write the "
                    "components joined by '+', e.g. 'Zelf in Actie + Werken Loont'."
                )
            if found & set(self.aliases.get(key, ())):
                raise ArmError(
                    f"Arm label {label!r} names {part.strip()!r} twice; each component once."
                )
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


# ---------------------------------------------------------------------------- comparison groups
def comparison_per_site(
    comparison: str | Mapping[str, str] | None, sites: Sequence[str]
) -> dict[str, str]:
    """Return the comparison group label of every site.

    Parameters
    ----------
    comparison : str or mapping, optional
        One label for all sites, or per site (``{"Groningen": "reference"}``; other sites
        keep :data:`DEFAULT_COMPARISON`); ``None``: :data:`DEFAULT_COMPARISON` everywhere.
    sites : sequence of str

    Returns
    -------
    dict of str to str
    """
    if comparison is None:
        return dict.fromkeys(sites, DEFAULT_COMPARISON)
    if isinstance(comparison, str):
        return dict.fromkeys(sites, comparison)
    if isinstance(comparison, Mapping):
        # site codes may be numbers (14, 14.0): compare them as the site labels are written
        given = {_site_text(k): str(v) for k, v in comparison.items()}
        unknown = sorted(set(given) - set(sites))
        if unknown:
            raise ArmError(f"comparison names unknown site(s) {unknown}; sites: {list(sites)}.")
        return {s: given.get(s, DEFAULT_COMPARISON) for s in sites}
    raise ArmError(
        f"comparison={comparison!r}: give a label ('control') or a mapping site -> label."
    )


def _site_text(key: object) -> str:
    """Write a site key as site labels are written: ``14.0`` and ``14`` are ``"14"``."""
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


def comparison_roles(
    sites: Sequence[str],
    labels: Sequence[str],
    comparison: str | Mapping[str, str] | None = None,
    parser: ArmParser | None = None,
) -> list[str]:
    """Return the role of every row of person-level data: the one comparison-group rule.

    A row is its site's ``"comparison"`` group when its label has no components
    (``control``, ``reference``...) and names the site's chosen comparison group (case,
    spaces, ``_`` and ``-`` ignored; Dutch names too: ``"Controlegroep"`` is ``"control"``,
    ``"Referentiegroep"`` is ``"reference"``); another group without components is ``"unused"``
    (e.g. Groningen's control group when its reference group is chosen; it is left out);
    every other row is in an ``"arm"``.

    Parameters
    ----------
    sites, labels : sequence of str
        Site and arm label of every row.
    comparison : str or mapping, optional
        See :func:`comparison_per_site`.
    parser : ArmParser, optional
        Parses the labels; default the package-wide one.

    Returns
    -------
    list of str
        ``"comparison"``, ``"unused"`` or ``"arm"`` per row.

    Raises
    ------
    ArmError
        When a label cannot be parsed, or a site has no row of its comparison group.
    """
    parser = parser or _DEFAULT
    wanted = comparison_per_site(comparison, list(dict.fromkeys(sites)))
    role = {
        (s, lab): comparison_role(lab, wanted[s], parser)
        for s, lab in set(zip(sites, labels, strict=True))
    }
    roles = [role[key] for key in zip(sites, labels, strict=True)]
    empty = {lab: r != "arm" for (_, lab), r in role.items()}
    found = {s for s, r in zip(sites, roles, strict=True) if r == "comparison"}
    for site in wanted:
        if site not in found:
            present = sorted(
                {
                    normalise_label(lab)
                    for s, lab in zip(sites, labels, strict=True)
                    if s == site and empty[lab]
                }
            )
            raise ArmError(
                f"Site {site!r} has no comparison group {wanted[site]!r}; its comparison-type "
                f"groups are {present or 'none'}. Every site needs one: add its control group, "
                f"or choose another with comparison={{{site!r}: ...}}."
            )
    return roles


def comparison_role(label: str, wanted: str, parser: ArmParser | None = None) -> str:
    """Return the role of one arm label in a site whose comparison group is ``wanted``.

    Returns ``"comparison"``, ``"unused"`` or ``"arm"``; see :func:`comparison_roles`.
    """
    if (parser or _DEFAULT).parse(label, allow_empty=True):
        return "arm"
    return "comparison" if _group(label) == _group(wanted) else "unused"


#: Dutch and English names of the same comparison group.
_SAME_GROUP = {
    "controle": "control",
    "controlegroep": "control",
    "comparison": "control",
    "referentiegroep": "reference",
}


def _group(label: str) -> str:
    """Name the comparison group a label means: ``"Controlegroep"`` is ``"control"``."""
    key = normalise_label(label)
    return _SAME_GROUP.get(key, key)


def is_reference_group(label: str) -> bool:
    """Whether ``label`` names a random reference group of non-participants."""
    return normalise_label(label) in REFERENCE_LABELS
