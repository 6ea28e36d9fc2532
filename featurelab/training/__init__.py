"""Training ensemble members: alone or packed, with one bookkeeping.

=======================  ==============================================================
module                   what it holds
=======================  ==============================================================
:mod:`.recipe`           the recipe (what is computed) and the fast path (how it runs)
:mod:`.inputs`           a member's subset, normalisation and batch order, on the device
:mod:`.augment`          pad / random crop / flip on a batch (torchvision)
:mod:`.bookkeeping`      epoch records and lines, stopping, checkpoints, resume, payload
:mod:`.solo`             one member per job: :func:`train_member`
:mod:`.packed`           several narrow members as one grouped network: :func:`train_pack`
:mod:`.contrastive`      SimCLR pre-training, then a linear head: :func:`train_simclr_member`
:mod:`.distill`          a student trained to reproduce a teacher's representation: :func:`distill_member`
:mod:`.summary`          an ensemble's training table and curves
=======================  ==============================================================
"""
from .._lazy import lazy_exports

_WHERE = {
    **dict.fromkeys(["Recipe", "FastPath", "select_device", "COMPILE_MODES", "compiled", "autocast", "fused_sgd",
                     "sgd", "setup_device", "choose_amp", "describe_fast"], "recipe"),
    **dict.fromkeys(["member_subset", "channel_stats", "to_input", "batch_order"], "inputs"),
    **dict.fromkeys(["Augmenter", "crop_flip"], "augment"),
    **dict.fromkeys(["train_member", "initial_model", "load_member", "evaluate"], "solo"),
    **dict.fromkeys(["train_pack", "pack_models", "member_state", "set_member_state", "stack_members",
                     "member_losses", "evaluate_pack", "PackedLinear"], "packed"),
    **dict.fromkeys(["load_member_metrics", "plot_training_curves"], "summary"),
    **dict.fromkeys(["distill_member", "penultimate"], "distill"),
    **dict.fromkeys(["train_simclr_member", "nt_xent", "SimCLRViews", "ProjectionHead"], "contrastive"),
    "SimCLR": "recipe",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
