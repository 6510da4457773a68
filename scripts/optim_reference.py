#!/usr/bin/env python3
"""Reference trajectories of AdamW, Adafactor and CAME as their own PyTorch code computes them.

Four parameters, "w_a" (6, 10), "w_b" (12, 5), "gain" (10,) (1-D, so unfactored in Adafactor
and CAME) and "w_tall" (33, 3), start from numpy default_rng(1234): in that order,
float32(standard_normal(shape) * 0.5). The same generator then gives, for each of STEPS = 10
steps and each parameter in that order, a float32 gradient standard_normal(shape); step 4's w_b
gradient is multiplied by 1e-3 and step 7's gain gradient by 30 (float32 products), so the
scales vary. Gradients are given, not computed from a loss: each step sets p.grad to them and
calls optimizer.step(). Six runs, each from the same initial values, all float32 on the CPU
with one thread:

  adamw                     torch.optim.AdamW(lr=1e-2, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=0.1, amsgrad=False, foreach=False)
  adamw_nowd                the same with weight_decay=0
  adafactor                 transformers.optimization.Adafactor(lr=1e-2, eps=(1e-30, 1e-3),
                            clip_threshold=1.0, decay_rate=-0.8, beta1=None, weight_decay=0.0,
                            scale_parameter=False, relative_step=False, warmup_init=False)
  adafactor_beta1_wd_scale  the same with beta1=0.9, weight_decay=0.01, scale_parameter=True
  came                      came_pytorch.CAME(lr=1e-2, eps=(1e-30, 1e-16), clip_threshold=1.0,
                            betas=(0.9, 0.999, 0.9999), weight_decay=0.0)
  came_wd                   the same with weight_decay=0.01

After every step every parameter's values are recorded.

Writes tests/data/optim_reference.json (the versions, the parameters, the runs' settings and
the index of the arrays) and tests/data/optim_reference.bin (all arrays as little-endian
float32, concatenated in the JSON's order; offsets and lengths count floats). The arrays are
"init/<param>", "grad/<step>/<param>" and "<run>/<step>/<param>" (steps 1-based; values after
that step), each row-major.

Made with Python 3.11.7, torch 2.15.0+cu132 (PyPI's default wheel, run on the CPU), transformers
5.25.0, came-pytorch 0.1.3, numpy 2.4.6:

  python3 -m venv /tmp/optim-venv
  /tmp/optim-venv/bin/pip install torch numpy transformers came-pytorch
  /tmp/optim-venv/bin/python scripts/optim_reference.py [OUT_DIR]   (default tests/data)
"""

import importlib.metadata
import json
import os
import platform
import sys

import numpy as np
import torch

from came_pytorch.CAME import CAME
import transformers
from transformers.optimization import Adafactor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 10
SEED = 1234
PARAMS = [("w_a", (6, 10)), ("w_b", (12, 5)), ("gain", (10,)), ("w_tall", (33, 3))]
# (step, param) -> factor applied to that gradient (float32 product)
GRAD_SCALE = {(4, "w_b"): 1e-3, (7, "gain"): 30.0}

ADAFACTOR_BASE = {
    "lr": 1e-2, "eps": [1e-30, 1e-3], "clip_threshold": 1.0, "decay_rate": -0.8,
    "beta1": None, "weight_decay": 0.0, "scale_parameter": False, "relative_step": False,
    "warmup_init": False,
}
CAME_BASE = {
    "lr": 1e-2, "eps": [1e-30, 1e-16], "clip_threshold": 1.0, "betas": [0.9, 0.999, 0.9999],
    "weight_decay": 0.0,
}
RUNS = [
    ("adamw", "torch.optim.AdamW",
     {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1, "amsgrad": False,
      "foreach": False}),
    ("adamw_nowd", "torch.optim.AdamW",
     {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
      "foreach": False}),
    ("adafactor", "transformers.optimization.Adafactor", dict(ADAFACTOR_BASE)),
    ("adafactor_beta1_wd_scale", "transformers.optimization.Adafactor",
     dict(ADAFACTOR_BASE, beta1=0.9, weight_decay=0.01, scale_parameter=True)),
    ("came", "came_pytorch.CAME", dict(CAME_BASE)),
    ("came_wd", "came_pytorch.CAME", dict(CAME_BASE, weight_decay=0.01)),
]


