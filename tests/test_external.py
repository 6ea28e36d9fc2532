"""External models and activations (the config's ``external`` section): each route refuses
bad input before any job, naming the file and the reason; networks trained by the workflow,
exported as state dicts, as TorchScript and as .npy activations, come back through each route
with the same interaction tensor and diversity metrics; a torchvision network made in the
test is extracted and analysed."""
import copy
import subprocess

import numpy as np
import pytest
import torch

import yaml
from conftest import snakemake_cmd, zoo_models

from featurelab.activations import read_activations
from featurelab.config import ConfigError, validate_config
from featurelab.external import HookedFeatures, import_activations, load_torchscript
from featurelab.models import build_model
from featurelab.plan import Plan

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")


def base_config(**external):
    """The tiny config of tests/test_workflow.py (a world of 60 test points, 4 classes)."""
    cfg = {
        "data": {"synthetic": {"n_train": 200, "n_test": 60, "num_classes": 4, "seed": 1}},
        "recipes": {"tiny": {"lr": 0.05, "batch_size": 50, "max_epochs": 2, "checkpoint_epochs": [0, 1]}},
        "ensembles": {"tiny": {"dataset": "synthetic", "arch": "resnet18", "width": 0.0625, "members": 2,
                               "recipe": "tiny"}},
        "extract": {"layers": ["penultimate", "block1"], "splits": ["test"]},
        "interaction": {"ensembles": ["tiny"], "k": 8, "sensitivity": {}, "depths": ["block1"]},
        "theory": {"simulate_pairs": 200},
        "device": "cpu",
    }
    if external:
        cfg["external"] = external
    return cfg


def problems(cfg):
    with pytest.raises(ConfigError) as err:
        validate_config(copy.deepcopy(cfg))
    return str(err.value)


def tiny_net(seed=0):
    torch.manual_seed(seed)
    return build_model("resnet18", 4, 0.0625).eval()


# ---------------------------------------------------------------- refused before any job


def test_missing_file_is_named(tmp_path):
    msg = problems(base_config(mine={"dataset": "synthetic", "arch": "resnet18", "width": 0.0625,
                                     "checkpoints": [str(tmp_path / "a.pt"), str(tmp_path / "runs/*.pt")]}))
    assert f"{tmp_path / 'a.pt'} does not exist" in msg
    assert "runs/*.pt (a glob that matches no file)" in msg


def test_checkpoint_whose_keys_do_not_fit(tmp_path):
    torch.save(tiny_net().state_dict(), tmp_path / "a.pt")
    msg = problems(base_config(mine={"dataset": "synthetic", "arch": "resnet18", "width": 0.125,
                                     "checkpoints": str(tmp_path / "*.pt")}))
    assert f"{tmp_path / 'a.pt'}: its keys do not fit resnet18" in msg
    assert "conv1.weight (4, 3, 3, 3) against (8, 3, 3, 3)" in msg
    import torchvision

    torch.save(torchvision.models.resnet18(num_classes=4).state_dict(), tmp_path / "a.pt")
    msg = problems(base_config(mine={"dataset": "synthetic", "arch": "resnet18", "width": 0.0625,
                                     "checkpoints": str(tmp_path / "a.pt")}))
    assert "missing stages.0.0.conv1.weight" in msg and "unexpected layer1.0.conv1.weight" in msg


def test_pickled_checkpoint_is_refused(tmp_path):
    torch.save({"state_dict": tiny_net().state_dict(), "stats": np.arange(3)}, tmp_path / "full.pt")
    msg = problems(base_config(mine={"dataset": "synthetic", "arch": "resnet18", "width": 0.0625,
                                     "checkpoints": [str(tmp_path / "full.pt")]}))
    assert f"{tmp_path / 'full.pt'} needs full unpickling (torch.load(weights_only=False))" in msg
    assert "Unsupported global" in msg and "Save model.state_dict() instead" in msg


