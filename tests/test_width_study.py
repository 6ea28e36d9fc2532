"""The width study's plan and measurements (featurelab.width_study, width_figures) and its
config (featurelab.config.width_ensembles), with known answers."""
import copy

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import torch

from featurelab.config import ConfigError, load_config, validate_config
from featurelab.data.prepared import holdout_indices
from featurelab.width import tables as WF
from featurelab.width.study import measure_alpha, repeat_plan


def test_holdout_is_stratified_disjoint_and_seeded():
    labels = np.repeat([0, 1, 2], [500, 300, 200])
    train, val = holdout_indices(labels, 100, seed=3)
    assert len(val) == 100 and len(train) == 900
    assert np.intersect1d(train, val).size == 0
    assert np.array_equal(np.union1d(train, val), np.arange(1000))
    assert np.bincount(labels[val]).tolist() == [50, 30, 20]  # proportional quotas
    assert np.array_equal(holdout_indices(labels, 100, seed=3)[1], val)
    assert not np.array_equal(holdout_indices(labels, 100, seed=4)[1], val)
    # largest remainder: 7 points over classes of 1/3 each → 3, 2, 2 in some order, sum 7
    _, v = holdout_indices(np.repeat([0, 1, 2], 10), 7)
    assert sorted(np.bincount(np.repeat([0, 1, 2], 10)[v]).tolist()) == [2, 2, 3]
    with pytest.raises(ValueError):
        holdout_indices(labels, 1000)


def test_repeat_plan_windows_and_reverse_reference():
    plans = repeat_plan(repeats=2, n_f=2, n_p=4)
    assert [p.window for p in plans] == [(0, 1, 2, 3), (4, 5, 6, 7)]
    assert [(p.base, p.base_ref) for p in plans] == [(0, 1), (1, 2)]
    assert plans[0].concat(2) == (0, 1) and plans[0].reverse_ref == (2, 3)
    # a window shorter than 2·N_f borrows the next window's members, never its own N_f
    plans = repeat_plan(repeats=2, n_f=3, n_p=4)
    assert plans[0].reverse_ref == (3, 4, 5) and plans[1].reverse_ref == (7, 0, 1)
    for p in plans:
        assert not set(p.reverse_ref) & set(p.concat(3))
    with pytest.raises(ValueError):
        repeat_plan(repeats=1, n_f=3, n_p=4)  # 4 members cannot give two disjoint triples


def _world(seed=0, n=(600, 200, 300)):
    """Four low-width members each hold 2 of the 8 latent directions Z (plus a little noise);
    base members are random rotations of all of Z. So the N_p = 4 concatenation spans M_1
    (FSE ≈ 0), the N_f = 2 concatenation only half of Z (FSE ≈ 1/2), and M_1' spans M_1."""
    rng = np.random.default_rng(seed)
    labels, narrow, base = {}, [dict() for _ in range(4)], [dict() for _ in range(2)]
    maps = [np.linalg.qr(rng.normal(size=(8, 8)))[0] for _ in range(2)]  # well conditioned
    for split, size in zip(("train", "val", "test"), n):
        Z = rng.normal(size=(size, 8))
        labels[split] = (Z[:, 0] + Z[:, 4] > 0).astype(int)
        for i in range(4):
            narrow[i][split] = Z[:, 2 * i:2 * i + 2] + 1e-3 * rng.normal(size=(size, 2))
        for j in range(2):
            base[j][split] = Z @ maps[j] + 1e-3 * rng.normal(size=(size, 8))
    return base, narrow, labels


def test_measure_alpha_known_answers():
    base, narrow, labels = _world()
    m = measure_alpha(base, narrow, labels, n_f=2, n_p=4, repeats=1, log=lambda s: None)
    v = m.set_index(["quantity", "n", "split"])["value"]
    assert v["fse_ref", 1, "val"] < 1e-3                  # M_1' is an invertible map of the same Z
    assert v["fse", 4, "val"] < 1e-3 and v["fse", 4, "test"] < 1e-3
    assert 0.3 < v["fse", 2, "val"] < 0.7                  # half of Z is missing
    assert v["fsg", 2, "val"] == pytest.approx(v["fse", 2, "val"] - v["fse_ref", 1, "val"])
    # reverse: M_1 spans concat (N_f) exactly; concat M_α' (members 2, 3) holds the other half of Z
    assert v["fse_reverse", 2, "val"] < 1e-3
    assert v["fse_reverse_ref", 2, "val"] > 0.9
    assert v["fsg_reverse", 2, "val"] < -0.9
    # the label depends on Z0 and Z4: members 0 and 2 hold them, so only N_p sees both
    assert v["fp_base", 1, "test"] > 0.95 and v["fp_concat", 4, "test"] > 0.95
    assert v["fp_concat", 2, "test"] < 0.85
    # M_1's residual after the N_p concatenation is noise: no better than chance-ish
    assert v["fp_residual_base", 4, "test"] < 0.7
    assert v["fp_appended_concat", 4, "test"] > 0.95
    assert set(m.quantity) >= {"fse_shuffled", "fse_ref_shuffled"}
    assert v["fse_shuffled", 4, "val"] < 1e-3


