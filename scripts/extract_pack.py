"""Rule extract_pack: the extractions of every model a pack trained, in one job
(results/zoo/extracted/<pack>/<model>/{activations,epochs,features}/...), for
unpack_activations and unpack_features to copy to the models' own folders."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.prepared import load_split
from featurelab.extract import extract_activations, extract_epochs, extract_features

with logged(snakemake.log[0]):
    p, inp = snakemake.params, snakemake.input
    pack, out = Path(inp.pack), Path(snakemake.output[0])
    splits = {s: load_split(inp[s]) for s in inp.keys() if s != "pack"}
    for model, epochs in p.what["epochs"].items():
        kw = dict(device=p.device, batch_size=p.batch_size, meta={"model": model}, log=log)
        log(f"{model}:")
        if p.what["activations"]:
            extract_activations(pack / f"{model}.pt", {s: splits[s] for s in p.splits}, p.layers,
                                out / model / "activations", **kw)
            extract_epochs(pack / f"{model}.pt", pack / model, splits[p.epoch_split], p.epoch_split, p.epoch_layer,
                           epochs, out / model / "epochs", **kw)
        if p.what["features"]:
            extract_features(pack / f"{model}.pt", {s: splits[s] for s in ("train", "val", "test")}, p.states,
                             out / model / "features", **kw)