def test_activations_with_wrong_row_count(tmp_path):
    for m in range(2):
        np.save(tmp_path / f"a{m}.npy", np.zeros((59 if m else 60, 8), np.float32))
    np.save(tmp_path / "y.npy", np.zeros(60, np.int64))
    msg = problems(base_config(mine={"dataset": "synthetic", "labels": {"test": str(tmp_path / "y.npy")},
                                     "activations": {"penultimate": {"test": [str(tmp_path / "a0.npy"),
                                                                              str(tmp_path / "a1.npy")]}}}))
    assert f"{tmp_path / 'a1.npy'} has 59 rows, the test split of 'synthetic' has 60 points" in msg
    assert "a0.npy" not in msg


def test_npy_activations_need_labels(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((60, 8), np.float32))
    msg = problems(base_config(mine={"dataset": "synthetic",
                                     "activations": {"penultimate": {"test": str(tmp_path / "a.npy")}}}))
    assert "external.mine.labels.test: .npy/.npz activations of the test split need a labels file" in msg


def test_labels_that_disagree_with_the_dataset(tmp_path, monkeypatch):
    """Against a prepared split: at config time when it exists, else in the import job (which
    every study's job waits for)."""
    from featurelab.data.prepared import save_split

    y = np.arange(60) % 4
    monkeypatch.chdir(tmp_path)
    (tmp_path / "resources/prepared/synthetic").mkdir(parents=True)
    save_split(tmp_path / "resources/prepared/synthetic/test.npz", np.zeros((60, 24, 24, 3), np.uint8), y,
               ("a", "b", "c", "d"))
    wrong = y.copy()
    wrong[17] = (y[17] + 1) % 4
    np.save(tmp_path / "y.npy", wrong)
    np.save(tmp_path / "a.npy", np.zeros((60, 8), np.float32))
    cfg = base_config(mine={"dataset": "synthetic", "labels": {"test": str(tmp_path / "y.npy")},
                            "activations": {"penultimate": {"test": [str(tmp_path / "a.npy")] * 2}}})
    msg = problems(cfg)
    assert f"{tmp_path / 'y.npy'}: point 17 is labelled {wrong[17]}, the dataset labels it {y[17]}" in msg
    with pytest.raises(ValueError, match=r"y\.npy: point 17 is labelled"):
        import_activations({"penultimate": str(tmp_path / "a.npy")}, str(tmp_path / "y.npy"), None, y,
                           {"penultimate": tmp_path / "out.parquet"}, meta={}, log=lambda s: None)
    assert not (tmp_path / "out.parquet").exists()


def test_a_name_taken_by_a_trained_ensemble_or_a_member(tmp_path):
    torch.save(tiny_net().state_dict(), tmp_path / "a.pt")
    spec = {"dataset": "synthetic", "arch": "resnet18", "width": 0.0625, "checkpoints": str(tmp_path / "a.pt")}
    msg = problems(base_config(tiny=spec, zoo=spec))
    assert "external.tiny: the name is taken by the ensemble ensembles.tiny" in msg
    assert "external.zoo: the name is taken by the results folder results/zoo/" in msg


def test_a_study_says_what_it_misses(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((60, 8), np.float32))
    np.save(tmp_path / "y.npy", np.zeros(60, np.int64))
    cfg = base_config(mine={"dataset": "synthetic", "labels": {"test": str(tmp_path / "y.npy")},
                            "activations": {"penultimate": {"test": [str(tmp_path / "a.npy")] * 2}}})
    cfg["interaction"]["ensembles"] = ["tiny", "mine"]
    msg = problems(cfg)
    assert "the external set 'mine' does not give them (external.mine.activations.block1.test)" in msg
    assert "the interaction study reads each model's predictions" in msg
    assert "the external set 'mine' gives no logits: add external.mine.logits" in msg


def test_plan_names_external_models_and_their_files(tmp_path):
    for m in range(3):
        torch.save(tiny_net(m).state_dict(), tmp_path / f"r{m}.pt")
    cfg = validate_config(base_config(mine={"dataset": "synthetic", "arch": "resnet18", "width": 0.0625,
                                            "checkpoints": str(tmp_path / "r*.pt")}))
    cfg["interaction"]["ensembles"] = ["tiny", "mine"]
    plan = Plan(validate_config(cfg))
    assert plan.ensemble_models("mine") == ["mine-m0", "mine-m1", "mine-m2"]
    assert plan.activation_files("mine", "block1", "test")[2] == \
        "results/external/mine/m2/activations/block1/test.parquet"
    files = plan.external_files("mine", 1)
    assert files["model"] == str(tmp_path / "r1.pt")
    assert files["split__train"] == "resources/prepared/synthetic/train.npz"  # the zoo's normalisation
    assert "mine" not in plan.ensembles and all(not m.startswith("mine") for m in plan.models)


