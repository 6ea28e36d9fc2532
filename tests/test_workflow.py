"""The whole DAG on a tiny config, the HTML report, and a killed run that resumes."""
import json
import os
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import snakemake_cmd, zoo_models

from featurelab.activations import read_activations

pytestmark = pytest.mark.slow


def tiny_config(max_epochs=2, members=2, stop=1.0, studies=False):
    cfg = {
        "data": {"synthetic": {"n_train": 200, "n_test": 60, "num_classes": 4, "seed": 1}},
        "recipes": {"tiny": {"lr": 0.05, "batch_size": 50, "max_epochs": max_epochs,
                             "stop_at_train_acc": stop, "checkpoint_epochs": [0, 1]}},
        "ensembles": {"tiny": {"dataset": "synthetic", "arch": "resnet18", "width": 0.0625,
                               "members": members, "subset": 150, "recipe": "tiny"}},
        "extract": {"layers": ["penultimate", "block1"], "splits": ["train", "test"]},
        "theory": {"simulate_pairs": 200},
        "device": "cpu",
    }
    if studies:
        cfg["interaction"] = {"ensembles": ["tiny"], "k": 8, "sensitivity": {"g5": {"gamma_corr": 0.5}},
                              "depths": ["block1"], "epochs": {"tiny": [0, 1]}}
        cfg["gde"] = {"enabled": True, "width": 0.0625, "members": 2, "recipe": "tiny",
                      "superclasses": [2, 4], "blue_groups": 2, "fractions": [0.5, 1.0],
                      "world": {"n_train": 240}, "subset": 100}
        cfg["width"] = {"enabled": True, "dataset": "synthetic", "validation": 40, "archs": ["resnet18"],
                        "base_width": 0.0625, "alphas": [0.5], "repeats": 1, "recipe": "tiny"}
        cfg["recipes"]["tiny_pad"] = {**cfg["recipes"]["tiny"], "checkpoint_epochs": [], "augment": "crop_flip",
                                      "pad": 4, "pad_color": [150, 50, 50]}
        cfg["contamination"] = {"enabled": True, "ensemble": "tiny",
                                "numerical": {"iterations": 40, "record_every": 10,
                                              "setting": {"width": 16, "n_train": 100, "n_test": 100}},
                                "padding": {"members": 1, "recipe": "tiny_pad", "visualize": 2, "visualize_steps": 5}}
        # the diversity pool: every model stops alike (tiny_stop's target, checked twice per epoch)
        cfg["recipes"]["tiny_stop"] = {**cfg["recipes"]["tiny"], "checkpoint_epochs": [], "stop_at_heldout_acc": 0.99,
                                       "heldout_checks": 2}
        cfg["recipes"]["tiny_mix"] = {**cfg["recipes"]["tiny_stop"], "mixup": 0.4, "label_smoothing": 0.1}
        cfg["ensembles"]["tpool"] = {**cfg["ensembles"]["tiny"], "recipe": "tiny_stop", "seed": 50}
        cfg["diversity"] = {"enabled": True, "ensemble": "tpool", "window": [0.0, 1.0], "heldout": 100, "test": 200,
                            "worlds": {"more": {"draw": 1, "p_d": 0.9}}, "bootstrap": 20, "interaction_k": 4,
                            "categories": {"hyper": [{"recipe": "tiny_mix"}],
                                           "arch": [{"arch": "mlp"}],
                                           "dataset": [{"dataset": "more"}]},
                            "greedy": {"start": {"ensemble": "tiny", "member": 0}},
                            "overlap": {"fractions": [1.0, 0.5, 0.0], "draws": 2}, "compression": {"dims": [2, 4]}}
        cfg["train"] = {"pack": {"enabled": True}}  # as the default: one job per group of narrow members
    return cfg


