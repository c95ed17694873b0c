"""Times torch on the benchmark cases (JSON on stdin) with N threads; prints {label|shape: [median_ms, median
CPU ms of the process per call]} as JSON (CPU time leaves out waiting for a core on a loaded machine).

Run by bench/run.mjs with Debian's /usr/bin/python3 (torch 1.13). RMSNorm, which torch 1.13 lacks, is timed as
x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w (normalized over the last dim).
"""
import json
import sys
import time

import torch
import torch.nn.functional as F


def median_ms(fn, min_runs=15, min_s=0.6):
    fn()
    fn()
    times = []
    cpus = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_s:
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
        if len(times) >= 200:
            break
    times.sort()
    cpus.sort()
    return [times[len(times) // 2], cpus[len(cpus) // 2]]


def main():
    threads = int(sys.argv[1])
    torch.set_num_threads(threads)
    cases = json.load(sys.stdin)
    out = {}
    inputs = {}
    with torch.no_grad():
        for c in cases:
            shape = tuple(c["shape"])
            if shape not in inputs:
                torch.manual_seed(42)
                inputs[shape] = torch.randn(shape, dtype=torch.float32)
            x = inputs[shape]
            C = shape[1]
            op = c["op"]
            if op == "copy":
                dst = torch.empty_like(x)
                fn = lambda: dst.copy_(x)
            elif op == "batch":
                rm = torch.full((C,), 0.1)
                rv = torch.full((C,), 1.5)
                train = c.get("mode") == "train"
                fn = lambda: F.batch_norm(x, rm, rv, training=train, momentum=0.1, eps=1e-5)
            elif op == "layer":
                ns = tuple(c["normalized_shape"])
                fn = lambda: F.layer_norm(x, ns, eps=1e-5)
            elif op == "group":
                g = c["groups"]
                fn = lambda: F.group_norm(x, g, eps=1e-5)
            elif op == "instance":
                fn = lambda: F.instance_norm(x, eps=1e-5)
            elif op == "rms":
                w = torch.ones(shape[-1])
                eps = torch.finfo(torch.float32).eps
                fn = lambda: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
            else:
                raise ValueError(op)
            out[c["label"] + "|" + "x".join(map(str, shape))] = median_ms(fn)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