# ---------------------------------------------------------------- networks without hooks and with


def test_torchscript_gives_the_layers_of_the_network(tmp_path):
    net = tiny_net()
    x = torch.randn(5, 3, 24, 24)
    torch.jit.save(torch.jit.trace(net, x), tmp_path / "n.ts")
    ts = load_torchscript(str(tmp_path / "n.ts"), {"block2": "stages.1"})
    got, want = ts.features(x, ("penultimate", "block2")), net.features(x, ("penultimate", "block2"))
    for k in want:
        assert torch.allclose(got[k], want[k], atol=1e-6), k
    with pytest.raises(ValueError, match="module 'stages.9' .* is not called by the TorchScript forward"):
        load_torchscript(str(tmp_path / "n.ts"), {"block3": "stages.9"})


def test_torchvision_penultimate_is_the_last_linear_input():
    import torchvision

    net = torchvision.models.resnet18(num_classes=4).eval()
    x = torch.randn(3, 3, 24, 24)
    got = HookedFeatures(net, {"block1": "layer1"}).features(x, ("penultimate", "block1"))
    with torch.no_grad():
        h = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        b1 = net.layer1(h)
        pen = torch.flatten(net.avgpool(net.layer4(net.layer3(net.layer2(b1)))), 1)
    assert torch.allclose(got["penultimate"], pen) and torch.allclose(got["block1"], b1.mean((2, 3)))
    assert torch.allclose(got["logits"], net.fc(pen))


# ---------------------------------------------------------------- the round trip


