#!/usr/bin/env python3
"""Prune a model on a Ray cluster: one Ray task per range of decoder layers, then one merge.

Each task runs `llmcore prune ... --mode dense-input --layers A..B --shard-out DIR` (in
dense-input mode every layer sees the dense model's inputs, so ranges are independent); the
driver then runs `llmcore prune merge DIR --model M --out OUT`. The merged model is
bit-identical to a single-process `llmcore prune ... --out OUT` with the same flags.

The model, the calibration source and DIR must be reachable at the same paths from every
worker (a shared filesystem); `llmcore` must be on each worker's PATH or given by --llmcore.

Example (a local cluster of 2 workers):
    ray start --head --num-cpus 2
    python3 scripts/prune_ray.py --address auto --ranges 2 --model M --out pruned.gguf -- \\
        --method fista --nm 2:4 --calib file:calib.txt --nsamples 64 --seqlen 512
    ray stop
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import ray


def layer_ranges(n_layer, parts):
    """`parts` contiguous ranges covering 0..n_layer, sizes differing by at most one."""
    base, extra = divmod(n_layer, parts)
    out, start = [], 0
    for i in range(parts):
        end = start + base + (1 if i < extra else 0)
        out.append((start, end))
        start = end
    return out


def n_layers(llmcore, model):
    import json

    info = subprocess.run([llmcore, "info", model, "--json"], check=True, capture_output=True, text=True)
    return json.loads(info.stdout)["n_layer"]


@ray.remote
def prune_range(llmcore, model, start, end, shard_dir, flags, threads):
    cmd = [llmcore, "prune", "--model", model, "--mode", "dense-input", "--layers", f"{start}..{end}",
           "--shard-out", shard_dir, "--threads", str(threads), "--json", *flags]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"layers {start}..{end}: {' '.join(cmd)}\n{done.stderr}")
    return done.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--address", default=None, help="Ray cluster address (default: start a local one)")
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ranges", type=int, default=2, help="number of layer ranges (Ray tasks)")
    ap.add_argument("--threads", type=int, default=1, help="threads per task (and CPUs it reserves)")
    ap.add_argument("--shard-dir", default=None, help="shared directory for shards (default: a temp dir)")
    ap.add_argument("--format", default="f16")
    ap.add_argument("--llmcore", default=shutil.which("llmcore") or "llmcore")
    ap.add_argument("flags", nargs=argparse.REMAINDER, help="-- then the llmcore prune flags")
    a = ap.parse_args()
    flags = a.flags[1:] if a.flags[:1] == ["--"] else a.flags
    if os.path.exists(a.out):
        sys.exit(f"{a.out} exists")
    model = os.path.abspath(a.model)
    shard_dir = a.shard_dir or tempfile.mkdtemp(prefix="llmcore-shards-")
    ray.init(address=a.address)
    ranges = layer_ranges(n_layers(a.llmcore, model), a.ranges)
    tasks = [prune_range.options(num_cpus=a.threads).remote(a.llmcore, model, s, e, shard_dir, flags, a.threads)
             for s, e in ranges]
    for (s, e), out in zip(ranges, ray.get(tasks)):
        print(f"layers {s}..{e}: {out.strip()[:200]}", file=sys.stderr)
    subprocess.run([a.llmcore, "prune", "merge", shard_dir, "--model", model, "--out", a.out,
                    "--format", a.format], check=True)
    print(a.out)


if __name__ == "__main__":
    main()
