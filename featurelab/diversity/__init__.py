"""The diversity study: Gontijo-Lopes, Dauphin, Cubuk, "No One Representation to Rule Them All:
Overlapping Features of Training Methods", ICLR 2022 -- pairwise error inconsistency, ensemble
gain and conversion rate between models trained with different methods (§3-4, Figs 1-3),
specialisation angles and by-subgroup accuracy differences (Figs 4-5), greedy ensembling,
paired-bootstrap intervals, and representation probes: linear CKA and the feature-overlap
probe of complementary random subsets of two models' penultimate features (§5).

:mod:`.metrics` holds the pairwise metrics (pure NumPy), :mod:`.probes` the representation
probes. This package imports nothing at import time.
"""