def snakemake(root, workdir, config, *targets):
    (workdir / "cfg.yaml").write_text(yaml.safe_dump(config))
    cmd = [*snakemake_cmd(), "-s", str(root / "Snakefile"), "-d", str(workdir), "--configfile",
           str(workdir / "cfg.yaml"), "--cores", "2", *targets]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_round_trip_through_every_route(repo_root, tmp_path):
    """Two members trained by the workflow, exported as state dicts, TorchScript and .npy
    activations (with labels and logits), come back as external sets: the interaction tensor
    equals the zoo's bit for bit from the activations and within float tolerance from the
    networks, and so do the diversity study's pairwise measures; a torchvision ResNet-18 made
    here is extracted and analysed like them."""
    import torchvision

    from featurelab import conversion_rate, error_inconsistency, linear_cka
    from featurelab.training.solo import load_member

    cfg = base_config()
    res = snakemake(repo_root, tmp_path, cfg, "results/interaction/tiny/main/tensor.npz")
    assert res.returncode == 0, res.stderr[-3000:]
    zoo = zoo_models(cfg, "tiny")
    out = tmp_path / "export"
    out.mkdir()
    x = torch.zeros(2, 3, 24, 24)
    for m, model in enumerate(zoo):
        net, payload = load_member(tmp_path / "results/zoo" / model / "model.pt")
        torch.save(net.state_dict(), out / f"sd{m}.pt")
        torch.jit.save(torch.jit.trace(net, x), out / f"ts{m}.pt")
        for layer in ("penultimate", "block1"):
            a = read_activations(tmp_path / "results/zoo" / model / f"activations/{layer}/test.parquet")
            np.save(out / f"{layer}{m}.npy", a.activation)
        np.save(out / "labels.npy", a.label)
        np.save(out / f"logits{m}.npy", a.logits)
        torch.manual_seed(m)
        torch.save(torchvision.models.resnet18(num_classes=4).state_dict(), out / f"tv{m}.pt")
    cfg["external"] = {
        "sd": {"dataset": "synthetic", "arch": "resnet18", "width": 0.0625, "checkpoints": str(out / "sd*.pt")},
        "ts": {"dataset": "synthetic", "torchscript": [str(out / "ts0.pt"), str(out / "ts1.pt")],
               "modules": {"block1": "stages.0"}},
        "act": {"dataset": "synthetic", "labels": {"test": str(out / "labels.npy")},
                "logits": {"test": str(out / "logits*.npy")},
                "activations": {layer: {"test": str(out / f"{layer}*.npy")} for layer in ("penultimate", "block1")}},
        "tv": {"dataset": "synthetic", "arch": "torchvision:resnet18", "num_classes": 4,
               "checkpoints": str(out / "tv*.pt")},
    }
    names = ["tiny", *cfg["external"]]
    cfg["interaction"]["ensembles"] = names
    res = snakemake(repo_root, tmp_path, cfg, *(f"results/interaction/{n}/main/tensor.npz" for n in names),
                    "results/theory/act/theory_vs_experiment.csv", "results/theory/tv/theory_vs_experiment.csv")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "rule train" not in res.stdout + res.stderr  # the zoo is not trained again

    def tensor(name, variant="main"):
        with np.load(tmp_path / f"results/interaction/{name}/{variant}/tensor.npz") as z:
            return {k: z[k] for k in z.files}

    def acts(name, layer="penultimate"):
        files = Plan(validate_config(copy.deepcopy(cfg))).activation_files(name, layer, "test")
        return [read_activations(tmp_path / f) for f in files]

    inner = tensor("tiny")
    for variant in ("main", "block1"):
        assert all(np.array_equal(v, tensor("act", variant)[k]) for k, v in tensor("tiny", variant).items())
    for name in ("sd", "ts"):
        got = tensor(name)
        assert np.allclose(got["abs_corr"], inner["abs_corr"], atol=1e-4)
        assert np.array_equal(got["predictions"], inner["predictions"])
        for a, b in zip(acts(name, "block1"), acts("tiny", "block1")):
            assert np.allclose(a.activation, b.activation, atol=1e-5) and np.array_equal(a.label, b.label)

    def pairwise(name):
        a, b = acts(name)
        z = sum(np.exp(e.logits - e.logits.max(1, keepdims=True)) / 2 for e in (a, b))
        return (error_inconsistency(a.prediction, b.prediction, a.label),
                conversion_rate(a.prediction, b.prediction, z.argmax(1), a.label),
                linear_cka(a.activation, b.activation))

    assert pairwise("act") == pairwise("tiny")
    for name in ("sd", "ts"):
        assert np.allclose(pairwise(name), pairwise("tiny"), atol=1e-5)
    tv = acts("tv")
    assert tv[0].activation.shape == (60, 512) and tv[0].logits.shape == (60, 4)
    assert tv[0].metadata["source"] == str(out / "tv0.pt") and tv[0].metadata["model"] == "tv-m0"
    assert (tmp_path / "results/theory/tv/theory_vs_experiment.csv").stat().st_size > 0


def test_diversity_pool_mixes_trained_and_external_models(tmp_path):
    from test_workflow import tiny_config

    for m in range(2):
        torch.save(tiny_net(m).state_dict(), tmp_path / f"r{m}.pt")
    np.save(tmp_path / "a.npy", np.zeros((60, 8), np.float32))
    np.save(tmp_path / "y.npy", np.zeros(60, np.int64))
    cfg = tiny_config(studies=True)
    cfg["external"] = {
        "nets": {"dataset": "synthetic", "arch": "resnet18", "width": 0.0625, "checkpoints": str(tmp_path / "r*.pt")},
        "dumps": {"dataset": "synthetic", "labels": {"test": str(tmp_path / "y.npy")},
                  "activations": {"penultimate": {"test": str(tmp_path / "a.npy")}}}}
    cfg["diversity"]["categories"]["arch"].append({"external": "nets", "members": 1})
    plan = Plan(validate_config(copy.deepcopy(cfg)))
    pool = plan.diversity_pool()
    ext = [p for p in pool if p.get("external")]
    assert [(p["model"], p["category"], p["source"]) for p in ext] == [("nets-m0", "arch", "external:nets")]
    assert len(pool) == len(Plan(validate_config(tiny_config(studies=True))).diversity_pool()) + 1
    assert plan.diversity_external_files() == {
        "nets-m0__val": "results/external/nets/m0/activations/penultimate/diversity_val.parquet",
        "nets-m0__test": "results/external/nets/m0/activations/penultimate/diversity_test.parquet"}
    assert plan.external_files("nets", 0)["split__diversity_val"] == plan.diversity_eval_files()["val"]
    assert "nets-m0" not in plan.diversity_models()  # no training record to read
    # activation files on other points cannot join the pool: the study says what it misses
    cfg["diversity"]["categories"]["arch"][-1] = {"external": "dumps"}
    msg = problems(cfg)
    assert "lacks external.dumps.activations.penultimate.diversity_val" in msg
    assert "the diversity study reads each model's logits; 'dumps' gives none" in msg


