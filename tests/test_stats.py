"""The shared statistics (featurelab.stats): one linear probe for every study, kept under its old
name in the width study, and no study reaching into another study's module for it."""
import re
from pathlib import Path

import numpy as np

from featurelab import stats
from featurelab.width import measures

PACKAGE = Path(__file__).resolve().parents[1] / "featurelab"


def test_old_names_are_the_shared_functions():
    assert measures.linear_probe is stats.linear_probe and measures.probe_correct is stats.probe_correct


def test_probe_separates_separable_classes():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 40)
    F = rng.normal(size=(120, 5)) + 4 * np.eye(3, 5)[y]
    assert stats.linear_probe(F[::2], y[::2], F[1::2], y[1::2]) == 1.0
    assert stats.probe_correct(F[::2], y[::2], F[1::2], y[1::2]).all()


def test_no_study_imports_the_probe_from_another_study():
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if p.parts[-2] != "width" and re.search(r"from \.\.width\.measures import[^\n]*linear_probe",
                                                         p.read_text())]
    assert not offenders
