"""The plan: everything the workflow derives from a validated config, in one place.

The rule files, the rule scripts and :mod:`featurelab.config` ask this module for every
name and count they need; none of them builds an ensemble name, a derived dataset's name,
a member count or a seed by hand. It imports neither PyTorch nor pandas, so Snakemake
parses the workflow quickly.

**The model zoo.** A trained member is identified by what determines its weights: the
dataset (and split) it trains on, the architecture and width, the training recipe, the
training subset size and the seed (:class:`Model`, whose :attr:`Model.id` names its folder
``results/zoo/<id>/``). An ensemble is a named list of zoo models; two ensembles, or two
studies, that ask for the same model get one training and one extraction. The planner
counts what that saves (:attr:`Plan.trainings_saved`).

**Generated ensembles.** Besides the user's ``ensembles``, the studies generate their own:

* GDE (Jiang, Baek, Kolter, ICLR 2024, §6): ``gde_super<k>`` per superclass count,
  ``gde_blue<g>`` per blue-intensity group, ``gde_frac<f>`` per training fraction of Fig 5b
  (f in thousandths) unless the fraction equals the K̃ = classes condition's training set,
  which then serves as that point;
* width (Duzgun, Jelassi, Li, 2024): ``w_<arch>_a<k>`` per architecture and α = 1/k;
* contamination (Zhang et al., ICML 2024): ``cont_padded``, members of the contamination
  ensemble retrained on colour-padded images (App. F.4), and ``cont_teacher``, retrained on
  backgrounds of both colour ranges (the teachers of Fig 1, scaled).
* diversity (Gontijo-Lopes, Dauphin, Cubuk, ICLR 2022): ``div_base`` and ``div_<category>``
  for Reinit, Hyper, Arch, Framework and Dataset (models reused from any ensemble, or new
  ones packed apart as ``<group>-d<i>``), and ``div_start``, the model greedy ensembling
  starts from when the config names one.

A user ensemble may not take a generated name, nor the name of a results folder
(:data:`RESERVED`): the config is refused before any job (:meth:`Plan.name_problems`).

**Derived datasets.** ``synthetic_gde`` (the GDE study's own world), ``<base>__super<k>``
(labels merged into k superclasses), ``<base>__blue<g>`` (blue-intensity group g) and
``<base>__holdout<n>`` (n training images held out as a validation split),
``<base>__bgmix`` (a synthetic world whose training backgrounds come from both colour ranges)
and ``<base>__world<name>`` (a diversity study's Dataset world: the same classes, another draw).
"""
from __future__ import annotations

import re
from typing import Any

from ..architecture import ARCHITECTURES, LAYERS
from .names import (
    BASE_DATASETS,
    BGMIX_DATASET,
    BLUE_DATASET,
    CONTROL_ENSEMBLE,
    DIVERSITY_CATEGORIES,
    EVAL_DRAW,
    FOLDERS,
    HOLDOUT_DATASET,
    PADDED_ENSEMBLE,
    RESERVED,
    RESERVED_VARIANTS,
    STUDIES,
    SUPERCLASS_DATASET,
    TEACHER_ENSEMBLE,
    TRAIN_SIZES,
    WIDTH_SPLITS,
    WORLD_DATASET,
    WORLD_FIXED,
    bgmix_dataset,
    blue_condition,
    blue_dataset,
    diversity_base_dataset,
    diversity_ensemble,
    diversity_eval_world,
    diversity_world,
    fraction_size,
    gde_base_dataset,
    gde_world,
    holdout_dataset,
    in_channels,
    num_classes,
    superclass_condition,
    superclass_dataset,
    train_size,
    width_ensemble,
    world_dataset,
    world_of,
)
from .studies import (
    _user_ensembles,
    contamination_ensembles,
    contamination_runs,
    diversity_ensembles,
    gde_ensembles,
    generated_names,
    name_problems,
    toy_conditions,
    width_denominators,
    width_ensembles,
)
from .controls import (
    ARM_KEYS,
    CONTROLS,
    control_datasets,
    control_ensemble,
    control_ensembles,
    control_problems,
    control_world,
    control_world_dataset,
    enabled_controls,
)
from .smoke import smoke_config
from .zoo import MODEL_ID, Ensemble, Model, pack_plan
from .external import (
    EXTERNAL_SPLITS,
    WIDTH_EXTERNAL_SPLITS,
    ExternalSet,
    external_problems,
    external_sets,
    gde_external,
    gde_external_problems,
    member_id,
    resolve,
    width_external,
    width_external_problems,
)


