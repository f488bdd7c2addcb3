import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from helpers import COLUMNS, fake_result, fit_within  # noqa: E402

import pwbayes as pw  # noqa: E402


@pytest.fixture
def example_data():
    return pw.examples.summary_effects()


@pytest.fixture
def example_model(example_data):
    return pw.SummaryModel(example_data, **COLUMNS)


@pytest.fixture
def fake_example_result(example_model):
    return fake_result(example_model)


@pytest.fixture(scope="session")
def fitted_example():
    """One real (small) fit of the bundled example, shared by the tests that need it."""
    data = pw.examples.summary_effects()
    model = pw.SummaryModel(data, **COLUMNS)
    return fit_within(model, draws=1000, tune=1000, chains=2, random_seed=11)
