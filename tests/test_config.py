"""A bad config stops the run before any job, naming the key and what is allowed."""
import copy
import subprocess

import pytest
import yaml
from conftest import snakemake_cmd

from featurelab.config import ConfigError, load_config, validate_config


@pytest.fixture(scope="module")
def default(repo_root):
    with open(repo_root / "config.yaml") as fh:
        return yaml.safe_load(fh)


def test_default_and_presets_are_valid(repo_root, default):
    cfg = validate_config(copy.deepcopy(default))
    assert cfg["ensembles"]["synth"]["dataset"] == "synthetic"
    for preset in (repo_root / "presets").glob("*.yaml"):
        if preset.name in OVERLAYS:  # an overlay is valid over config.yaml, as Snakemake merges them
            with open(preset) as fh:
                validate_config(merged(copy.deepcopy(default), yaml.safe_load(fh)))
        else:
            load_config(preset)


#: presets meant to be given after config.yaml (`--configfile config.yaml presets/<overlay>`)
OVERLAYS = ("controls.yaml",)


def merged(base, over):
    """``over`` over ``base`` key by key, as Snakemake merges two --configfile files."""
    for k, v in over.items():
        base[k] = merged(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return base


def test_defaults_are_filled():
    cfg = validate_config({"recipes": {"r": {}}, "ensembles": {"e": {"dataset": "synthetic", "arch": "vgg16",
                                                                       "members": 2, "recipe": "r"}}})
    assert cfg["recipes"]["r"]["lr"] == 0.1 and cfg["recipes"]["r"]["batch_size"] == 100
    assert cfg["ensembles"]["e"]["width"] == 1.0 and cfg["ensembles"]["e"]["subset"] is None
    assert cfg["data"]["synthetic"]["t_r"] == 40 and cfg["extract"]["layers"] == ["penultimate"]
    assert cfg["device"] == "auto"


def broken(default, path, value):
    cfg = copy.deepcopy(default)
    node = cfg
    for k in path[:-1]:
        node = node[k]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return cfg


@pytest.mark.parametrize("path, value, expected", [
    (("ensembles", "synth", "dataset"), "imagenet",
     r"ensembles\.synth\.dataset: 'imagenet' is not allowed; allowed: 'synthetic', 'cifar10'"),
    (("ensembles", "synth", "arch"), "resnet50", r"ensembles\.synth\.arch: 'resnet50' is not allowed; allowed: 'resnet18', 'vgg16'"),
    (("ensembles", "synth", "members"), -2, r"ensembles\.synth\.members: -2 is less than the minimum of 1"),
    (("data", "synthetic", "n_train"), -5, r"data\.synthetic\.n_train: -5 is less than the minimum of 1"),
    (("ensembles", "synth", "recipe"), KeyError, r"ensembles\.synth: missing key: 'recipe' is a required property"),
    (("ensembles", "synth", "recipe"), "fast", r"ensembles\.synth\.recipe: 'fast' is not a recipe; defined: div_base, div_lowlr, div_mixup, div_padded, div_simclr, div_smooth, padded, small"),
    (("ensembles", "synth", "subset"), 5000, r"ensembles\.synth\.subset: 5000 exceeds the 1500 training images"),
    (("ensembles", "synth", "epochs"), 3, r"ensembles\.synth: Additional properties are not allowed \('epochs' was unexpected\); allowed keys:"),
    (("data", "synthetic", "n_d"), 9, r"data\.synthetic: synthetic world: n_d \(9\) must not exceed t_d \(5\)"),
    (("extract", "layers"), ["fc"], r"extract\.layers\.0: 'fc' is not allowed"),
])
def test_bad_config_names_the_key(default, path, value, expected):
    with pytest.raises(ConfigError, match=expected):
        validate_config(broken(default, path, value))


def test_all_problems_are_reported_at_once(default):
    cfg = broken(broken(default, ("ensembles", "synth", "arch"), "x"), ("device", ), "tpu")
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
    assert "ensembles.synth.arch" in str(err.value) and "device" in str(err.value)


@pytest.mark.slow
def test_snakemake_refuses_a_bad_config_before_any_job(repo_root, default, tmp_path):
    cfg = broken(default, ("ensembles", "synth", "dataset"), "imagenet")
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    res = subprocess.run([*snakemake_cmd(), "-s", str(repo_root / "Snakefile"), "-d", str(tmp_path),
                          "--configfile", str(tmp_path / "bad.yaml"), "--cores", "1"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    assert "ensembles.synth.dataset: 'imagenet' is not allowed" in res.stdout + res.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


@pytest.mark.slow
def test_command_line_strings_become_the_scalars_the_schema_wants(default):
    # `snakemake --config gde='{enabled: true, members: 3}'` hands over strings
    cfg = copy.deepcopy(default)
    cfg["gde"] = {"enabled": "true", "members": "3", "width": "0.125", "fractions": ["0.5", "1"],
                  "recipe": "small"}
    cfg["interaction"]["gamma_corr"] = "null"
    validate_config(cfg)
    assert cfg["gde"]["enabled"] is True and cfg["gde"]["members"] == 3 and cfg["gde"]["width"] == 0.125
    assert cfg["gde"]["fractions"] == [0.5, 1.0] and cfg["interaction"]["gamma_corr"] is None
    cfg = copy.deepcopy(default)
    cfg["gde"] = {"enabled": "maybe"}
    with pytest.raises(ConfigError, match="gde.enabled: 'maybe' is not of type 'boolean'"):
        validate_config(cfg)






@pytest.mark.parametrize("change, expected", [
    ({"gde": {"enabled": True, "world": {"n_train": 10}, "subset": 20}},
     "gde.subset: 20 exceeds the 10 training images of synthetic_gde"),
    ({"gde": {"enabled": True, "world": {"colour": 3}}}, r"gde.world: unknown synthetic-world keys: \['colour'\]"),
    ({"gde": {"enabled": True, "world": {"n_train": 100}, "dataset": "cifar10"}},
     "gde.world: overrides the synthetic world, but gde.dataset is 'cifar10'"),
    ({"gde": {"enabled": True, "dataset": "fashion_mnist", "recipe": "synthetic_gde", "world": {}}},
     "gde.blue_groups: fashion_mnist is a grayscale dataset"),
    ({"interaction": {"ensembles": ["nope"]}}, "interaction.ensembles.0: 'nope' is not an ensemble"),
    ({"interaction": {"depths": ["block4"]}}, "interaction.depths.0: 'block4' is not extracted"),
    ({"interaction": {"epochs": {"synth": [0, 99]}}}, r"interaction.epochs.synth: epochs \[99\] are not in"),
])
def test_study_settings_are_checked_against_the_rest(default, change, expected):
    cfg = copy.deepcopy(default)
    for section, values in change.items():
        cfg[section].update(values)
    with pytest.raises(ConfigError, match=expected):
        validate_config(cfg)


@pytest.mark.parametrize("change, expected", [
    ({"ensemble": "nope"}, "diversity.ensemble: 'nope' is not an ensemble"),
    ({"window": [0.7, 0.4]}, r"diversity.window: low 0.7 is above high 0.4"),
    ({"worlds": {"other": {"draw": 2, "t_d": 3}}}, "diversity.worlds.other: t_d would change the classes"),
    ({"worlds": {"same": {"p_d": 0.5}}}, r"diversity.worlds.same.draw: give another sample"),
    ({"categories": {"hyper": [{"ensemble": "nope"}]}}, "diversity.categories.hyper.0.ensemble: 'nope' is no ensemble"),
    ({"categories": {"arch": [{"arch": "resnet50"}]}}, "diversity.categories.arch.0.arch: 'resnet50'"),
    ({"categories": {"hyper": [{"recipe": "nope"}]}}, "diversity.categories.hyper.0.recipe: 'nope' is not a recipe"),
    ({"categories": {"dataset": [{"dataset": "elsewhere"}]}}, "diversity.categories.dataset.0.dataset: 'elsewhere'"),
    ({"greedy": {"start": {"ensemble": "synth", "member": 9}}}, "diversity.greedy.start.member: 9 is not a member"),
])
def test_the_diversity_pool_is_checked_before_any_job(default, change, expected):
    cfg = copy.deepcopy(default)
    cfg["diversity"].update(change)
    with pytest.raises(ConfigError, match=expected):
        validate_config(cfg)


def test_held_out_stopping_needs_the_diversity_study(default):
    cfg = copy.deepcopy(default)
    cfg["diversity"]["enabled"] = False
    cfg["ensembles"]["synth"]["recipe"] = "div_base"
    with pytest.raises(ConfigError, match="recipes.div_base: stop_at_heldout_acc needs the diversity study"):
        validate_config(cfg)


@pytest.mark.parametrize("setting, expected", [
    ({"learning_rate": 0.01},
     r"contamination\.numerical\.setting: Additional properties are not allowed \('learning_rate' was unexpected\); "
     r"allowed keys: adam_lr, adam_weight_decay, background, batch_size, core, d, lr, momentum"),
    ({"lr": -0.1}, r"contamination\.numerical\.setting\.lr: -0\.1 is less than or equal to the minimum of 0"),
    ({"momentum": 1.0}, r"contamination\.numerical\.setting\.momentum: 1\.0 is greater than or equal to the maximum"),
    ({"batch_size": "many"}, r"contamination\.numerical\.setting\.batch_size: 'many' is not of type 'integer'"),
    ({"radii": [1.0]}, r"contamination\.numerical\.setting\.radii: \[1\.0\] is too short"),
    ({"core": 200, "background": 100},
     r"contamination\.numerical\.setting: core \+ background = 300 orthonormal vectors do not fit in R\^256"),
])
def test_numerical_setting_is_checked_before_any_job(default, setting, expected):
    """Every key of contamination.numerical.setting is validated at config time (the Snakefile
    calls validate_config before it builds the DAG), the key named; the job would build the
    same NumericalSetting."""
    cfg = copy.deepcopy(default)
    cfg["contamination"]["numerical"]["setting"] = setting
    with pytest.raises(ConfigError, match=expected):
        validate_config(cfg)


def test_numerical_setting_and_thresholds_defaults_match_the_code(default):
    from featurelab.contamination.findings import NUMERICAL_THRESHOLDS
    from featurelab.contamination.setting import NumericalSetting
    cfg = validate_config(copy.deepcopy(default))
    setting = cfg["contamination"]["numerical"]["setting"]
    assert NumericalSetting.from_dict(setting, strict=True) == NumericalSetting()
    assert set(NUMERICAL_THRESHOLDS) <= set(cfg["contamination"]["thresholds"])
    for k, v in NUMERICAL_THRESHOLDS.items():
        assert cfg["contamination"]["thresholds"][k] == v, k
    bad = copy.deepcopy(default)
    bad["contamination"]["thresholds"] = {"grwoth": 2.0}
    with pytest.raises(ConfigError, match=r"contamination\.thresholds: Additional properties are not allowed"):
        validate_config(bad)


def test_an_overlay_switches_a_presets_epochs_off_with_an_empty_list(repo_root):
    """Snakemake merges configfiles key by key, so an overlay cannot delete
    interaction.epochs.synth: an empty list for an ensemble no longer studied is accepted,
    epochs for it are not (analysis/cpu_tier_f.yaml)."""
    tier = yaml.safe_load((repo_root / "presets/cpu.yaml").read_text())
    off = merged(copy.deepcopy(tier), {"interaction": {"ensembles": [], "epochs": {"synth": []}}})
    assert validate_config(off)["interaction"]["epochs"] == {"synth": []}
    with pytest.raises(ConfigError, match="interaction.epochs.synth: 'synth' is not in interaction.ensembles"):
        validate_config(merged(copy.deepcopy(tier), {"interaction": {"ensembles": []}}))
    f = merged(tier, yaml.safe_load((repo_root / "analysis/cpu_tier_f.yaml").read_text()))
    assert validate_config(f)["interaction"]["ensembles"] == []
