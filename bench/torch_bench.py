"""Times torch on the benchmark cases for bench/bench.ts, which runs this as a server so that torch and the
engine are timed in alternation (a slow minute on a shared machine then slows both, not one side's column).

Protocol: the first stdin line is the cases (JSON list, bench/cases.ts); then each line "INDEX THREADS" times case
INDEX with torch.set_num_threads(THREADS) and answers one line [median_ms, median_cpu_ms] (CPU time of the process
per call: it leaves out waiting for a core on a loaded machine). Run with Debian's /usr/bin/python3 (torch 1.13).
RMSNorm, which torch 1.13 lacks, is timed as x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
(normalized over the last dim).
"""
import json
import sys
import time

import torch
import torch.nn.functional as F


def median_ms(fn, min_runs, min_s):
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


def case_fn(c, inputs):
    shape = tuple(c["shape"])
    if shape not in inputs:
        torch.manual_seed(42)
        inputs[shape] = torch.randn(shape, dtype=torch.float32)
    x = inputs[shape]
    C = shape[1]
    op = c["op"]
    if op == "copy":
        dst = torch.empty_like(x)
        return lambda: dst.copy_(x)
    if op == "batch":
        rm = torch.full((C,), 0.1)
        rv = torch.full((C,), 1.5)
        train = c.get("mode") == "train"
        return lambda: F.batch_norm(x, rm, rv, training=train, momentum=0.1, eps=1e-5)
    if op == "layer":
        ns = tuple(c["normalized_shape"])
        return lambda: F.layer_norm(x, ns, eps=1e-5)
    if op == "group":
        g = c["groups"]
        return lambda: F.group_norm(x, g, eps=1e-5)
    if op == "instance":
        return lambda: F.instance_norm(x, eps=1e-5)
    if op == "rms":
        w = torch.ones(shape[-1])
        eps = torch.finfo(torch.float32).eps
        return lambda: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
    raise ValueError(op)


def main():
    cases = json.loads(sys.stdin.readline())
    inputs = {}
    fns = {}
    with torch.no_grad():
        for line in sys.stdin:
            index, threads, min_runs, min_ms = (int(v) for v in line.split())
            torch.set_num_threads(threads)
            if index not in fns:
                fns[index] = case_fn(cases[index], inputs)
            print(json.dumps(median_ms(fns[index], min_runs, min_ms / 1000)), flush=True)


if __name__ == "__main__":
    main()
