"""How stable is O.4 (shared features vs shared error) on an ensemble? (docs/interaction.md.)

Rebuilds the interaction tensor from an ensemble's test activations for several member
selections and numbers of components K (γcorr and γdata by the paper's rules) and prints,
per cell, O.2's and O.4's Spearman rho and O.4's Mantel p (models relabelled; see
``featurelab.interaction.mantel_test``), plus the number of clusters each model holds
(the first model visited by Algorithm 1 holds more: its seeds cannot be taken over).

    python analysis/o4_stability.py synth [--members 0-5 0-9 --k 10 30 50 --layer penultimate]
        [--configfile config.yaml] [--results results]

Takes an ensemble's name, finds its members' zoo models with the planner (the config it was
run with) and reads ``<results>/zoo/<model>/activations/<layer>/test.parquet``; writes nothing.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab import interaction as I  # noqa: E402
from featurelab.activations import read_activations  # noqa: E402
from featurelab.config import load_config  # noqa: E402
from featurelab.interaction import findings as FD  # noqa: E402
from featurelab.plan import Plan  # noqa: E402


def members(spec: str) -> list[int]:
    lo, _, hi = spec.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ensemble", help="an ensemble of the config")
    ap.add_argument("--configfile", type=Path, default=Path("config.yaml"))
    ap.add_argument("--results", type=Path, default=Path("results"))
    ap.add_argument("--members", nargs="+", default=["0-5"], help="member ranges, e.g. 0-5 4-9")
    ap.add_argument("--k", nargs="+", type=int, default=[10, 30, 50])
    ap.add_argument("--layer", default="penultimate")
    ap.add_argument("--center", action="store_true")
    a = ap.parse_args()
    plan = Plan(load_config(a.configfile))
    if a.ensemble not in plan.ensembles:
        sys.exit(f"{a.ensemble!r} is not an ensemble of {a.configfile}; it has {', '.join(plan.ensembles)}")
    models = plan.ensemble_models(a.ensemble)
    wanted = sorted({m for spec in a.members for m in members(spec)})
    acts = {}
    for m in wanted:
        if m >= len(models):
            sys.exit(f"{a.ensemble} has {len(models)} members, not {m + 1}")
        f = a.results / "zoo" / models[m] / "activations" / a.layer / "test.parquet"
        if not f.exists():
            sys.exit(f"missing {f}: is member {m} of {a.ensemble} ({models[m]}) extracted?")
        acts[m] = read_activations(f)
    print(f"{'members':8s} {'K':>3s} {'T':>4s} {'γcorr':>6s} {'O.2 rho':>8s} {'O.4 rho':>8s} {'Mantel p':>9s}  clusters per model")
    for spec in a.members:
        sel = [acts[m] for m in members(spec)]
        preds = np.stack([s.prediction for s in sel])
        y = sel[0].label
        for k in a.k:
            r = I.build_interaction([s.activation for s in sel], k=k, center=a.center)
            conf = I.confidence(preds, y)
            o = FD.observations(conf, I.features_per_point(r.omega, len(y)), I.feature_frequency(r.omega, r.T),
                               I.models_per_feature(r.omega, r.T), I.shared_features(r.clusters, r.T),
                               I.shared_error(preds, y))
            held = np.diag(I.shared_features(r.clusters, r.T))
            print(f"{spec:8s} {k:3d} {r.T:4d} {r.gamma_corr:6.3f} {o['o2_spearman_rho']:+8.2f} "
                  f"{o['o4_spearman_rho']:+8.2f} {o['o4_mantel_p']:9.3f}  {' '.join(map(str, held))}")


if __name__ == "__main__":
    main()