def test_parquet_activations_are_aligned_by_index_and_checked(tmp_path):
    from featurelab.activations import write_activations

    rng = np.random.default_rng(0)
    y = np.arange(12) % 3
    act, logits = rng.normal(size=(12, 5)).astype(np.float32), rng.normal(size=(12, 3)).astype(np.float32)
    order = rng.permutation(12)  # written in another order: the index column puts them back
    write_activations(tmp_path / "a.parquet", index=order, label=y[order], prediction=logits[order].argmax(1),
                      logits=logits[order], activation=act[order], metadata={"layer": "penultimate"})
    import_activations({"penultimate": str(tmp_path / "a.parquet")}, None, None, y,
                       {"penultimate": tmp_path / "out.parquet"}, meta={"model": "x-m0"}, log=lambda s: None)
    got = read_activations(tmp_path / "out.parquet")
    assert np.array_equal(got.activation, act) and np.array_equal(got.logits, logits)
    assert np.array_equal(got.prediction, logits.argmax(1)) and got.metadata["model"] == "x-m0"
    keep = order != 7  # point 7 missing: the first point out of place is named
    write_activations(tmp_path / "b.parquet", index=np.r_[order[keep], 12], label=np.r_[y[order][keep], 0],
                      prediction=np.zeros(12, int), logits=logits, activation=act, metadata={})
    with pytest.raises(ValueError, match=r"b\.parquet: row 7 is point 8, not point 7"):
        import_activations({"penultimate": str(tmp_path / "b.parquet")}, None, None, y,
                           {"penultimate": tmp_path / "out2.parquet"}, meta={}, log=lambda s: None)
    # .npy activations without logits: predictions -1 (no study that reads predictions takes them)
    np.save(tmp_path / "c.npy", act)
    np.save(tmp_path / "y.npy", y)
    import_activations({"penultimate": str(tmp_path / "c.npy")}, str(tmp_path / "y.npy"), None, y,
                       {"penultimate": tmp_path / "out3.parquet"}, meta={}, log=lambda s: None)
    assert (read_activations(tmp_path / "out3.parquet").prediction == -1).all()


def diversity_config():
    """A tiny diversity pool: the base and its Reinit candidate (tpool), the model greedy
    ensembling starts from (top), on the tiny world of :func:`base_config`."""
    stop = {"lr": 0.05, "batch_size": 50, "max_epochs": 2, "checkpoint_epochs": []}
    return {
        "data": {"synthetic": {"n_train": 200, "n_test": 60, "num_classes": 4, "seed": 1}},
        "recipes": {"tiny": stop, "tiny_stop": {**stop, "stop_at_heldout_acc": 0.99}},
        "ensembles": {"tpool": {"dataset": "synthetic", "arch": "resnet18", "width": 0.0625, "members": 2,
                                "recipe": "tiny_stop", "seed": 50},
                      "top": {"dataset": "synthetic", "arch": "resnet18", "width": 0.0625, "members": 1,
                              "recipe": "tiny"}},
        "extract": {"layers": ["penultimate"], "splits": ["test"]},
        "interaction": {"ensembles": []},
        "diversity": {"enabled": True, "ensemble": "tpool", "base": "last", "window": [0.0, 1.0], "heldout": 100,
                      "test": 100, "bootstrap": 10, "interaction_k": 4, "categories": {},
                      "greedy": {"start": {"ensemble": "top", "member": 0}, "steps": 2},
                      "overlap": {"fractions": [1.0, 0.0], "draws": 1}, "compression": {"dims": [2]},
                      "transfer": {"task": "none"}},
        "device": "cpu",
    }