def make_inputs():
    """Initial values and the gradients of every step, float32 numpy, from one generator."""
    rng = np.random.default_rng(SEED)
    init = {name: (rng.standard_normal(shape) * 0.5).astype(np.float32) for name, shape in PARAMS}
    grads = []
    for step in range(1, STEPS + 1):
        g = {}
        for name, shape in PARAMS:
            x = rng.standard_normal(shape).astype(np.float32)
            if (step, name) in GRAD_SCALE:
                x = x * np.float32(GRAD_SCALE[(step, name)])
            g[name] = x
        grads.append(g)
    return init, grads


def make_optimizer(kind, settings, params):
    s = dict(settings)
    if kind == "torch.optim.AdamW":
        s["betas"] = tuple(s["betas"])
        return torch.optim.AdamW(params, **s)
    if kind == "transformers.optimization.Adafactor":
        s["eps"] = tuple(s["eps"])
        return Adafactor(params, **s)
    if kind == "came_pytorch.CAME":
        s["eps"] = tuple(s["eps"])
        s["betas"] = tuple(s["betas"])
        return CAME(params, **s)
    raise ValueError(kind)


def run(kind, settings, init, grads):
    """The parameters' values after each step: a list over steps of {name: float32 array}."""
    params = [torch.nn.Parameter(torch.from_numpy(init[name].copy())) for name, _ in PARAMS]
    opt = make_optimizer(kind, settings, params)
    out = []
    for g in grads:
        for p, (name, _) in zip(params, PARAMS):
            p.grad = torch.from_numpy(g[name].copy())
        opt.step()
        out.append({name: p.detach().numpy().astype(np.float32, copy=True)
                    for p, (name, _) in zip(params, PARAMS)})
    return out


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "tests", "data")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)

    init, grads = make_inputs()
    arrays = []  # (name, float32 array)
    for name, _ in PARAMS:
        arrays.append((f"init/{name}", init[name]))
    for step, g in enumerate(grads, 1):
        for name, _ in PARAMS:
            arrays.append((f"grad/{step}/{name}", g[name]))
    for run_name, kind, settings in RUNS:
        for step, values in enumerate(run(kind, settings, init, grads), 1):
            for name, _ in PARAMS:
                arrays.append((f"{run_name}/{step}/{name}", values[name]))

    index, blobs, offset = [], [], 0
    for name, a in arrays:
        a = np.ascontiguousarray(a, dtype="<f4").ravel()
        if not np.all(np.isfinite(a)):
            raise SystemExit(f"{name}: non-finite values")
        index.append({"name": name, "offset": offset, "len": int(a.size)})
        blobs.append(a.tobytes())
        offset += a.size

    meta = {
        "script": "scripts/optim_reference.py",
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "came-pytorch": importlib.metadata.version("came-pytorch"),
            "numpy": np.__version__,
        },
        "dtype": "float32",
        "seed": SEED,
        "init": "numpy default_rng(seed): float32(standard_normal(shape) * 0.5) per param, in order",
        "grads": "the same generator after init: per step, per param in order, "
                 "float32(standard_normal(shape)), times the listed scale (float32)",
        "grad_scales": [{"step": s, "param": n, "scale": f} for (s, n), f in GRAD_SCALE.items()],
        "steps": STEPS,
        "params": [{"name": n, "shape": list(s)} for n, s in PARAMS],
        "runs": [{"name": n, "optimizer": k, "settings": s} for n, k, s in RUNS],
        "layout": "little-endian float32, arrays concatenated in the order of 'arrays'; "
                  "offset and len count floats; each array row-major",
        "bin": "optim_reference.bin",
        "total_floats": int(offset),
        "arrays": index,
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "optim_reference.bin"), "wb") as f:
        for b in blobs:
            f.write(b)
    # One line per array entry; everything else indented.
    arrays_json = meta.pop("arrays")
    head = json.dumps(meta, indent=1, allow_nan=False)
    lines = ",\n".join("  " + json.dumps(e, allow_nan=False) for e in arrays_json)
    with open(os.path.join(out_dir, "optim_reference.json"), "w") as f:
        f.write(head[:-2] + ',\n "arrays": [\n' + lines + "\n ]\n}\n")
    print(f"wrote {len(index)} arrays, {offset} floats to {out_dir}")


if __name__ == "__main__":
    main()