class Plan:
    """Everything the workflow derives from a validated ``config``.

    ``ensembles`` (user first, then the GDE and width studies'), ``models`` (the zoo: each
    distinct model once, by id), ``packs`` (which models train together in one job),
    ``layers``/``splits`` (what is extracted), and one section per study."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.user = _user_ensembles(config)
        self.gde = gde_ensembles(config)
        self.width = width_ensembles(config)
        self.contamination = contamination_ensembles(config, self.user)
        self.ensembles: dict[str, Ensemble] = {**self.user, **self.gde, **self.width, **self.contamination}
        self.diversity = diversity_ensembles(config, self.ensembles)
        self.ensembles.update(self.diversity)
        self.controls = control_ensembles(config)
        self.ensembles.update(self.controls)
        self.models: dict[str, Model] = {}
        for ens in self.ensembles.values():
            for m in ens.models:
                self.models.setdefault(m.id, m)
        self.layers: list[str] = list(config["extract"]["layers"])
        self.splits: list[str] = list(config["extract"]["splits"])
        # the diversity study's and the controls' own models pack apart: adding them never
        # changes another study's pack
        shared = {m.id for e in self.ensembles.values() if e.study not in ("diversity", "controls") for m in e.models}
        div = {m.id for e in self.diversity.values() for m in e.models} - shared
        packable = [m for m in self.models.values() if self.packable(m)]
        self.packs: dict[str, list[str]] = {
            **pack_plan([m for m in packable if m.id in shared], config["train"]["pack"]),
            **pack_plan([m for m in packable if m.id in div], config["train"]["pack"], prefix="d"),
            **pack_plan([m for m in packable if m.id not in shared | div], config["train"]["pack"], prefix="c")}
        self.pack_of: dict[str, str] = {m: p for p, ms in self.packs.items() for m in ms}
        self.toy = toy_conditions(config)
        #: the config's external sets (models trained elsewhere, or their activations)
        self.external: dict[str, ExternalSet] = external_sets(config)

    # ---- the zoo
    def packable(self, model: Model) -> bool:
        """Whether packed training implements the model: not the MLP (no grouped form), nor
        mixup with augmentation, nor the contrastive framework (a ``simclr`` recipe), nor PGD
        adversarial training (``adv_steps``)."""
        recipe = self.config["recipes"][model.recipe]
        return model.arch != "mlp" and not (recipe.get("mixup") and recipe.get("augment")) \
            and recipe.get("simclr") is None and not recipe.get("adv_steps")

    @property
    def trainings_asked(self) -> int:
        """Members summed over every ensemble (what one job per ensemble member would train)."""
        return sum(e.members for e in self.ensembles.values())

    @property
    def trainings_saved(self) -> int:
        """Trainings the zoo saves: members asked for twice are trained once."""
        return self.trainings_asked - len(self.models)

    def train_params(self, model_id: str) -> dict[str, Any]:
        """What the training job of one model needs: the model's identity, its recipe and the device."""
        m = self.models[model_id]
        return {"model": m.id, "dataset": m.dataset, "arch": m.arch, "width": m.width, "subset": m.subset,
                "seed": m.seed, "recipe_name": m.recipe, "recipe": self.config["recipes"][m.recipe],
                "device": self.config["device"]}

    def packed_groups(self, needing: str | None = None) -> list[str]:
        """The model groups (:attr:`Model.group`) that train in packs; with ``needing``
        (``activations`` or ``features``), those of them a study reads that of."""
        wanted = {"activations": set(self.activation_models()), "features": set(self.feature_models()),
                  None: set(self.models)}[needing]
        return sorted({self.models[m].group for ms in self.packs.values() for m in ms if m in wanted})

    def pack_extraction(self, pack: str) -> dict[str, Any]:
        """What one pack's extraction job writes for each of its models: the activations
        (extract.layers × extract.splits, and each model's Fig 2a epochs) when a study reads
        them of some model of the group, the width study's features likewise."""
        group = self.models[self.packs[pack][0]].group
        return {"activations": group in self.packed_groups("activations"),
                "features": group in self.packed_groups("features"),
                "epochs": {m: self.model_epochs(m) for m in self.packs[pack]}}

    # ---- ensembles and their files
    def ensemble_models(self, name: str) -> list[str]:
        """The models of an ensemble, or of an external set (``<name>-m<i>``)."""
        if name in self.external:
            return self.external[name].models
        return [m.id for m in self.ensembles[name].models]

    def activation_files(self, name: str, layer: str, split: str) -> list[str]:
        """The members' activation files of an ensemble or of an external set."""
        if name in self.external:
            s = self.external[name]
            return [s.activation_file(i, layer, split) for i in range(s.members)]
        return [f"results/zoo/{m}/activations/{layer}/{split}.parquet" for m in self.ensemble_models(name)]

    def dataset_of(self, name: str) -> str:
        """The dataset of an ensemble or of an external set."""
        return self.external[name].dataset if name in self.external else self.ensembles[name].dataset

    # ---- external models
    def external_outputs(self, name: str, member: int) -> dict[tuple[str, str], str]:
        """``{(layer, split): file}`` one external model's extraction or import writes."""
        s = self.external[name]
        if s.route == "activations":
            return {(layer, split): s.activation_file(member, layer, split)
                    for layer, by_split in s.files.items() for split in by_split}
        return {(layer, split): s.activation_file(member, layer, split) for layer in s.layers for split in s.splits}

    def external_files(self, name: str, member: int) -> dict[str, Any]:
        """What one external model's job reads, by key: ``model`` (its checkpoint or TorchScript
        file), or ``<layer>__<split>`` (its activation file), ``labels__<split>``,
        ``logits__<split>``; and the prepared splits it is checked against (``split__<split>``)
        and, for a network without ``normalize``, the training split (``split__train``)."""
        s = self.external[name]
        out: dict[str, Any] = {}
        if s.route == "activations":
            for layer, by_split in s.files.items():
                for split, fs in by_split.items():
                    out[f"{layer}__{split}"] = fs[member]
            for split, f in (s.spec.get("labels") or {}).items():
                out[f"labels__{split}"] = f
            for split, fs in (s.spec.get("logits") or {}).items():
                out[f"logits__{split}"] = resolve(fs)[0][member]
            splits = s.splits
        else:
            out["model"] = s.files[member]
            splits = s.splits
            if not s.spec.get("normalize"):
                splits = tuple(dict.fromkeys((*splits, "train")))
        out.update({f"split__{sp}": f"resources/prepared/{s.dataset}/{sp}.npz" for sp in splits})
        return out

    def external_targets(self) -> list[str]:
        """Every file of every external set (each set is extracted or imported, and checked)."""
        return [f for name, s in self.external.items() for i in range(s.members)
                for f in self.external_outputs(name, i).values()]

    def gde_external(self) -> dict[str, dict[str, Any]]:
        """The external sets the GDE study measures on its base condition (``gde.external``)."""
        return gde_external(self.config)

    def gde_external_files(self, name: str) -> list[str]:
        """The test-split files (with logits) of every model of external set ``name``: its
        penultimate layer's, else the first layer it gives on test."""
        s = self.external[name]
        layers = [layer for layer in ("penultimate", *s.layers, *(s.files if s.route == "activations" else ()))
                  if s.has(layer, "test")]
        return self.activation_files(name, layers[0] if layers else "penultimate", "test")

    def width_external(self) -> dict[str, str]:
        """The wide (``base``) and narrow external sets of ``width.external``."""
        return width_external(self.config)

    def width_external_files(self, role: str) -> list[str]:
        """The penultimate activations of the ``base`` or ``narrow`` external set on train, val
        and test, member-major (as :func:`featurelab.width.study.read_members` reads them)."""
        s = self.external[self.width_external()[role]]
        return [s.activation_file(i, "penultimate", split) for i in range(s.members) for split in WIDTH_EXTERNAL_SPLITS]

    def feature_files(self, name: str, state: str) -> list[str]:
        """The width study's features of every member of ``name``, member-major, splits in
        :data:`WIDTH_SPLITS` order."""
        return [f"results/zoo/{m}/features/{state}/{s}.parquet" for m in self.ensemble_models(name)
                for s in WIDTH_SPLITS]

    def metrics_files(self, name: str) -> list[str]:
        return [f"results/zoo/{m}/metrics.json" for m in self.ensemble_models(name)]

    def ensembles_of_model(self, model_id: str) -> list[str]:
        return [n for n, e in self.ensembles.items() if any(m.id == model_id for m in e.models)]

    def feature_models(self) -> list[str]:
        """Models whose penultimate features the width study reads (and a control that reads them)."""
        wanted = [*self.width.values(), *(e for e in self.controls.values()
                                          if self.config["controls"][e.info["control"]]["features"])]
        return list(dict.fromkeys(m.id for e in wanted for m in e.models))

    def activation_models(self) -> list[str]:
        """Models whose activations (extract.layers × extract.splits) are written: the members
        of every ensemble but the width study's (which reads features instead) and the
        contamination and diversity studies' (which run their networks themselves), nor those
        of the diversity study's base ensemble when no other study names it."""
        # the diversity study's base ensemble is read by that study alone unless another names it
        others = set(self.interaction["ensembles"]) | {(self.config.get("contamination") or {}).get("ensemble")}
        div_only = {self.config["diversity"]["ensemble"]} - others if self.diversity else set()
        return list(dict.fromkeys(m.id for n, e in self.ensembles.items()
                                  if e.study not in ("width", "contamination", "diversity") and n not in div_only
                                  for m in e.models))

    # ---- the interaction study
    @property
    def interaction(self) -> dict[str, Any]:
        return self.config["interaction"]

    def interaction_ensembles(self) -> list[str]:
        return list(self.interaction["ensembles"])

    def epoch_variants(self, name: str) -> list[str]:
        return [f"epoch{e:03d}" for e in sorted(self.interaction["epochs"].get(name, []))]

    def panel_variants(self) -> list[str]:
        """Variants with the full set of O.1-O.4 panels: main, sensitivity settings, depths."""
        return ["main", *self.interaction["sensitivity"], *self.interaction["depths"]]

    def variant_settings(self, variant: str) -> dict[str, Any]:
        keys = ("layer", "split", "k", "k_tolerance", "center", "gamma_corr", "gamma_corr_floor", "corr_percentile",
                "data_percentile", "gamma_data_pool")
        settings = {k: self.interaction[k] for k in keys}
        if variant in self.interaction["sensitivity"]:
            settings.update(self.interaction["sensitivity"][variant])
        elif variant in self.interaction["depths"]:
            settings["layer"] = variant
        elif re.fullmatch(r"epoch\d+", variant):
            settings["epoch"] = int(variant[len("epoch"):])
        elif variant != "main":
            raise ValueError(f"unknown interaction variant {variant!r}")
        return settings

    def model_epochs(self, model_id: str) -> list[int]:
        """The checkpoint epochs of a model whose activations Fig 2a reads: those of every
        interaction ensemble the model belongs to."""
        epochs = self.interaction["epochs"]
        return sorted({e for name in self.ensembles_of_model(model_id) for e in epochs.get(name, [])})

    def has_truth(self, name: str) -> bool:
        """Whether ensemble ``name`` trains on a synthetic world, whose ground truth is known."""
        ds = self.dataset_of(name)
        return ds in ("synthetic", "synthetic_gde") or (ds.startswith("synthetic__ctl") and ds.count("__") == 1)

    def variant_files(self, name: str, variant: str) -> list[str]:
        """The members' activation files (or, for an epoch variant, their epoch folders)."""
        if variant.startswith("epoch"):
            return [f"results/zoo/{m}/epochs" for m in self.ensemble_models(name)]
        layer = variant if variant in self.interaction["depths"] else self.interaction["layer"]
        return self.activation_files(name, layer, self.interaction["split"])

    # ---- the GDE study
    def gde_conditions(self) -> dict[str, str]:
        """``{ensemble: condition}`` of the superclass and blue-group ensembles, in order."""
        return {n: e.info["condition"] for n, e in self.gde.items() if "condition" in e.info}

    def gde_fractions(self) -> dict[str, float]:
        """``{ensemble: fraction}`` of the ensembles behind Fig 5b."""
        return {n: e.info["fraction"] for n, e in self.gde.items() if "fraction" in e.info}

    def gde_superclass_counts(self) -> list[int]:
        """The superclass counts K̃ that need a relabelled dataset (all but K̃ = classes)."""
        n = num_classes(self.config, gde_base_dataset(self.config))
        return [k for k in self.config["gde"]["superclasses"] if k != n] if self.gde else []

    def gde_derived_datasets(self) -> list[str]:
        """The superclass and blue-group datasets the GDE study trains on."""
        base = gde_base_dataset(self.config)
        return ([superclass_dataset(base, k) for k in self.gde_superclass_counts()]
                + [blue_dataset(base, g) for g in range(1, self.config["gde"]["blue_groups"] + 1)]) if self.gde else []

    def gde_blue_datasets(self) -> list[str]:
        return [e.dataset for e in self.gde.values() if e.info.get("condition", "").startswith("blue")]

    # ---- the width study
    def width_denominators(self) -> list[int]:
        return width_denominators(self.config)

    def width_states(self) -> list[str]:
        return ["trained", "init"] if self.config["width"]["random_init"] else ["trained"]

    def width_counts(self) -> dict[str, Any]:
        """What the N_f/N_p table needs: architectures, α as fractions, the base width, the
        dataset's classes and channels, and the members trained per architecture and α."""
        w = self.config["width"]
        if not self.width:
            return {}
        dens = self.width_denominators()
        return {"archs": list(w["archs"]), "alphas": [f"1/{k}" for k in dens], "base_width": w["base_width"],
                "num_classes": num_classes(self.config, w["dataset"]) or 10, "in_channels": in_channels(w["dataset"]),
                "members": {a: [self.width[width_ensemble(a, k)].members for k in dens] for a in w["archs"]}}

    def width_measure_settings(self) -> dict[str, Any]:
        """The settings of every width measurement (ridge selection, probes, shuffling, seed)."""
        keys = ("repeats", "select", "loo_subsample", "probe_c", "probe_max_iter", "shuffled_fit_fraction", "seed")
        return {k: self.config["width"][k] for k in keys}

    def width_pair(self, arch: str, k: int) -> dict[str, Ensemble]:
        """The base ensemble and the α = 1/k ensemble of ``arch``."""
        return {"base": self.width[width_ensemble(arch, 1)], "narrow": self.width[width_ensemble(arch, k)]}

    # ---- the contamination study
    def contamination_runs(self) -> list[dict[str, Any]]:
        return contamination_runs(self.config)

    def contamination_models(self) -> list[str]:
        """The members of the contamination ensemble whose stages :mod:`featurelab.contamination.deep` reads."""
        c = self.config["contamination"]
        return self.ensemble_models(c["ensemble"]) if c["enabled"] else []

    def contamination_splits(self) -> list[str]:
        """The splits the deep measures run on: test, and the background-shifted test split
        when the ensemble trains on a synthetic world."""
        c = self.config["contamination"]
        if not c["enabled"]:
            return []
        return ["test", "shifted"] if self.has_truth(c["ensemble"]) else ["test"]

    def headline_models(self) -> dict[str, list[str]]:
        """``{"teacher": [...], "plain": [...]}``: the teachers and the plainly trained members
        of the same seeds, in order (the students are distilled from the teachers)."""
        if TEACHER_ENSEMBLE not in self.contamination:
            return {}
        e = self.contamination[TEACHER_ENSEMBLE]
        return {"teacher": [m.id for m in e.models], "plain": list(e.info["control_models"])}

    def headline_seeds(self) -> list[int]:
        """The seeds of the pairs (teacher and plain member share theirs), in order."""
        if TEACHER_ENSEMBLE not in self.contamination:
            return []
        return [m.seed for m in self.contamination[TEACHER_ENSEMBLE].models]

    def student_seeds(self) -> list[int]:
        """A student per teacher, each from its own seed (``headline.student_seed`` + pair
        index): its random initialisation and batch order, never its teacher's."""
        if TEACHER_ENSEMBLE not in self.contamination:
            return []
        return list(self.contamination[TEACHER_ENSEMBLE].info["student_seeds"])

    def teacher_of_student(self, seed: int) -> str:
        e = self.contamination[TEACHER_ENSEMBLE]
        return e.models[e.info["student_seeds"].index(int(seed))].id

    def headline_line_models(self) -> dict[str, list[int]]:
        """The plain members' kept checkpoints (epochs after 0) that add points to the plain
        models' line of the effective-robustness view (``headline.line_checkpoints``):
        ``{model: [epochs]}``; an epoch past a member's stopping point holds its final weights,
        so only epochs below its recipe's ``max_epochs`` are taken."""
        c = self.config["contamination"]
        if TEACHER_ENSEMBLE not in self.contamination or not c["headline"]["line_checkpoints"]:
            return {}
        out = {}
        for m in self.contamination[TEACHER_ENSEMBLE].info["control_models"]:
            r = self.config["recipes"][self.models[m].recipe]
            epochs = [int(e) for e in r.get("checkpoint_epochs") or [] if 0 < int(e) < int(r["max_epochs"])]
            if epochs:
                out[m] = sorted(epochs)
        return out

    def padding_pairs(self) -> dict[str, list[str]]:
        """``{"padded": [...], "plain": [...]}``: the padded models and their controls, in order."""
        if PADDED_ENSEMBLE not in self.contamination:
            return {}
        e = self.contamination[PADDED_ENSEMBLE]
        return {"padded": [m.id for m in e.models], "plain": list(e.info["control_models"])}

    # ---- the diversity study
    def diversity_pool(self) -> list[dict[str, Any]]:
        """The base and every candidate, in category order: ``{"model", "category", "source"}``
        (``source``: the ensemble a reused model comes from, or ``new``; ``ensemble``: the
        study's ensemble that lists it); last, category ``start``, the model greedy
        ensembling starts from when the config names one outside the categories."""
        out = []
        for category in ("base", *DIVERSITY_CATEGORIES, "start"):
            name = diversity_ensemble(category)
            e = self.diversity.get(name)
            if e is not None:
                out += [{"model": m.id, "category": category, "source": s, "ensemble": name}
                        for m, s in zip(e.models, e.info["sources"])]
            for spec in (self.config["diversity"]["categories"].get(category) or []) if self.diversity else []:
                if spec.get("external"):
                    ext = self.external[spec["external"]]
                    n = ext.members if spec.get("members") is None else int(spec["members"])
                    out += [{"model": m, "category": category, "source": f"external:{ext.name}", "ensemble": None,
                             "external": ext.name} for m in ext.models[:n]]
        return out

    def diversity_models(self) -> list[str]:
        """The pool's zoo models (those with a training record, metrics.json)."""
        return list(dict.fromkeys(p["model"] for p in self.diversity_pool() if not p.get("external")))

    def diversity_external_files(self) -> dict[str, str]:
        """The external pool models' penultimate activations on the study's held-out and test
        points, by ``<model>__val`` and ``<model>__test``."""
        out = {}
        for p in self.diversity_pool():
            if p.get("external"):
                ext, i = self.external[p["external"]], int(p["model"].rsplit("-m", 1)[1])
                for s in ("val", "test"):
                    out[f"{p['model']}__{s}"] = ext.activation_file(i, "penultimate", f"diversity_{s}")
        return out

    def diversity_external_metrics(self) -> dict[str, dict[str, Any]]:
        """What the pool table states of an external model (it has no training record)."""
        out = {}
        for p in self.diversity_pool():
            if p.get("external"):
                spec = self.external[p["external"]].spec
                out[p["model"]] = {"arch": spec.get("arch") or ("torchscript" if spec.get("torchscript") else None),
                                   "width": spec.get("width"), "dataset": spec["dataset"], "recipe_name": "external"}
        return out

    def diversity_eval_files(self) -> dict[str, str]:
        """The held-out (``val``) and ``test`` splits every pool model is evaluated on, with
        their ground truth on a synthetic world (``val_truth``, ``test_truth``)."""
        if not self.diversity:
            return {}
        base = diversity_base_dataset(self.config)
        out = {s: f"resources/prepared/{base}/diversity_{s}.npz" for s in ("val", "test")}
        if diversity_eval_world(self.config) is not None:
            out.update({f"{s}_truth": f"resources/prepared/{base}/diversity_{s}_truth.parquet" for s in ("val", "test")})
        return out

    def heldout_file(self, model_id: str) -> str | None:
        """The held-out split a model's training stops on (its recipe's ``stop_at_heldout_acc``)."""
        if not self.config["recipes"][self.models[model_id].recipe].get("stop_at_heldout_acc"):
            return None
        if not self.diversity:
            raise ValueError(f"{model_id}: its recipe stops on a held-out accuracy, which only the diversity "
                             "study provides (diversity.enabled)")
        return self.diversity_eval_files()["val"]

    def diversity_rule(self) -> dict[str, Any]:
        """The rule of selection every pool model shares: trained by its recipe until the
        held-out accuracy, measured ``heldout_checks`` times per epoch, first reaches
        ``target`` (or ``max_epochs``), then kept when its held-out accuracy lies in ``window``."""
        d = self.config["diversity"]
        r = self.config["recipes"][self.config["ensembles"][d["ensemble"]]["recipe"]]
        return {"target": r.get("stop_at_heldout_acc"), "heldout_checks": int(r.get("heldout_checks", 1)),
                "window": list(d["window"]),
                "text": (f"every pool model (base and Reinit included) trains until its held-out accuracy, measured "
                         f"{int(r.get('heldout_checks', 1))} times per epoch, first reaches "
                         f"{r.get('stop_at_heldout_acc')} (or its max_epochs), and is compared only when its held-out "
                         f"accuracy lies in [{d['window'][0]}, {d['window'][1]}]")}

    def diversity_greedy_start(self) -> str | None:
        """The model greedy ensembling starts from (``diversity.greedy.start``), or None: the
        pool's most accurate model on the held-out split (decided once it is measured)."""
        start = (self.config.get("diversity") or {}).get("greedy", {}).get("start") if self.diversity else None
        if not start:
            return None
        return self.ensembles[start["ensemble"]].models[int(start.get("member", 0))].id

    # ---- the controls
    def control_names(self) -> list[str]:
        """The enabled controls, in report order."""
        return enabled_controls(self.config)

    def control_parts(self, control: str) -> dict[str, dict[str, Ensemble]]:
        """``{"on": {part: Ensemble}, "off": {...}}`` of one control."""
        out: dict[str, dict[str, Ensemble]] = {arm: {} for arm in ARM_KEYS.values()}
        for e in self.controls.values():
            if e.info["control"] == control:
                out[e.info["arm"]][e.info["part"]] = e
        return out

    def control_inputs(self, control: str) -> dict[str, list[str] | str]:
        """The files one control's decision reads, by ``<arm>__<part>__<kind>``: the members'
        activations of the control's layer on the test split, their weights (``weights``),
        their width-study features (``features``, trained and at initialisation, train/val/test
        each), and the test split's ground truth and the world of a part on a synthetic world
        (not derived)."""
        ctl = self.config["controls"][control]
        out: dict[str, list[str] | str] = {}
        for arm, parts in self.control_parts(control).items():
            for part, e in parts.items():
                key = f"{arm}__{part}"
                out[f"{key}__activations"] = self.activation_files(e.name, ctl["layer"], "test")
                if ctl["weights"]:
                    out[f"{key}__weights"] = [f"results/zoo/{m}/model.pt" for m in self.ensemble_models(e.name)]
                if ctl["features"]:
                    out[f"{key}__features"] = [f for st in self.width_states() for f in self.feature_files(e.name, st)]
                if e.dataset.count("__") <= 1:
                    out[f"{key}__truth"] = f"resources/prepared/{e.dataset}/test_truth.parquet"
                    out[f"{key}__world"] = f"resources/prepared/{e.dataset}/world.json"
        return out

    def control_derived(self) -> dict[str, dict[str, Any]]:
        """The derived worlds the enabled controls train on: ``{dataset: {"base", "kind"
        ("super" or "blue"), "k" or "group", "n_groups"}}``; a blue group's thresholds cut the
        base's training split into ``settings.blue_groups`` groups (default 5, the paper's)."""
        out: dict[str, dict[str, Any]] = {}
        for e in self.controls.values():
            d = e.info.get("derived")
            if not d:
                continue
            base = e.dataset[: -len(d) - 2]
            if d.startswith("super"):
                out[e.dataset] = {"base": base, "kind": "super", "k": int(d[5:])}
            else:
                n = int(self.config["controls"][e.info["control"]]["settings"].get("blue_groups", 5))
                g = int(d[4:])
                if not 1 <= g <= n:
                    raise ValueError(f"controls.{e.info['control']}: part {e.info['part']} asks for blue group {g} "
                                     f"of {n} (settings.blue_groups)")
                out[e.dataset] = {"base": base, "kind": "blue", "group": g, "n_groups": n}
        return out

    def control_info(self, control: str) -> dict[str, Any]:
        """What the decision needs beside the files: every part's models and settings, the
        control's settings, the width states of its features."""
        ctl = self.config["controls"][control]
        return {"control": control, "settings": ctl["settings"], "layer": ctl["layer"],
                "states": self.width_states() if ctl["features"] else [],
                "parts": {arm: {part: {"dataset": e.dataset, "models": self.ensemble_models(e.name), "info": e.info}
                                for part, e in parts.items()}
                          for arm, parts in self.control_parts(control).items()}}

    # ---- checks
    def name_problems(self) -> list[str]:
        """User ensembles that would collide with a generated one or a results folder."""
        return name_problems(self.config)