@pytest.mark.slow
@pytest.mark.smoke  # a whole diversity pool trained (about a minute): with the long workflow runs
def test_diversity_with_an_external_candidate_end_to_end(repo_root, tmp_path):
    """The Reinit member trained by the workflow, exported as a state dict, joins the Arch
    category as an external candidate: run over the study's own held-out and test points by its
    import job, it has the internal member's accuracies, pairwise measures with the base and
    probes, and a CKA of 1 with it (about 1 minute on 2 cores)."""
    import pandas as pd

    from featurelab.training.solo import load_member

    cfg = diversity_config()
    base, reinit = zoo_models(cfg, "tpool")[1], zoo_models(cfg, "tpool")[0]  # base: last
    res = snakemake(repo_root, tmp_path, cfg, f"results/zoo/{reinit}/model.pt")
    assert res.returncode == 0, res.stderr[-3000:]
    net, _ = load_member(tmp_path / f"results/zoo/{reinit}/model.pt")
    torch.save(net.state_dict(), tmp_path / "mine.pt")
    trained = (tmp_path / f"results/zoo/{reinit}/model.pt").stat().st_mtime_ns
    cfg["external"] = {"mine": {"dataset": "synthetic", "arch": "resnet18", "width": 0.0625,
                                "checkpoints": str(tmp_path / "mine.pt")}}
    cfg["diversity"]["categories"] = {"arch": [{"external": "mine"}]}
    res = snakemake(repo_root, tmp_path, cfg, "results/diversity/summary.json")
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / f"results/zoo/{reinit}/model.pt").stat().st_mtime_ns == trained  # not trained again

    out = tmp_path / "results/diversity"
    for s in ("val", "test"):
        a = read_activations(out / f"outputs/div_reinit/{reinit}/penultimate/{s}.parquet")
        b = read_activations(tmp_path / f"results/external/mine/m0/activations/penultimate/diversity_{s}.parquet")
        assert np.array_equal(a.label, b.label) and np.array_equal(a.prediction, b.prediction)
        assert np.allclose(a.activation, b.activation, atol=1e-5) and np.allclose(a.logits, b.logits, atol=1e-5)
    pool = pd.read_csv(out / "pool.csv").set_index("model")
    assert pool.loc["mine-m0", ["category", "source", "recipe"]].tolist() == ["arch", "external:mine", "external"]
    for col in ("heldout_acc", "test_acc", "temperature", "feature_dim"):
        assert np.isclose(pool.loc["mine-m0", col], pool.loc[reinit, col], atol=1e-4), col
    pairs = pd.read_csv(out / "pairs.csv").set_index("model")
    assert (pairs["base"] == base).all() and pairs.loc["mine-m0", "category"] == "arch"
    cols = ["acc_i", "acc_j", "ei", "ei_floor", "ei_excess", "gain", "conversion", "both_correct", "both_wrong",
            "only_i", "only_j", "ens_acc"]
    assert np.allclose(pairs.loc["mine-m0", cols].astype(float), pairs.loc[reinit, cols].astype(float), atol=1e-6)
    sim = pd.read_csv(out / "similarity.csv")
    same = sim[(sim.model_a == reinit) & (sim.model_b == "mine-m0")].iloc[0]
    assert same["ei"] == 0 and np.isclose(same["cka"], 1, atol=1e-5)
    with_base = sim[sim.model_a == base].set_index("model_b")
    assert np.allclose(with_base.loc["mine-m0", ["ei", "cka"]].astype(float),
                       with_base.loc[reinit, ["ei", "cka"]].astype(float), atol=1e-5)
    overlap = pd.read_csv(out / "overlap.csv")
    assert np.allclose(overlap[overlap.model == "mine-m0"]["accuracy"], overlap[overlap.model == reinit]["accuracy"])