def snakemake(root, workdir, config, *args, **kw):
    (workdir / "cfg.yaml").write_text(yaml.safe_dump(config))
    cmd = [*snakemake_cmd(), "-s", str(root / "Snakefile"), "-d", str(workdir),
           "--configfile", str(workdir / "cfg.yaml"), *args]
    return cmd if kw.get("cmd_only") else subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_whole_dag_then_nothing_to_do_then_report(repo_root, tmp_path):
    cfg = tiny_config(studies=True)
    res = snakemake(repo_root, tmp_path, cfg, "--cores", "2")
    assert res.returncode == 0, res.stderr[-3000:]
    models = zoo_models(cfg, "tiny")
    for m, model in enumerate(models):
        zoo = tmp_path / "results/zoo" / model
        for layer, dim in (("penultimate", 32), ("block1", 4)):
            for split, n in (("train", 200), ("test", 60)):
                a = read_activations(zoo / f"activations/{layer}/{split}.parquet")
                assert a.activation.shape == (n, dim) and a.logits.shape == (n, 4)
                assert a.metadata["seed"] == m and a.metadata["layer"] == layer and a.metadata["model"] == model
                assert np.array_equal(a.index, np.arange(n))
        ckpts = sorted(p for p in os.listdir(zoo / "checkpoints") if p.startswith("epoch"))
        assert ckpts == ["epoch000.pt", "epoch001.pt"]
        assert "epoch   1/2" in (tmp_path / f"results/logs/train/{model}.log").read_text()
    summary = pd.read_csv(tmp_path / "results/ensembles/tiny/training_summary.csv")
    assert list(summary["member"]) == [0, 1] and summary["test_acc"].between(0, 1).all()
    assert list(summary["model"]) == models
    truth = pd.read_parquet(tmp_path / "resources/prepared/synthetic/test_truth.parquet")
    assert len(truth) == 60 and {"motifs", "dominant", "blue_level"} <= set(truth.columns)

    # the studies' outputs
    inter = tmp_path / "results/interaction/tiny"
    summary = json.loads((inter / "summary.json").read_text())
    assert summary["M"] == 2 and summary["N"] == 60 and summary["K"] <= 8
    assert set(summary["variants"]) == {"main", "g5", "block1"} and "ground_truth" in summary
    for f in ("fig2a.png", "fig2a.csv", "main/fig1.png", "main/fig9.csv", "block1/fig3c.png", "g5/fig2b.csv"):
        assert (inter / f).stat().st_size > 0, f
    tve = pd.read_csv(tmp_path / "results/theory/tiny/theory_vs_experiment.csv")
    assert len(tve) > 0
    for f in ("fig4.png", "fig16.csv", "fig5a.csv"):
        assert (tmp_path / "results/theory" / f).stat().st_size > 0
    table = pd.read_csv(tmp_path / "results/gde/table1.csv")
    assert list(table["condition"]) == ["super2", "super4", "blue1", "blue2"]
    assert table["accuracy_mean"].between(0, 1).all() and table["agreement_mean"].between(0, 1).all()
    assert "±" in (tmp_path / "results/gde/table1.md").read_text()
    fig5b = pd.read_csv(tmp_path / "results/gde/fig5b.csv")  # fractions 0.5 and 1.0 of the GDE world's 240
    assert fig5b["fraction"].tolist() == [0.5, 1.0] and fig5b["n_train"].tolist() == [120, 240]
    gde_world = np.load(tmp_path / "resources/prepared/synthetic_gde/train.npz")
    assert len(gde_world["labels"]) == 240
    blue = np.load(tmp_path / "resources/prepared/synthetic_gde__blue2/train.npz")
    assert len(blue["labels"]) == 120
    # strict JSON (no NaN / Infinity, which jq and JavaScript refuse): K̃ = 2 has no κ, written null
    gsum = json.loads((tmp_path / "results/gde/summary.json").read_text(),
                      parse_constant=lambda c: pytest.fail(f"{c} in results/gde/summary.json"))
    assert gsum["guess_copy_kappa"]["super2"] is None
    assert [g["group"] for g in gsum["blue_groups"]] == [1, 2]
    # blue_tie (on by default): the bluer group's rare images draw from the larger pool
    assert gsum["blue_groups"][0]["rare_pool_mean"] < gsum["blue_groups"][1]["rare_pool_mean"]
    # the class count read from the logits; the class-free difference divides out 1 − 1/K
    assert table["classes"].tolist() == [2, 4, 4, 4]
    np.testing.assert_allclose(table["difference_class_free"],
                               table["difference_mean"] / (1 - 1 / table["classes"]))
    assert (table["difference_se"] >= 0).all()
    for interval in (gsum["blue_over_superclass_interval"], gsum["class_free"]["interval"]):
        assert 0 <= interval["p_blue_larger"] <= 1 and interval["ratio_q05"] <= interval["ratio_q95"]

    width = tmp_path / "results/width"
    counts = pd.read_csv(width / "member_counts.csv")
    assert counts["n_p"].tolist() == [1, 4] and counts["members_trained"].tolist() == [2, 4]
    narrow = zoo_models(cfg, "w_resnet18_a2")
    init = read_activations(tmp_path / f"results/zoo/{narrow[3]}/features/init/val.parquet")
    assert init.activation.shape == (40, 16) and init.metadata["state"] == "init"
    m = pd.read_csv(width / "resnet18/measurements.csv")
    assert {"fsg", "fsg_reverse", "fp_concat", "fp_appended_base", "fse_shuffled"} <= set(m.quantity)
    for f in ("fig1.png", "fig2.csv", "fig3.png", "fig4.csv", "fig7.png", "fig8.png", "shuffled_regression.md",
              "accuracy.csv"):
        assert (width / "resnet18" / f).stat().st_size > 0, f
    wsum = json.loads((width / "summary.json").read_text())
    assert "fsg_np_val_by_alpha" in wsum["findings"]["resnet18"]["trained"]
    assert len(pd.read_csv(width / "table3.csv")) == 4

    cont = tmp_path / "results/contamination"
    csum = json.loads((cont / "summary.json").read_text(),
                      parse_constant=lambda c: pytest.fail(f"{c} in results/contamination/summary.json"))
    assert csum["numerical"]["iterations"]["classification"] == 40 and "relu" in csum["numerical"]["classification_code"]
    assert set(csum["deep"]["stages"]) == {"1", "2", "3", "4"} and "accuracy_drop_under_shift" in csum["deep"]
    assert set(csum["padding"]["accuracy_padded"]) == {"none", "training colour", "other colour"}
    assert set(csum["headline"]["probe_accuracy"]) == {"teacher", "student", "plain"}
    assert csum["headline"]["probe_accuracy"]["student"]["id"]["n"] == 2
    assert (tmp_path / "resources/prepared/synthetic/shifted.npz").exists()
    for f in ("fig1", "fig3", "fig4", "fig5", "fig7", "fig8", "fig9", "fig10", "fig13", "fig13_filters", "fig15"):
        assert (cont / f"{f}.png").stat().st_size > 0, f

    div = tmp_path / "results/diversity"
    dsum = json.loads((div / "summary.json").read_text(),
                      parse_constant=lambda c: pytest.fail(f"{c} in results/diversity/summary.json"))
    pool = pd.read_csv(div / "pool.csv")
    # base: best (the schema's default) may pick the pool ensemble's other member as the base
    assert list(pool.category) in (["base", "reinit", "hyper", "arch", "dataset", "start"],
                                   ["reinit", "base", "hyper", "arch", "dataset", "start"])
    assert dsum["pool"]["test_points"] == 200 and dsum["pool"]["heldout_points"] == 100
    assert "0.99" in dsum["pool"]["rule_of_selection"] and dsum["greedy"]["start_category"] == "start"
    held = pool[pool.category != "start"]
    assert set(held.recipe) == {"tiny_stop", "tiny_mix"} and set(held.stop_reason) <= {"heldout_acc", "max_epochs"}
    assert len(pd.read_csv(div / "pairs.csv")) == 4 and "error_inconsistency_grows" in dsum
    assert set(pd.read_csv(div / "transfer.csv").category) == {"reinit", "hyper", "arch", "dataset"}
    for f in ("fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "bridge"):
        assert (div / f"{f}.png").stat().st_size > 0, f

    # the Findings table: every study's verdicts, each one of the four words with its rule
    found = pd.read_csv(tmp_path / "results/findings.csv")
    assert {"interaction/tiny", "gde", "width", "contamination", "diversity"} <= set(found.study), set(found.study)
    assert set(found.verdict) <= {"holds", "fails", "undecided", "no verdict"} and found.rule.notna().all()
    assert "| study | finding |" in (tmp_path / "results/findings.md").read_text()

    # every figure of every study is there with the numbers it plots: rows, and finite values
    figures = sorted((tmp_path / "results").rglob("*.png"))
    studies = {p.relative_to(tmp_path / "results").parts[0] for p in figures}
    assert {"ensembles", "interaction", "theory", "gde", "width", "contamination", "diversity"} <= studies, studies
    for png in figures:
        csv = png.with_suffix(".csv")
        if not csv.exists():  # the training curves and theory-vs-experiment figures have their table elsewhere
            continue
        df = pd.read_csv(csv)
        assert len(df) > 0, f"{csv} has no rows"
        numbers = df.select_dtypes("number").to_numpy(dtype=float)
        assert not np.isinf(numbers).any(), f"{csv} holds infinities"
        # a column may be empty where the data has nothing to show (no point every tiny member gets
        # right has no high-confidence density), never the whole figure
        assert np.isfinite(numbers).any(), f"{csv} holds no finite number"

    again = snakemake(repo_root, tmp_path, cfg, "-n", "--cores", "2")
    assert "Nothing to be done" in again.stdout + again.stderr

    rep = snakemake(repo_root, tmp_path, cfg, "--report", str(tmp_path / "report.html"))
    assert rep.returncode == 0, rep.stderr[-3000:]
    html = (tmp_path / "report.html").read_text(errors="replace")
    for name in ("training_curves.png", "training_summary.csv", "fig3c.png", "fig4.png", "table1.csv", "fig5b.png",
                 "member_counts.csv", "table3.csv", "shuffled_regression.csv", "fig7.png", "fig8.png",
                 "fig13_filters.png", "fig15.png", "bridge.png", "findings.csv"):
        assert name in html, name


def test_killed_training_resumes_from_its_last_epoch(repo_root, tmp_path):
    cfg = tiny_config(max_epochs=40, members=1, stop=None)
    cmd = snakemake(repo_root, tmp_path, cfg, "--cores", "1", cmd_only=True)
    model = zoo_models(cfg, "tiny")[0]
    log = tmp_path / f"results/logs/train/{model}.log"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    try:
        while time.time() < deadline:
            if log.exists() and "epoch   3/40" in log.read_text():
                break
            assert proc.poll() is None, "snakemake ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("training never reached epoch 3")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (tmp_path / f"results/zoo/{model}/model.pt").exists()
    assert (tmp_path / f"results/zoo/{model}/resume.state.pt").exists()

    # what a user does after a crash: remove the stale lock, rerun the incomplete job
    assert snakemake(repo_root, tmp_path, cfg, "--unlock").returncode == 0
    res = snakemake(repo_root, tmp_path, cfg, "--cores", "1", "--rerun-incomplete")
    assert res.returncode == 0, res.stderr[-3000:]
    text = log.read_text()
    assert "resuming from" in text
    resumed_at = int(text.split("resuming from")[1].split("after epoch")[1].split()[0])
    assert resumed_at >= 3 and f"epoch {resumed_at:3d}/40" not in text  # no epoch trained twice
    assert "epoch  40/40" in text
    assert not (tmp_path / f"results/zoo/{model}/resume.state.pt").exists()