def test_findings_and_tables_on_a_hand_made_aggregate():
    rows = []
    for state, fsg in (("trained", {0.5: 0.05, 0.25: 0.2}), ("init", {0.5: 0.02, 0.25: 0.01})):
        for a, g in fsg.items():
            npv, nfv = (4 if a == 0.5 else 16), (2 if a == 0.5 else 4)
            for r in range(2):
                rows += [
                    {"state": state, "alpha": a, "repeat": r, "quantity": "fsg", "n": npv, "split": "val", "value": g + 0.01 * r},
                    {"state": state, "alpha": a, "repeat": r, "quantity": "fsg_reverse", "n": nfv, "split": "val", "value": g / 2},
                    {"state": state, "alpha": a, "repeat": r, "quantity": "fp_base", "n": 1, "split": "test", "value": 0.9},
                    {"state": state, "alpha": a, "repeat": r, "quantity": "fp_concat", "n": npv, "split": "test", "value": 0.9 - g},
                ]
    agg = WF.aggregate(pd.DataFrame(rows))
    got = agg[(agg.state == "trained") & (agg.quantity == "fsg") & (agg.alpha == 0.25)]
    assert got["mean"].iloc[0] == pytest.approx(0.205) and got["std"].iloc[0] == pytest.approx(0.01 / np.sqrt(2))
    counts = pd.DataFrame({"alpha": [1.0, 0.5, 0.25], "n_f": [1, 2, 4], "n_p": [1, 4, 16]})
    f = WF.findings(agg, counts)
    assert f["trained"]["fsg_np_val_spearman_vs_1_over_alpha"] == pytest.approx(1.0)
    assert f["init"]["fsg_np_val_spearman_vs_1_over_alpha"] == pytest.approx(-1.0)
    assert f["trained"]["finding_3_1_fsg_grows_as_alpha_shrinks"] is True
    assert f["trained"]["fp_gap_base_minus_concat_np"] == {"1/4": pytest.approx(0.2), "1/2": pytest.approx(0.05)}
    # over the two repeats: FSG at 1/4 is 0.20 and 0.21 (t interval 0.205 ± 12.7 · 0.005 > 0:
    # holds); the FP gap is 0.2 and 0.05 at every repeat (no spread: holds); the converse's
    # FSG_reverse is 0.1 both times (holds)
    meas = pd.DataFrame(rows)
    v = WF.findings(agg, counts, meas)["trained"]["verdicts"]
    assert v["finding_3_1_fsg_grows_as_alpha_shrinks"]["verdict"] == "holds"
    assert v["finding_3_1_fsg_grows_as_alpha_shrinks"]["lo"] == pytest.approx(
        0.205 - scipy.stats.t.ppf(0.975, 1) * 0.005)
    assert v["finding_3_2_concat_below_base"]["verdict"] == "holds"
    assert v["finding_reverse_fsg_positive_at_smallest_alpha"]["verdict"] == "holds"
    # one repeat: no verdict, whatever the values
    one = WF.findings(agg, counts, meas[meas.repeat == 0])["trained"]["verdicts"]
    assert {d["verdict"] for d in one.values()} == {"no verdict"}
    # a gap of opposite signs in two repeats: undecided
    flip = meas.copy()
    flip.loc[(flip.quantity == "fp_concat") & (flip.repeat == 1) & (flip.state == "trained"), "value"] = 0.99
    assert WF.findings(agg, counts, flip)["trained"]["verdicts"]["finding_3_2_concat_below_base"][
        "verdict"] == "undecided"
    md = WF.to_markdown(pd.DataFrame({"x": ["a"], "mean": [0.5], "std": [0.1]}), digits=2)
    assert "0.50 ± 0.10" in md


@pytest.fixture
def cfg(repo_root):
    return load_config(repo_root / "config.yaml")




@pytest.mark.parametrize("change, message", [
    ({"alphas": [0.3]}, "not 1/k"),
    ({"alphas": [1]}, "at least one α below 1"),
    ({"validation": 3000}, "leave nothing"),
    ({"recipe": "nope"}, "is not a recipe"),
])
def test_width_config_problems_are_named(cfg, change, message):
    bad = copy.deepcopy(cfg)
    bad["width"].update(change)
    with pytest.raises(ConfigError, match=message):
        validate_config(bad)




def test_initial_model_is_the_training_start(tmp_path):
    """The random-init baseline rebuilds exactly the weights training started from."""
    from featurelab.data.prepared import Split
    from featurelab.data.synthetic import WorldConfig, class_names, generate_split
    from featurelab.training import Recipe, initial_model, train_member

    wc = WorldConfig(n_train=40, n_test=10, num_classes=3, seed=2)
    tr = generate_split(wc, "train")
    split = Split(tr[0], tr[1], tuple(class_names(wc)))
    train_member(split, arch="resnet18", width=1 / 32, seed=7,
                 recipe=Recipe(lr=0.05, batch_size=20, max_epochs=1, stop_at_train_acc=None, checkpoint_epochs=(0,)),
                 out_path=tmp_path / "m.pt", state_path=tmp_path / "s.pt", checkpoint_dir=tmp_path / "c",
                 device="cpu", threads=1, log=lambda s: None)
    start = torch.load(tmp_path / "c/epoch000.pt")
    rebuilt = initial_model("resnet18", 3, 1 / 32, 3, 7).state_dict()
    assert start.keys() == rebuilt.keys()
    for k in start:
        assert torch.equal(start[k], rebuilt[k]), k
