"""NormScope for Jupyter: show a tensor (and optionally a normalization of it) as a notebook output.

    import normscope
    normscope.show(x)                              # statistics and a histogram
    normscope.show(x, "group", groups=8)           # GroupNorm: before/after per channel and per group
    normscope.show(x, "batch", mode="eval", running_mean=rm, running_var=rv, name="conv1")

In VS Code with the NormScope extension the output renders as charts (MIME type
application/vnd.normscope.tensor+json); other Jupyter frontends show the text/plain fallback (shape, dtype,
mean, std, min, max). Needs numpy only; torch tensors are accepted when torch is installed (ml_dtypes'
bfloat16 arrays too).

Outputs are saved in the .ipynb, so a payload is capped at 16 MB (max_bytes= raises the cap). Above the cap,
show() raises ValueError saying so; pass sample=N to store a seeded random sample of N entries along the first
axis (N elements of a 1-d tensor) instead - never done silently.

The payload: {"shape": [...], "dtype": "float32", "data": "<base64 of little-endian C-order bytes>",
"name"?: "...", "norm"?: {"op": ..., <parameters>}}; tensor parameters are {shape, dtype, data} objects too.
"""

import base64
import json
import sys

import numpy as np

__all__ = ["show", "bundle", "payload", "summary", "MIME_TYPE", "DEFAULT_MAX_BYTES", "OPS", "PARAMETERS"]

MIME_TYPE = "application/vnd.normscope.tensor+json"
DEFAULT_MAX_BYTES = 16_000_000
OPS = ("batch", "layer", "group", "instance", "rms")
#: The engine's parameter vocabulary (the same names as the CLI's flags, in snake_case).
PARAMETERS = ("groups", "normalized_shape", "eps", "momentum", "num_batches_tracked", "mode", "unbatched", "layout",
              "weight", "bias", "running_mean", "running_var")
_TENSOR_PARAMETERS = ("weight", "bias", "running_mean", "running_var")
_DTYPES = {
    "bool": "bool", "int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
    "uint8": "uint8", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64",
    "float16": "float16", "float32": "float32", "float64": "float64",
}


def _c_order(a):
    """a in C order (np.ascontiguousarray would turn a 0-d array into a 1-d one)."""
    return a if a.flags.c_contiguous else a.copy(order="C")


def _torch():
    return sys.modules.get("torch")


def _as_array(x, what="x"):
    """(array in C order and little-endian, dtype name); bfloat16 comes back as its uint16 bit patterns."""
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        if t.dtype == torch.bfloat16:
            return _c_order(t.contiguous().view(torch.int16).numpy().view(np.uint16)), "bfloat16"
        if t.is_complex():
            raise TypeError(f"normscope: {what} is a complex tensor ({t.dtype}); NormScope reads real numbers only")
        x = t.numpy()
    a = np.asarray(x)
    if a.dtype.name == "bfloat16":  # ml_dtypes
        return _c_order(a).view(np.uint16), "bfloat16"
    name = _DTYPES.get(a.dtype.name)
    if name is None:
        raise TypeError(f"normscope: {what} has dtype {a.dtype}, which NormScope does not read "
                        f"(supported: {', '.join(_DTYPES)}, bfloat16)")
    a = _c_order(a)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return a, name


