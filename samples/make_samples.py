#!/usr/bin/python3
"""Bundled sample tensors (see samples/README.md). Deterministic: numpy Generator seeded with SEED = 7.

Run with Debian's interpreter (numpy 1.24, torch 1.13):
    /usr/bin/python3 samples/make_samples.py
Each tensor is written twice, as <name>.npy and as <name>.json ({"shape", "dtype": "float32", "data"} with
nested lists); parameter files are plain JSON objects of lists, so `conv_params.json#/weight` selects one.
Floats in JSON are the shortest decimals that read back to the same float32.
"""
import json
import os

import numpy as np
import torch

SEED = 7
HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(SEED)


def f32list(a):
    """Nested lists of the shortest decimals that round-trip each float32."""
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 0:
        return float(str(a))
    return [f32list(v) for v in a]


def save(name, x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    np.save(os.path.join(HERE, f"{name}.npy"), x)
    with open(os.path.join(HERE, f"{name}.json"), "w") as f:
        json.dump({"shape": list(x.shape), "dtype": "float32", "data": f32list(x)}, f, separators=(",", ":"))
        f.write("\n")


def save_params(name, **tensors):
    with open(os.path.join(HERE, f"{name}.json"), "w") as f:
        json.dump({k: f32list(v) for k, v in tensors.items()}, f, separators=(",", ":"))
        f.write("\n")


def smooth(shape):
    """Spatially correlated unit-variance noise over the last two dims (a 3x3 box blur of white noise)."""
    z = rng.standard_normal(shape[:-2] + (shape[-2] + 2, shape[-1] + 2))
    s = sum(z[..., i:i + shape[-2], j:j + shape[-1]] for i in range(3) for j in range(3)) / 3.0
    return s


def conv_batch():
    """4 images x 8 channels x 16 x 16, channels of very different scale and offset."""
    N, C, H, W = 4, 8, 16, 16
    z = smooth((N, C, H, W))
    x = np.empty((N, C, H, W))
    x[:, 0] = np.maximum(0.0, 0.3 + z[:, 0])                  # ReLU output: half zeros, skewed
    x[:, 1] = 50.0 + 0.01 * z[:, 1]                            # large offset, tiny spread
    x[:, 2] = -20.0 + 3.0 * z[:, 2]                            # negative
    x[:, 3] = z[:, 3]                                          # unit normal
    x[:, 4] = 100.0 * z[:, 4]                                  # large scale
    x[:, 5] = 1e-4 * z[:, 5]                                   # tiny scale: eps (1e-5) dominates its variance
    x[:, 6] = np.where(z[:, 6] > 0, 2.0, -2.0) + 0.3 * rng.standard_normal((N, H, W))  # bimodal
    x[:, 7] = np.exp(0.8 * z[:, 7])                            # log-normal, heavy right tail
    return x.astype(np.float32)


def conv_activations():
    x = conv_batch()
    save("conv_activations", x)
    # BatchNorm2d(8) parameters as a trained model holds them: running statistics accumulated by PyTorch in
    # train mode over 8 other batches from the same distribution (momentum=None: their cumulative average),
    # gamma near 1 and a small beta.
    C = x.shape[1]
    bn = torch.nn.BatchNorm2d(C, momentum=None)
    with torch.no_grad():
        for _ in range(8):
            bn(torch.from_numpy(conv_batch()))
    weight = 1.0 + 0.1 * rng.standard_normal(C)
    bias = 0.1 * rng.standard_normal(C)
    save_params("conv_params", weight=weight, bias=bias,
                running_mean=bn.running_mean.numpy(), running_var=bn.running_var.numpy())


def transformer_activations():
    """(batch 2, tokens 16, features 64) residual-stream activations with a few outlier features."""
    B, T, D = 2, 16, 64
    x = rng.standard_normal((B, T, D)) * rng.uniform(0.5, 1.5, D)  # per-feature scale
    x += 0.3 * rng.standard_normal((B, 1, D))                          # per-sequence drift
    # outlier features with a consistent sign across tokens, as in LLM activations
    x[:, :, 7] += 25.0 + 3.0 * rng.standard_normal((B, T))
    x[:, :, 42] -= 40.0 + 5.0 * rng.standard_normal((B, T))
    x[:, 0, 7] = 180.0  # a massive activation on the first token
    x = x.astype(np.float32)
    save("transformer_activations", x)
    save_params("transformer_params", weight=1.0 + 0.05 * rng.standard_normal(D), bias=0.02 * rng.standard_normal(D))
    return x


def tiny():
    save("tiny_2x3", np.array([[0.5, -1.25, 2.0], [3.0, 0.0, -0.75]], dtype=np.float32))


def constant_channel():
    """4 x 6 x 5 x 5 with channel 2 constant at 1.5 (a dead filter that only outputs its bias)."""
    x = rng.standard_normal((4, 6, 5, 5)) * 0.8 + 0.2
    x[:, 2] = 1.5
    save("constant_channel", x.astype(np.float32))


if __name__ == "__main__":
    torch.set_num_threads(1)
    conv_activations()
    transformer_activations()
    tiny()
    constant_channel()
    # sanity: the files read back bit-exactly
    for name in ("conv_activations", "transformer_activations", "tiny_2x3", "constant_channel"):
        a = np.load(os.path.join(HERE, f"{name}.npy"))
        with open(os.path.join(HERE, f"{name}.json")) as f:
            j = json.load(f)
        b = np.array(j["data"], dtype=np.float64).astype(np.float32).reshape(j["shape"])
        assert a.dtype == np.float32 and np.array_equal(a.view(np.uint32), b.view(np.uint32)), name
    total = sum(os.path.getsize(os.path.join(HERE, f)) for f in os.listdir(HERE) if f.endswith((".npy", ".json")))
    print(f"wrote samples: {total} bytes")
