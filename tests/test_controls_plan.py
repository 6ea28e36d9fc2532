"""The controls' plumbing (featurelab.controls, featurelab.plan.controls): worlds, ensembles,
derived worlds, packs, the decision's inputs, refused configs, and the control's result."""
import copy
import json
from pathlib import Path

import pytest

from featurelab.config import ConfigError, load_config, validate_config
from featurelab.controls import REGISTRY, Part, control_result, controls_summary, controls_table, parts_from_files
from featurelab.plan import Plan, control_world, world_of

ROOT = Path(__file__).resolve().parents[1]

CONTROLS = {
    "enabled": True,
    "worlds": {"pd9": {"p_d": 0.9, "blue_tie": {"rare_pool_min_fraction": 0.5}}},
    "gde": {"enabled": True, "settings": {"blue_groups": 2},
            "arms": {"positive": {"base": {"world": "pd9", "members": 2, "seed": 0},
                                  "super2": {"world": "pd9", "derived": "super2", "members": 2},
                                  "blue1": {"world": "pd9", "derived": "blue1", "members": 2}},
                     "negative": {"base": {"members": 2}}}},
    "width_only": {"enabled": True, "features": True,
                   "arms": {"positive": {"a": {"world": "pd9", "members": 2, "seed": 5}},
                            "negative": {"a": {"members": 3, "seed": 5}}}},
}


def config_with(controls=None, **over):
    config = load_config(ROOT / "config.yaml")
    config["controls"] = copy.deepcopy(controls if controls is not None else CONTROLS)
    config.update(over)
    return validate_config(config)


def test_control_world_merges_nested_keys_over_the_base_world():
    config = config_with()
    world = control_world(config, "pd9")
    base = config["data"]["synthetic"]
    assert world["p_d"] == 0.9 and world["n_train"] == base["n_train"]
    assert world["blue_tie"] == {"enabled": base["blue_tie"]["enabled"], "rare_pool_min_fraction": 0.5}
    assert world_of(config, "synthetic__ctlpd9") == world
    assert world_of(config, "synthetic__ctlnope") is None


def test_parts_are_zoo_ensembles_and_the_off_arm_on_the_base_world_reuses_the_defaults_models():
    config = config_with()
    plan = Plan(config)
    parts = plan.control_parts("gde")
    assert sorted(parts["on"]) == ["base", "blue1", "super2"] and sorted(parts["off"]) == ["base"]
    assert parts["on"]["super2"].dataset == "synthetic__ctlpd9__super2"
    assert parts["on"]["blue1"].dataset == "synthetic__ctlpd9__blue1"
    # the off arm's members are synth's members 0-1: the same model, trained once
    synth = plan.ensemble_models("synth")
    assert plan.ensemble_models("ctl_gde_off_base") == synth[:2]
    assert len(plan.models) == len(Plan(config_with(controls={})).models) + 2 * 3 + 2 + 3  # gde on; width_only on, and off (seeds 5-7, not synth's 0-3)
    assert plan.control_names() == ["gde", "width_only"]
    assert plan.control_derived() == {
        "synthetic__ctlpd9__super2": {"base": "synthetic__ctlpd9", "kind": "super", "k": 2},
        "synthetic__ctlpd9__blue1": {"base": "synthetic__ctlpd9", "kind": "blue", "group": 1, "n_groups": 2}}


def test_control_only_models_pack_apart_so_controls_never_change_a_studys_pack():
    on, off = Plan(config_with()), Plan(config_with(controls={}))
    assert {p: ms for p, ms in on.packs.items() if not p.rsplit("-", 1)[1].startswith("c")} == off.packs
    assert any(p.rsplit("-", 1)[1].startswith("c") for p in on.packs)


def test_control_inputs_name_every_file_the_decision_reads():
    plan = Plan(config_with())
    files = plan.control_inputs("width_only")
    assert set(files) == {f"{a}__a__{k}" for a in ("on", "off") for k in ("activations", "features", "truth", "world")}
    assert len(files["off__a__features"]) == 3 * 3 * len(plan.width_states())
    assert files["on__a__truth"] == "resources/prepared/synthetic__ctlpd9/test_truth.parquet"
    gde = plan.control_inputs("gde")
    assert "on__super2__truth" not in gde and "on__base__truth" in gde  # a derived world has no ground truth file
    assert plan.feature_models()[-1] in plan.ensemble_models("ctl_width_only_off_a")


