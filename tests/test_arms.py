import pytest

import pwbayes as pw
from pwbayes.arms import ArmParser


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Zelf in Actie", ("zelf_in_actie",)),
        (
            "Zelf in Actie + Werken Loont + Werkbonus",
            ("zelf_in_actie", "werken_loont", "werkbonus"),
        ),
        ("Extra Hulp+ Werken Loont", ("extra_hulp", "werken_loont")),
        ("werken_loont + zelf_in_actie", ("zelf_in_actie", "werken_loont")),
        ("  ZELF IN ACTIE  ", ("zelf_in_actie",)),
        ("Zelf in Actie via App + Werken Loont", ("zelf_in_actie", "werken_loont", "app")),
        ("Keuze Treatment", ("keuze",)),
        ("control", ()),
        ("Controlegroep", ()),
    ],
)
def test_parse_dutch_and_snake_case(label, expected):
    assert pw.parse_arm(label) == expected


def test_unknown_component_lists_known_ones():
    with pytest.raises(pw.ArmError) as err:
        pw.parse_arm("Zelf in Actie + Basisbaan")
    msg = str(err.value)
    assert "'Basisbaan'" in msg
    for name in ("zelf_in_actie", "extra_hulp", "werken_loont", "werkbonus", "app", "keuze"):
        assert name in msg
    assert "register_component('basisbaan')" in msg


@pytest.mark.parametrize("label", ["", "   ", None, 3])
def test_empty_label_rejected(label):
    with pytest.raises(pw.ArmError):
        pw.parse_arm(label)


def test_comparison_label_rejected_when_not_allowed():
    with pytest.raises(pw.ArmError, match="no components"):
        pw.parse_arm("control", allow_empty=False)


def test_register_component_on_own_parser():
    parser = ArmParser()
    parser.register("basisbaan", "Basisbaan", aliases=("basic job",))
    assert parser.parse("Zelf in Actie + Basisbaan") == ("zelf_in_actie", "basisbaan")
    assert parser.parse("basic job") == ("basisbaan",)
    assert parser.label(("zelf_in_actie", "basisbaan")) == "Zelf in Actie + Basisbaan"
    # the package-wide parser is untouched
    with pytest.raises(pw.ArmError):
        pw.parse_arm("Basisbaan")


def test_register_rejects_bad_name():
    with pytest.raises(pw.ArmError, match="snake_case"):
        ArmParser().register("Job Coaching")
