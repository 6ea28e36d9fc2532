"""Rule theory_figures: Figs 4 (with simulated points), 16 and 5a of Jiang, Baek, Kolter
(ICLR 2024, §5.2, App. B, F.7)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab import theory as T
from featurelab.figures import save
from featurelab.theory import figures as F

with logged(snakemake.log[0]):
    o = snakemake.output
    d = T.closed_form(T.Params(**T.DEFAULTS))
    log(f"§5.2 defaults: accuracy {d['accuracy']:.4f}, agreement {d['agreement']:.4f}")
    sweep = T.sweep_fig4()
    sim = T.simulate_fig4_points(sweep, n_pairs=snakemake.params.pairs, seed=snakemake.params.seed)
    sim.to_csv(o.fig4_sim, index=False)
    worst = sim[["z_accuracy", "z_agreement"]].abs().max().max()
    log(f"simulated {len(sim)} settings, largest |z| against the closed forms {worst:.2f}")
    save(*F.fig4(sweep, sim), o.fig4, o.fig4_csv)
    save(*F.fig16(T.sweep_fig16()), o.fig16, o.fig16_csv)
    save(*F.fig5a(T.sweep_fig5a()), o.fig5a, o.fig5a_csv)
