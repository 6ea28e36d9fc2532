"""Rule interaction_main_figures: Figs 1, 8, 9, 10, 11 of the main tensor (need the images)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    import numpy as np

    from featurelab import interaction as I
    from featurelab import interaction_figures as F
    from featurelab.data.prepared import load_split
    from featurelab.interaction_study import Tensor

    t = Tensor(Path(snakemake.input.tensor).parent)
    split = load_split(snakemake.input.split)
    if len(split) != t.N or not np.array_equal(split.labels, t.labels):
        raise ValueError(f"{snakemake.input.split} does not hold the {t.N} points of the tensor")
    o, names = snakemake.output, list(split.classes)
    nfeat = I.features_per_point(t.triplets, t.N)
    freq = I.feature_frequency(t.triplets, t.T)
    F.save(*F.fig1_extremes(nfeat, t.labels, split.images, names, per_class=snakemake.params.per_class),
           o.fig1, o.fig1_csv)
    F.save(*F.fig8_correlation_blocks(t.abs_corr), o.fig8, o.fig8_csv)
    # Fig 9 queries: one point per class, the one with the median number of features
    queries = []
    for c in range(len(names))[:6]:
        idx = np.flatnonzero(t.labels == c)
        if len(idx):
            queries.append(int(idx[np.argsort(nfeat[idx], kind="stable")[len(idx) // 2]]))
    F.save(*F.fig9_neighbours(I.incidence_matrix(t.triplets, t.N, t.T), split.images, t.labels, queries,
                              class_names=names), o.fig9, o.fig9_csv)
    F.save(*F.fig10_single_feature_images(t.triplets, freq, split.images, t.labels, class_names=names),
           o.fig10, o.fig10_csv)
    F.save(*F.fig11_top_feature_counts(t.triplets, t.labels, names), o.fig11, o.fig11_csv)
    log(f"T={t.T}, mean nfeat {nfeat.mean():.2f}")
