"""The diversity study: Gontijo-Lopes, Dauphin, Cubuk, "No One Representation to Rule Them All:
Overlapping Features of Training Methods", ICLR 2022 -- pairwise error inconsistency, ensemble
gain and conversion rate between models trained with different methods (Figs 1-2),
specialisation angles and by-subgroup accuracy differences (Figs 3-4), greedy ensembling
(Fig 5), paired-bootstrap intervals, and representation probes: the feature-overlap probe of
complementary random subsets of two models' penultimate features, compression (Fig 6), and
linear CKA.

:mod:`.metrics` holds the pairwise metrics (pure NumPy), :mod:`.probes` the representation
probes, :mod:`.data` the study's held-out and test points, :mod:`.study` the analysis of a
pool (tables and findings), :mod:`.figures` the figures. This package imports nothing at
import time.
"""
