import matplotlib.pyplot as plt
import pytest
from helpers import COLUMNS, fake_result

import pwbayes as pw
from pwbayes.plots.forest import plot_forest


def test_forest_one_panel_per_arm(fake_example_result):
    fig = plot_forest(fake_example_result)
    axes = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title().replace("\n", " ") for ax in axes] == list(
        fake_example_result.record.model.arms
    )
    # Utrecht/Groningen/Wageningen + pooled + new site for the single-component arms
    ticks = [t.get_text() for t in axes[5].get_yticklabels()]
    assert ticks == ["Utrecht", "Groningen", "Wageningen", "pooled", "new municipality"]
    texts = " ".join(t.get_text() for t in fig.texts)
    assert "SYNTHETIC" in texts
    legend = set(t.get_text() for t in fig.legends[0].get_texts())
    # every marker and the band explained, in the data's words and with the interval
    assert legend == {
        "band: the fully pooled interval, across the panel",
        "municipality alone: its own estimate, 90% interval",
        "municipality in the partially pooled model, 90% HDI",
        "pooled effect (partial pooling): the mean over municipalities, 90% HDI",
        "fully pooled (one common effect), 90% interval",
        "effect in a new municipality (prediction), 90% HDI",
    }
    assert "percentage points" in fig._supxlabel.get_text()
    plt.close(fig)


def test_forest_says_the_unit_and_the_site_noun_of_the_data():
    result = fake_result(pw.SummaryModel(pw.examples.eight_schools(), site="school",
                                         estimate="estimate", se="se"))  # fmt: skip
    fig = plot_forest(result)
    assert fig._supxlabel.get_text() == "effect (SAT points)"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][-1] == "new school"
    assert "percentage" not in " ".join(t.get_text() for t in fig.legends[0].get_texts())
    plt.close(fig)
    with pytest.raises(pw.DataError, match="give a list of arm labels"):
        plot_forest(result, arms="effect")


def test_forest_subset_and_bad_arm(fake_example_result):
    fig = fake_example_result.plot_forest(arms=["Werken Loont"])
    assert sum(ax.axison for ax in fig.axes) == 1
    plt.close(fig)
    with pytest.raises(ValueError, match="Unknown arm"):
        plot_forest(fake_example_result, arms=["Basisbaan"])


def test_forest_no_pooling_has_no_pooled_rows(example_data):
    result = fake_result(pw.SummaryModel(example_data, **COLUMNS, pooling="none"))
    fig = plot_forest(result, arms=["Extra Hulp"])
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == ["Utrecht", "Groningen", "Wageningen"]
    plt.close(fig)


def test_compare_plot(example_data):
    from pwbayes.plots.compare import plot_compare

    model = pw.SummaryModel(example_data, **COLUMNS)
    table = example_data.rename(columns={"municipality": "site"})[["site", "arm", "estimate", "se"]]
    table.attrs["note"] = "SYNTHETIC test"
    fig = plot_compare(
        table,
        {"summary-level": fake_result(model), "again": fake_result(model, seed=1)},
        arms=["Extra Hulp"],
    )
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Utrecht",
        "Groningen",
        "Wageningen",
        "pooled",
    ]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["site alone (linear model)", "summary-level", "again"]
    assert any("SYNTHETIC" in t.get_text() for t in fig.texts)
    plt.close(fig)
    with pytest.raises(ValueError, match="results is empty"):
        plot_compare(table, {})
