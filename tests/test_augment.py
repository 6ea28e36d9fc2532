"""Augmentation on the device (featurelab.training.augment), with known answers: the padding
colour outside the crop, the image inside it, the flip, one draw per image, and the same
augmentation whether a member trains alone or in a pack."""
import pytest
import torch
from conftest import world_splits

from featurelab.training import Recipe, load_member, train_member, train_pack
from featurelab.training.augment import Augmenter, crop_flip, pad_fill


def test_pad_fill_is_the_colour_through_the_normalisation():
    assert pad_fill((150, 50, 50), [0.5, 0.5, 0.5], [0.25, 0.5, 1.0]) == pytest.approx(
        [(150 / 255 - 0.5) / 0.25, (50 / 255 - 0.5) / 0.5, (50 / 255 - 0.5) / 1.0])
    assert pad_fill(None, [0.2], [0.1]) == pytest.approx([-2.0])
    with pytest.raises(ValueError, match="3 channels"):
        pad_fill((1, 2, 3), [0.0], [1.0])


def test_crop_puts_exactly_the_padding_colour_outside_the_image():
    B, C, H, W, pad = 64, 3, 8, 8, 3
    fill = [7.0, 8.0, 9.0]
    x = torch.rand(B, C, H, W)  # values in [0, 1): never the fill
    out = crop_flip(x, pad, fill, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    for b in range(B):
        img, inside = out[b], torch.zeros(H, W, dtype=torch.bool)
        # the original pixels are a contiguous H'×W' block (possibly mirrored), the rest is fill
        is_fill = torch.stack([img[c] == fill[c] for c in range(C)]).all(0)
        assert (is_fill == torch.stack([img[c] >= 7 for c in range(C)]).any(0)).all()
        rows, cols = torch.nonzero(~is_fill, as_tuple=True)
        inside[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
        assert torch.equal(~is_fill, inside)
        block = img[:, rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        h, w = block.shape[1:]
        # the block is a corner of the original image, mirrored or not
        cands = [x[b, :, :h, :w], x[b, :, H - h:, :w], x[b, :, :h, W - w:], x[b, :, H - h:, W - w:]]
        assert any(torch.equal(block, c) or torch.equal(block, c.flip(-1)) for c in cands)


def test_offsets_and_flips_are_drawn_per_image_and_reproducible():
    x = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4).repeat(200, 1, 1, 1)
    a = crop_flip(x, 2, [-1.0], torch.Generator().manual_seed(3))
    assert torch.equal(a, crop_flip(x, 2, [-1.0], torch.Generator().manual_seed(3)))
    assert len({tuple(t.flatten().tolist()) for t in a}) > 20  # one image, many different crops
    # without padding the crop is the image: each output is it or its mirror, both occur about half the time
    same = crop_flip(x, 0, [0.0], torch.Generator().manual_seed(0))
    flipped = [torch.equal(u, x[0].flip(-1)) for u in same]
    assert all(f or torch.equal(u, x[0]) for f, u in zip(flipped, same))
    assert 70 < sum(flipped) < 130

def test_no_augmentation_leaves_the_batch_alone():
    x = torch.rand(4, 3, 8, 8)
    assert Augmenter(None, 4, None, [0.0] * 3, [1.0] * 3, seed=1)(x) is x


def test_packed_members_get_their_solo_augmentation(tmp_path, monkeypatch):
    """Every member's augmented batches are the same alone and in a pack (its own generator)."""
    seen: dict[int, list[torch.Tensor]] = {}
    call = Augmenter.__call__

    def spy(self, x):
        out = call(self, x)
        seen.setdefault(self.seed, []).append(out.clone())
        return out

    monkeypatch.setattr(Augmenter, "__call__", spy)
    train, _ = world_splits(n_train=200, n_test=40, num_classes=4, seed=1)
    recipe = Recipe(lr=0.05, batch_size=50, max_epochs=2, stop_at_train_acc=None, augment="crop_flip", pad=2,
                    pad_color=(150, 50, 50))
    kw = dict(arch="resnet18", width=1 / 16, recipe=recipe, subset_size=150, device="cpu", threads=1,
              log=lambda s: None)
    solo = train_member(train, seed=5, out_path=tmp_path / "solo.pt", state_path=tmp_path / "s.pt", **kw)
    alone = seen.pop(5)
    train_pack(train, seeds=[4, 5], out_paths=[tmp_path / "p0.pt", tmp_path / "p1.pt"], state_path=tmp_path / "p.pt",
               **kw)
    assert len(alone) == len(seen[5]) == 6 and len(seen[4]) == 6  # 3 batches x 2 epochs
    assert all(torch.equal(a, b) for a, b in zip(alone, seen[5]))
    assert not torch.equal(seen[4][0], seen[5][0])
    plain = train_member(train, seed=5, out_path=tmp_path / "plain.pt", state_path=tmp_path / "q.pt",
                         **{**kw, "recipe": Recipe(lr=0.05, batch_size=50, max_epochs=2, stop_at_train_acc=None)})
    assert plain["final_loss"] != pytest.approx(solo["final_loss"], abs=1e-4)  # augmentation changed training
    model, payload = load_member(tmp_path / "solo.pt")
    assert payload["metrics"]["epochs"] == 2