@pytest.mark.parametrize("change, message", [
    (lambda c: c["gde"]["arms"]["positive"]["base"].update(world="nope"), "'nope' is not a world of controls.worlds"),
    (lambda c: c["gde"]["arms"].pop("negative"), "controls.gde.arms.negative: no part"),
    (lambda c: c["gde"].update(layer="block3"), "'block3' is not extracted"),
    (lambda c: c["width_only"]["arms"]["positive"]["a"].update(recipe="nope"), "'nope' is not in recipes"),
    (lambda c: c["worlds"]["pd9"].update(p_d=2.0), "controls.worlds.pd9: synthetic world: p_d must lie in [0, 1]"),
    (lambda c: c["worlds"]["pd9"].update(nonsense=1), "unknown synthetic-world keys: ['nonsense']"),
])
def test_bad_controls_are_refused_before_any_job(change, message):
    controls = copy.deepcopy(CONTROLS)
    change(controls)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        config_with(controls=controls)


def test_features_need_a_validation_split_and_ctl_names_belong_to_the_controls():
    controls = copy.deepcopy(CONTROLS)
    controls["worlds"]["pd9"]["n_val"] = 0
    config = load_config(ROOT / "config.yaml")
    config["controls"] = controls
    config["data"]["synthetic"]["n_val"] = 0
    with pytest.raises(ConfigError, match="has n_val 0"):
        validate_config(config)
    config = load_config(ROOT / "config.yaml")
    config["ensembles"]["ctl_mine"] = dict(config["ensembles"]["synth"])
    with pytest.raises(ConfigError, match="ctl_ belongs to the controls"):
        validate_config(config)


def test_parts_from_files_maps_features_state_major_member_major_split_order(tmp_path):
    plan = Plan(config_with())
    info = json.loads(json.dumps(plan.control_info("width_only")))  # as Snakemake hands params over
    files = plan.control_inputs("width_only")
    (tmp_path / "world.json").write_text(json.dumps({"p_d": 0.9}))
    files = {k: (str(tmp_path / "world.json") if k.endswith("__world") else v) for k, v in files.items()}
    arms = parts_from_files(info, files)
    part = arms["off"]["a"]
    assert isinstance(part, Part) and part.models == plan.ensemble_models("ctl_width_only_off_a")
    for i, m in enumerate(part.models):
        for st in plan.width_states():
            for sp in ("train", "val", "test"):
                assert part.features[i][f"{st}/{sp}"] == Path(f"results/zoo/{m}/features/{st}/{sp}.parquet")
        assert part.activations[i] == Path(f"results/zoo/{m}/activations/penultimate/test.parquet")
    assert arms["on"]["a"].world == {"p_d": 0.9} and arms["on"]["a"].info["world"] == "pd9"


def _v(holds):
    word = {True: "holds", False: "fails", None: "undecided"}[holds]
    return {"rule": "x > 0", "holds": holds, "verdict": word, "estimate": 1.0, "lo": 0.5, "hi": 1.5}


@pytest.mark.parametrize("on, off, passes", [
    (True, False, True), (True, None, True), (True, True, False), (None, False, False), (False, False, False)])
def test_a_control_passes_when_the_finding_holds_on_and_not_off(on, off, passes):
    r = control_result("o4", "interaction", "O.4", "m", "s", _v(on), _v(off), sizes={}, seeds={})
    assert r["passes"] is passes


def test_no_verdict_on_is_no_pass_and_the_table_counts_decided_controls():
    none = {"rule": "x > 0", "holds": None, "verdict": "no verdict"}
    results = [control_result("o4", "interaction", "O.4", "m", "s", none, _v(False), sizes={}, seeds={}),
               control_result("gde", "gde", "GDE", "m", "s", _v(True), _v(None), sizes={}, seeds={})]
    assert results[0]["passes"] is None
    s = controls_summary(results)
    assert (s["passed"], s["decided"], s["total"]) == (1, 1, 2)
    md = controls_table(results, markdown=True)
    assert "1 of 1 decided controls pass (2 in all)" in md and "| gde | gde | GDE |" in md


def test_every_registered_control_names_a_study_and_the_schema_knows_it():
    from featurelab.plan.controls import CONTROLS as PLANNED

    assert set(REGISTRY) == set(PLANNED)
    from featurelab.config import load_schema

    assert set(PLANNED) <= set(load_schema()["properties"]["controls"]["properties"])
