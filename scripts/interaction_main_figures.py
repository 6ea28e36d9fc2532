"""Rule interaction_main_figures: Figs 1, 8, 9, 10, 11 of the main tensor (they show images)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.data.prepared import load_split
    from featurelab.figures import save
    from featurelab.interaction import Tensor, feature_frequency, features_per_point, incidence_matrix
    from featurelab.interaction import figures as F
    from featurelab.interaction import images as I

    t = Tensor(Path(snakemake.input.tensor).parent)
    split = load_split(snakemake.input.split)
    t.check_split(split.labels, snakemake.input.split)
    o, names = snakemake.output, list(split.classes)
    nfeat = features_per_point(t.triplets, t.N)
    freq = feature_frequency(t.triplets, t.T)
    save(*I.fig1_extremes(nfeat, t.labels, split.images, names, per_class=snakemake.params.per_class),
           o.fig1, o.fig1_csv)
    save(*F.fig8_correlation_blocks(t.abs_corr), o.fig8, o.fig8_csv)
    save(*I.fig9_neighbours(incidence_matrix(t.triplets, t.N, t.T), split.images, t.labels,
                              I.fig9_queries(nfeat, t.labels, len(names)), class_names=names), o.fig9, o.fig9_csv)
    save(*I.fig10_single_feature_images(t.triplets, freq, split.images, t.labels, class_names=names),
           o.fig10, o.fig10_csv)
    save(*I.fig11_top_feature_counts(t.triplets, t.labels, names), o.fig11, o.fig11_csv)
    log(f"T={t.T}, mean nfeat {nfeat.mean():.2f}")