__all__ = ["EXTERNAL_SPLITS", "WIDTH_EXTERNAL_SPLITS", "ExternalSet", "external_problems", "external_sets", "member_id",
           "gde_external", "gde_external_problems", "width_external", "width_external_problems", "ARM_KEYS", "CONTROLS", "control_datasets", "control_ensemble", "control_ensembles", "control_problems", "control_world", "control_world_dataset", "enabled_controls", "ARCHITECTURES", "BASE_DATASETS", "BLUE_DATASET", "BGMIX_DATASET", "CONTROL_ENSEMBLE", "DIVERSITY_CATEGORIES", "EVAL_DRAW", "WORLD_DATASET", "WORLD_FIXED", "Ensemble", "FOLDERS", "HOLDOUT_DATASET", "LAYERS", "PADDED_ENSEMBLE", "MODEL_ID", "Model", "Plan", "RESERVED", "RESERVED_VARIANTS", "STUDIES", "SUPERCLASS_DATASET", "TEACHER_ENSEMBLE", "TRAIN_SIZES", "WIDTH_SPLITS", "bgmix_dataset", "blue_condition", "blue_dataset", "contamination_ensembles", "contamination_runs", "diversity_base_dataset", "diversity_ensemble", "diversity_ensembles",
           "diversity_eval_world", "diversity_world", "fraction_size", "gde_base_dataset", "gde_ensembles", "gde_world", "generated_names", "holdout_dataset", "in_channels", "name_problems", "num_classes", "pack_plan", "smoke_config", "superclass_condition", "superclass_dataset", "toy_conditions", "train_size", "width_denominators", "width_ensemble", "width_ensembles", "world_dataset", "world_of"]
