# Datasets: generation of the synthetic world, download and preparation of the public
# ones and of the user's folder. Every dataset ends as resources/prepared/<dataset>/
# {train,test}.npz; derived datasets (superclasses, blue groups, a held-out validation
# split) are made by the rules of the study that needs them.


localrules:
    download_cifar10,
    download_svhn,
    download_fashion_mnist,


rule synthetic_world:
    output:
        **world_outputs("synthetic", config["data"]["synthetic"]),
    log:
        "results/logs/data/synthetic_world.log",
    conda:
        "../envs/data.yaml"
    params:
        world=config["data"]["synthetic"],
    script:
        "../scripts/synthetic_world.py"


rule synthetic_gde_world:
    # the GDE study's own world (gde.world over data.synthetic), e.g. with more images
    output:
        **world_outputs("synthetic_gde", gde_world(config)),
    log:
        "results/logs/data/synthetic_gde_world.log",
    conda:
        "../envs/data.yaml"
    params:
        world=gde_world(config),
    script:
        "../scripts/synthetic_world.py"


rule synthetic_shifted:
    # the test split of a synthetic world with backgrounds from a disjoint colour range
    # (the contamination study's out-of-distribution split)
    output:
        shifted="resources/prepared/{world}/shifted.npz",
        shifted_truth="resources/prepared/{world}/shifted_truth.parquet",
    log:
        "results/logs/data/{world}_shifted.log",
    wildcard_constraints:
        world="synthetic|synthetic_gde",
    conda:
        "../envs/data.yaml"
    params:
        world=shifted_world,
    script:
        "../scripts/synthetic_shifted.py"


# The three download rules share scripts/download.py: it fetches the dataset named in
# params (or copies it from data.mirror) and verifies every file's checksum.
rule download_cifar10:
    output:
        "resources/downloads/cifar10/cifar-10-python.tar.gz",
    log:
        "results/logs/data/download_cifar10.log",
    conda:
        "../envs/data.yaml"
    params:
        dataset="cifar10",
        mirror=config["data"]["mirror"],
        checksums=config["data"]["checksums"],
    script:
        "../scripts/download.py"


rule download_svhn:
    output:
        "resources/downloads/svhn/train_32x32.mat",
        "resources/downloads/svhn/test_32x32.mat",
    log:
        "results/logs/data/download_svhn.log",
    conda:
        "../envs/data.yaml"
    params:
        dataset="svhn",
        mirror=config["data"]["mirror"],
        checksums=config["data"]["checksums"],
    script:
        "../scripts/download.py"


rule download_fashion_mnist:
    output:
        "resources/downloads/fashion_mnist/train-images-idx3-ubyte.gz",
        "resources/downloads/fashion_mnist/train-labels-idx1-ubyte.gz",
        "resources/downloads/fashion_mnist/t10k-images-idx3-ubyte.gz",
        "resources/downloads/fashion_mnist/t10k-labels-idx1-ubyte.gz",
    log:
        "results/logs/data/download_fashion_mnist.log",
    conda:
        "../envs/data.yaml"
    params:
        dataset="fashion_mnist",
        mirror=config["data"]["mirror"],
        checksums=config["data"]["checksums"],
    script:
        "../scripts/download.py"


rule prepare_dataset:
    input:
        raw_files,
    output:
        train="resources/prepared/{dataset}/train.npz",
        test="resources/prepared/{dataset}/test.npz",
    log:
        "results/logs/data/prepare_{dataset}.log",
    wildcard_constraints:
        dataset="cifar10|svhn|fashion_mnist",
    conda:
        "../envs/data.yaml"
    params:
        pad_to=config["data"]["pad_to"],
        checksums=config["data"]["checksums"],
    script:
        "../scripts/prepare_dataset.py"


rule prepare_folder:
    input:
        folder_images,
    output:
        train="resources/prepared/folder/train.npz",
        test="resources/prepared/folder/test.npz",
    log:
        "results/logs/data/prepare_folder.log",
    conda:
        "../envs/data.yaml"
    params:
        root=config["data"]["folder"],
        image_size=config["data"]["image_size"],
    script:
        "../scripts/prepare_folder.py"