def _values(a, dtype):
    """float64 values of the stored array (bfloat16 bit patterns decoded)."""
    if dtype == "bfloat16":
        return (a.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return a.astype(np.float64)


def _encoded_size(nbytes):
    return 4 * ((nbytes + 2) // 3)


def _tensor_json(a, dtype):
    return {"shape": list(a.shape), "dtype": dtype, "data": base64.b64encode(a.tobytes()).decode("ascii")}


def _sample(a, n):
    """A seeded random sample of n entries along axis 0 (elements when 1-d), kept in order."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"normscope: sample= must be a positive integer, got {n!r}")
    if a.ndim == 0:
        raise ValueError("normscope: sample= needs a tensor with at least one dimension")
    if n >= a.shape[0]:
        return a, None
    keep = np.sort(np.random.default_rng(0).choice(a.shape[0], size=int(n), replace=False))
    axis = "elements" if a.ndim == 1 else "entries along axis 0"
    return _c_order(a[keep]), f"sample of {n} of {a.shape[0]} {axis}"


def _mb(n):
    return f"{n / 1e6:.1f} MB"


def payload(x, op=None, *, name=None, max_bytes=DEFAULT_MAX_BYTES, sample=None, **params):
    """The MIME payload (a dict) for x and optionally a normalization op with parameters."""
    if op is not None and op not in OPS:
        raise ValueError(f"normscope: op must be one of {', '.join(OPS)} (or None), got {op!r}")
    unknown = [k for k in params if k not in PARAMETERS]
    if unknown:
        raise TypeError(f"normscope: unknown parameter {unknown[0]!r} (NormScope parameters: {', '.join(PARAMETERS)})")
    if op is None and params:
        raise TypeError(f"normscope: parameters ({', '.join(params)}) need an op: one of {', '.join(OPS)}")
    a, dtype = _as_array(x)
    note = None
    if sample is not None:
        a, note = _sample(a, sample)
    norm = None
    extra = 0
    if op is not None:
        norm = {"op": op}
        for k, v in params.items():
            if v is None and k != "momentum":
                continue
            if k in _TENSOR_PARAMETERS:
                pa, pd = _as_array(v, k)
                norm[k] = _tensor_json(pa, pd)
                extra += len(norm[k]["data"])
            elif k == "normalized_shape":
                norm[k] = [int(d) for d in (v if isinstance(v, (list, tuple)) else [v])]
            elif k in ("groups", "num_batches_tracked"):
                norm[k] = int(v)
            elif k in ("eps", "momentum"):
                norm[k] = None if v is None else float(v)
            else:
                norm[k] = v
    size = _encoded_size(a.nbytes) + extra
    if size > max_bytes:
        rows = a.shape[0] if a.ndim else 1
        per_row = size / max(rows, 1)
        fit = int(max_bytes // per_row) if per_row else 0
        hint = (f"or sample=N to store N of the {rows} {'elements' if a.ndim == 1 else 'entries along axis 0'}"
                + (f" (N <= {fit} fits)" if fit >= 1 else " (even one is too large: slice it, e.g. x[..., ::2, ::2])"))
        raise ValueError(f"normscope: the payload would be {_mb(size)}, over the {_mb(max_bytes)} cap "
                         f"(outputs are saved in the notebook): pass max_bytes={size} to store it all, {hint}")
    p = _tensor_json(a, dtype)
    label = name
    if note:
        label = f"{label} ({note})" if label else note
    if label is not None:
        p["name"] = str(label)
    if norm is not None:
        p["norm"] = norm
    return p


def summary(x, name=None):
    """The text/plain fallback: shape, dtype, mean, std (population), min, max; NaN/Inf counts when present."""
    a, dtype = _as_array(x)
    v = _values(a, dtype).ravel()
    finite = v[np.isfinite(v)]
    shape = "(" + ", ".join(str(d) for d in a.shape) + ("," if a.ndim == 1 else "") + ")"
    head = f"NormScope tensor{f' {name!r}' if name else ''}: shape {shape} {dtype}"
    if finite.size == 0:
        stats = "no finite values"
    else:
        stats = (f"mean {finite.mean():.6g} std {finite.std():.6g} "
                 f"min {finite.min():.6g} max {finite.max():.6g}")
    nan = int(np.isnan(v).sum())
    inf = int(np.isinf(v).sum())
    extra = f" NaN {nan} Inf {inf}" if nan or inf else ""
    return f"{head} · {stats}{extra}"


def bundle(x, op=None, *, name=None, max_bytes=DEFAULT_MAX_BYTES, sample=None, **params):
    """The MIME bundle show() displays: {MIME_TYPE: payload, "text/plain": summary}."""
    p = payload(x, op, name=name, max_bytes=max_bytes, sample=sample, **params)
    text = summary(x, name)
    if op is not None:
        text += f" · {op} norm"
    if "name" in p and p["name"] != name:
        text += f" · payload: {p['name']}"
    return {MIME_TYPE: p, "text/plain": text}


def show(x, op=None, *, name=None, max_bytes=DEFAULT_MAX_BYTES, sample=None, **params):
    """Displays x as a NormScope output (with the op's before/after when op is given) in Jupyter.

    op: None, "batch", "layer", "group", "instance" or "rms"; params: the engine's parameters (groups,
    normalized_shape, eps, momentum, num_batches_tracked, mode, unbatched, layout, weight, bias, running_mean,
    running_var), PyTorch's defaults when absent. max_bytes: the payload cap (default 16 MB). sample: store a
    seeded random sample of that many entries along axis 0 instead of the whole tensor.
    """
    from IPython.display import display
    display(bundle(x, op, name=name, max_bytes=max_bytes, sample=sample, **params), raw=True)


if __name__ == "__main__":  # python3 normscope.py file.npy [op]: print the bundle (for tests and debugging)
    arr = np.load(sys.argv[1])
    json.dump(bundle(arr, sys.argv[2] if len(sys.argv) > 2 else None), sys.stdout)
    sys.stdout.write("\n")
