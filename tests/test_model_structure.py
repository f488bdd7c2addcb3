"""Model graphs built without sampling: variables, dims and coords per variant."""

import numpy as np
import pytest
from helpers import COLUMNS, SCHOOL_COLUMNS, fake_result

import pwbayes as pw


def _dims(model, name):
    return model.model.named_vars_to_dims.get(name)


def test_partial_pooling_structure(example_model):
    m = example_model.model
    free = {v.name for v in m.free_RVs}
    assert free == {"mu", "tau", "z"}
    assert _dims(example_model, "mu") == ("component",)
    assert _dims(example_model, "tau") == ("component",)
    assert _dims(example_model, "beta") == ("site", "component")
    assert _dims(example_model, "theta") == ("row",)
    coords = example_model.coords
    assert coords["site"] == [
        "Deventer",
        "Tilburg",
        "Nijmegen",
        "Utrecht",
        "Groningen",
        "Wageningen",
    ]
    assert coords["component"] == [
        "zelf_in_actie",
        "extra_hulp",
        "werken_loont",
        "werkbonus",
        "app",
        "keuze",
    ]
    assert coords["row"][0] == "Deventer: Zelf in Actie + Werken Loont"
    assert m.coords["site"] == tuple(coords["site"])


def test_theta_is_sum_of_components(example_model):
    """theta of a combined arm is the sum of its site's component effects."""
    m = example_model.model
    point = {"mu": np.arange(6.0), "tau_log__": np.zeros(6), "z": np.zeros((6, 6))}
    theta_of_values = m.replace_rvs_by_values([m["theta"]])[0]
    theta = m.compile_fn(theta_of_values, inputs=m.value_vars, on_unused_input="ignore")(point)
    # Tilburg ZiA + WL + WB = 0 + 2 + 3; Deventer app arm = ZiA + WL + App = 0 + 2 + 4
    rows = example_model.coords["row"]
    assert theta[rows.index("Tilburg: Zelf in Actie + Werken Loont + Werkbonus")] == 5.0
    assert theta[rows.index("Deventer: Zelf in Actie + Werken Loont + App")] == 6.0


def test_no_pooling_structure(example_data):
    model = pw.SummaryModel(example_data, **COLUMNS, pooling="none")
    assert {v.name for v in model.model.free_RVs} == {"beta"}
    assert set(model.priors) == {"beta"}
    assert _dims(model, "beta") == ("site", "component")


def test_full_pooling_structure(example_data):
    model = pw.SummaryModel(example_data, **COLUMNS, pooling="full")
    assert {v.name for v in model.model.free_RVs} == {"mu"}
    assert "tau" not in model.model.named_vars


def test_interactions(example_data):
    model = pw.SummaryModel(example_data, **COLUMNS, interactions=True)
    assert "interaction" in model.priors
    assert model.priors["interaction"].params["sigma"] < model.priors["mu"].params["sigma"]
    assert _dims(model, "interaction") == ("combined_arm",)
    assert model.coords["combined_arm"] == [
        "Zelf in Actie + Werken Loont",
        "Extra Hulp + Werken Loont",
        "Zelf in Actie + Werken Loont + App",
        "Zelf in Actie + Werken Loont + Werkbonus",
        "Extra Hulp + Werken Loont + Werkbonus",
    ]


def test_interactions_need_combined_arms():
    data = pw.examples.eight_schools()
    with pytest.raises(pw.DataError, match="no arm combines"):
        pw.SummaryModel(data, **SCHOOL_COLUMNS, interactions=True)


def test_bias_rows(example_data):
    model = pw.SummaryModel(example_data, **COLUMNS, suspect=["Nijmegen", "Tilburg"])
    assert model.coords["bias_site"] == ["Tilburg", "Nijmegen"]
    assert "bias" in {v.name for v in model.model.free_RVs}
    summary = model.model_record().summary
    assert summary.suspect_rows == (
        "Tilburg: Zelf in Actie + Werken Loont + Werkbonus",
        "Tilburg: Extra Hulp + Werken Loont + Werkbonus",
        "Nijmegen: Zelf in Actie + Werken Loont",
        "Nijmegen: Extra Hulp + Werken Loont",
    )
    assert summary.excluded_rows == ()


def test_excluded_rows(example_data):
    model = pw.SummaryModel(example_data, **COLUMNS, suspect=["Nijmegen"], suspect_action="exclude")
    assert "Nijmegen" not in model.coords["site"]
    assert len(model.coords["row"]) == 15
    assert [r.label for r in model.model_record().summary.excluded_rows] == [
        "Nijmegen: Zelf in Actie + Werken Loont",
        "Nijmegen: Extra Hulp + Werken Loont",
    ]
    assert "bias" not in model.priors


def test_eight_schools_any_sites():
    model = pw.SummaryModel(pw.examples.eight_schools(), **SCHOOL_COLUMNS)
    assert model.coords["site"] == list("ABCDEFGH")
    assert model.coords["component"] == ["effect"]
    assert model.model["beta"].type.shape[0] in (8, None)


def test_building_does_not_sample(example_data, monkeypatch):
    import nutpie
    import pymc

    def boom(*a, **k):
        raise AssertionError("sampled or compiled during construction")

    for module, name in ((pymc, "sample"), (nutpie, "sample"), (nutpie, "compile_pymc_model")):
        monkeypatch.setattr(module, name, boom)
    model = pw.SummaryModel(example_data, **COLUMNS)
    _ = model.model, model.priors, model.coords, repr(model), model.model_record()


def test_common_effect_reference_is_precision_weighted_mean():
    data = pw.examples.eight_schools()
    model = pw.SummaryModel(
        data,
        **SCHOOL_COLUMNS,
        pooling="full",
        priors={"mu": pw.Prior("Normal", mu=0, sigma=1e6)},
    )
    w = 1 / data.se**2
    ref = fake_result(model).common_effect()
    assert ref["mean"][0] == pytest.approx((w * data.estimate).sum() / w.sum(), rel=1e-6)
    assert ref["sd"][0] == pytest.approx(w.sum() ** -0.5, rel=1e-6)
