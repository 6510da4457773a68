#!/usr/bin/env python3
"""A real client of libllmcore's optimizer C ABI: a PyTorch training loop that steps its model's
own parameter buffers with our optimizers through ctypes (llmc_optimizer_new / _step /
_state_bytes / _param_state / _free), as an existing training engine would.

The model is a 2-layer MLP, Linear(32, 128) -> GELU -> Linear(128, 16), float32 on the CPU,
trained for 200 steps on a deterministic synthetic regression: a fixed teacher
y = tanh(x A) B + 0.1 sin(3 x C) with A, B, C and 4096 inputs x drawn from torch.Generator seeded
1234, mean squared error, batches of 128 taken in an order fixed by the same generator. Every
run starts from the same initial weights (torch.manual_seed(0)) and sees the same batches; the
forward and backward passes are torch's, only the update differs. Each Linear's weight (out x in,
row-major, contiguous) is declared to the library as a matrix, each bias as a vector; each step
passes weight.data_ptr() / weight.grad.data_ptr() (float32, contiguous, 4-byte aligned: checked)
and the library updates the tensors' memory in place.

Runs (lr 1e-3 throughout, weight decay 0.01):
  (a) torch.optim.AdamW(foreach=False) against our AdamW through ctypes: the loss must agree
      step by step to 1e-5 relative (asserted);
  (b) our Adapprox through ctypes, with the first moment (beta1 0.9) and without it: the final
      loss must be within ADAPPROX_FACTOR (2x) of torch AdamW's (asserted);
  and, for the table only, our Adafactor (with its first moment) and CAME at the same lr.
Prints a table of final losses and optimizer state bytes (llmc_optimizer_state_bytes, against
AdamW's 8 bytes per parameter) and writes it to bench/optim/ctypes_client.txt.

Build the library, then run:

  cargo build --release -p llmcore-ffi
  /tmp/optim-venv/bin/python scripts/optim_ctypes_client.py \\
      [--lib ${CARGO_TARGET_DIR:-target}/release/libllmcore.so] [--out bench/optim/ctypes_client.txt]

The library's path comes from --lib, else $LLMCORE_LIB, else
${CARGO_TARGET_DIR:-target}/release/libllmcore.so. The venv needs torch and numpy only
(python3 -m venv /tmp/optim-venv && /tmp/optim-venv/bin/pip install torch numpy). CI does not
run this script.
"""

import argparse
import ctypes
import os
import platform
import sys
from ctypes import POINTER, c_bool, c_char_p, c_double, c_int32, c_size_t, c_uint32, c_uint64
from ctypes import c_void_p

import torch

STEPS = 200
LR = 1e-3
WEIGHT_DECAY = 0.01
BATCH = 128
D_IN, D_HIDDEN, D_OUT = 32, 128, 16
ADAMW_RTOL = 1e-5
ADAPPROX_FACTOR = 2.0

LLMC_OK = 0
KINDS = {"adamw": 0, "adafactor": 1, "came": 2, "adapprox": 3}


class OptimizerParams(ctypes.Structure):
    """llmc_optimizer_params, field for field."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("kind", c_uint32),
        ("lr", c_double),
        ("beta1", c_double),
        ("beta2", c_double),
        ("beta3", c_double),
        ("eps", c_double),
        ("eps2", c_double),
        ("clip", c_double),
        ("weight_decay", c_double),
        ("decay_rate", c_double),
        ("first_moment", c_bool),
        ("scale_parameter", c_bool),
        ("relative_step", c_bool),
        ("warmup_init", c_bool),
        ("rank_min", c_uint32),
        ("rank_max", c_uint32),
        ("oversample", c_uint32),
        ("power_iters", c_uint32),
        ("error_target", c_double),
        ("guidance", c_bool),
        ("seed", c_uint64),
    ]


class ParamShape(ctypes.Structure):
    """llmc_param_shape."""

    _fields_ = [("name", c_char_p), ("ndim", c_size_t), ("dims", c_size_t * 2)]


class ParamState(ctypes.Structure):
    """llmc_param_state."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("bytes", c_size_t),
        ("rank", c_uint32),
        ("error", c_double),
    ]


def load_library(path):
    lib = ctypes.CDLL(path)
    lib.llmc_version.restype = c_char_p
    lib.llmc_last_error_message.argtypes = [ctypes.c_char_p, c_size_t]
    lib.llmc_last_error_message.restype = c_size_t
    lib.llmc_optimizer_default_params.argtypes = [c_uint32]
    lib.llmc_optimizer_default_params.restype = OptimizerParams
    lib.llmc_optimizer_new.argtypes = [
        POINTER(OptimizerParams),
        POINTER(ParamShape),
        c_size_t,
        POINTER(c_void_p),
    ]
    lib.llmc_optimizer_step.argtypes = [c_void_p, POINTER(c_void_p), POINTER(c_void_p), c_size_t]
    lib.llmc_optimizer_state_bytes.argtypes = [c_void_p, POINTER(c_size_t), POINTER(c_size_t)]
    lib.llmc_optimizer_param_state.argtypes = [c_void_p, c_size_t, POINTER(ParamState)]
    lib.llmc_optimizer_free.argtypes = [c_void_p]
    lib.llmc_optimizer_free.restype = None
    for f in ("new", "step", "state_bytes", "param_state"):
        getattr(lib, "llmc_optimizer_" + f).restype = c_int32
    if ctypes.sizeof(OptimizerParams) != lib.llmc_optimizer_default_params(0).struct_size:
        sys.exit("llmc_optimizer_params: this script's layout differs from the library's")
    return lib


class LlmcError(RuntimeError):
    pass


class Optimizer:
    """One llmc_optimizer over a torch model's parameters (weights as matrices, biases as
    vectors), stepping their memory in place."""

    def __init__(self, lib, kind, named_params, **fields):
        self.lib = lib
        self.params = [p for _, p in named_params]
        params = lib.llmc_optimizer_default_params(KINDS[kind])
        for k, v in fields.items():
            setattr(params, k, v)
        self._names = [n.encode() for n, _ in named_params]
        shapes = (ParamShape * len(named_params))()
        for s, name, (_, p) in zip(shapes, self._names, named_params):
            assert p.dtype == torch.float32 and p.is_contiguous() and p.dim() in (1, 2)
            s.name, s.ndim = name, p.dim()
            s.dims[0] = p.shape[0]
            s.dims[1] = p.shape[1] if p.dim() == 2 else 0
        self.handle = c_void_p()
        self._check(
            lib.llmc_optimizer_new(ctypes.byref(params), shapes, len(shapes), ctypes.byref(self.handle))
        )

    def _check(self, status):
        if status != LLMC_OK:
            buf = ctypes.create_string_buffer(4096)
            self.lib.llmc_last_error_message(buf, len(buf))
            raise LlmcError(f"status {status}: {buf.value.decode()}")

    def step(self):
        n = len(self.params)
        for p in self.params:
            g = p.grad
            assert g is not None and g.dtype == torch.float32 and g.is_contiguous()
            assert g.shape == p.shape and p.data_ptr() % 4 == 0 and g.data_ptr() % 4 == 0
        ps = (c_void_p * n)(*[p.data_ptr() for p in self.params])
        gs = (c_void_p * n)(*[p.grad.data_ptr() for p in self.params])
        self._check(self.lib.llmc_optimizer_step(self.handle, ps, gs, n))

    def state_bytes(self):
        total, scratch = c_size_t(), c_size_t()
        self._check(
            self.lib.llmc_optimizer_state_bytes(self.handle, ctypes.byref(total), ctypes.byref(scratch))
        )
        return total.value, scratch.value

    def param_state(self, i):
        s = ParamState(struct_size=ctypes.sizeof(ParamState))
        self._check(self.lib.llmc_optimizer_param_state(self.handle, i, ctypes.byref(s)))
        return s

    def close(self):
        if self.handle:
            self.lib.llmc_optimizer_free(self.handle)
            self.handle = c_void_p()


def make_task():
    g = torch.Generator().manual_seed(1234)
    a = torch.randn(D_IN, D_HIDDEN, generator=g) / D_IN**0.5
    b = torch.randn(D_HIDDEN, D_OUT, generator=g) / D_HIDDEN**0.5
    c = torch.randn(D_IN, D_OUT, generator=g) / D_IN**0.5
    x = torch.randn(4096, D_IN, generator=g)
    y = torch.tanh(x @ a) @ b + 0.1 * torch.sin(3 * (x @ c))
    order = [torch.randint(0, x.shape[0], (BATCH,), generator=g) for _ in range(STEPS)]
    return x, y, order


def make_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(D_IN, D_HIDDEN), torch.nn.GELU(), torch.nn.Linear(D_HIDDEN, D_OUT)
    )


def train(task, step_fn_factory):
    """Losses of STEPS steps (each before its update) and the optimizer object."""
    x, y, order = task
    model = make_model()
    opt = step_fn_factory(model)
    losses = []
    for idx in order:
        for p in model.parameters():
            p.grad = None
        loss = torch.nn.functional.mse_loss(model(x[idx]), y[idx])
        loss.backward()
        losses.append(loss.item())
        opt.step()
    with torch.no_grad():
        full = torch.nn.functional.mse_loss(model(x), y).item()
    return losses, full, opt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    ap.add_argument(
        "--lib",
        default=os.environ.get("LLMCORE_LIB", os.path.join(target, "release", "libllmcore.so")),
    )
    ap.add_argument("--out", default=os.path.join("bench", "optim", "ctypes_client.txt"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    lib = load_library(args.lib)
    task = make_task()
    n_values = sum(p.numel() for p in make_model().parameters())
    lines = []

    def say(s=""):
        print(s)
        lines.append(s)

    say(f"libllmcore {lib.llmc_version().decode()} ({args.lib}) through ctypes; torch "
        f"{torch.__version__}, Python {platform.python_version()}, 1 torch thread")
    say(f"MLP {D_IN}-{D_HIDDEN}-{D_OUT} (GELU), {n_values} parameters; MSE on a fixed teacher, "
        f"{STEPS} steps of {BATCH}; lr {LR}, weight decay {WEIGHT_DECAY}")
    say()

    rows = []
    # (a) torch's AdamW and ours.
    torch_losses, torch_full, _ = train(
        task,
        lambda m: torch.optim.AdamW(m.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8,
                                    weight_decay=WEIGHT_DECAY, foreach=False),
    )
    rows.append(("torch.optim.AdamW", torch_losses, torch_full, 8 * n_values, 0, ""))

    def ours(kind, **fields):
        made = []

        def factory(model):
            named = list(model.named_parameters())
            opt = Optimizer(lib, kind, named, lr=LR, weight_decay=WEIGHT_DECAY, **fields)
            made.append(opt)
            return opt

        losses, full, opt = train(task, factory)
        total, scratch = opt.state_bytes()
        extra = ""
        if kind == "adapprox":
            s = [opt.param_state(i) for i in (0, 2)]
            extra = "; ".join(f"{n} rank {x.rank}, err {x.error:.3f}" for n, x in
                              zip(("0.weight", "2.weight"), s))
        opt.close()
        return losses, full, total, scratch, extra

    l, f, t, s, e = ours("adamw")
    rows.append(("llmcore AdamW (ctypes)", l, f, t, s, e))
    rel = max(abs(a - b) / abs(a) for a, b in zip(torch_losses, l))
    say(f"(a) AdamW: torch vs llmcore through ctypes, max relative loss difference over "
        f"{STEPS} steps: {rel:.2e} (bound {ADAMW_RTOL:g})")
    assert rel <= ADAMW_RTOL, f"AdamW losses differ by {rel:.3e} relative"

    for label, fields in [
        ("llmcore Adapprox, beta1 0.9", dict(first_moment=True, beta1=0.9)),
        ("llmcore Adapprox, no beta1", dict(first_moment=False)),
    ]:
        l, f, t, s, e = ours("adapprox", **fields)
        rows.append((label, l, f, t, s, e))
        ratio = l[-1] / torch_losses[-1]
        say(f"(b) {label}: final loss {l[-1]:.4g} = {ratio:.2f}x torch AdamW's "
            f"(bound {ADAPPROX_FACTOR:g}x)")
        assert ratio <= ADAPPROX_FACTOR, f"{label}: final loss {ratio:.2f}x AdamW's"
        assert l[-1] < l[0] / 5, f"{label}: loss did not fall ({l[0]} -> {l[-1]})"
    for label, kind, fields in [
        ("llmcore Adafactor, beta1 0.9", "adafactor", dict(first_moment=True, beta1=0.9)),
        ("llmcore CAME", "came", {}),
    ]:
        l, f, t, s, e = ours(kind, **fields)
        rows.append((label, l, f, t, s, e))

    say()
    say(f"{'optimizer':<30} {'loss@1':>8} {'loss@200':>9} {'full-set':>9} {'state B':>8} "
        f"{'B/param':>7} {'scratch B':>9}  factors")
    for label, losses, full, total, scratch, extra in rows:
        say(f"{label:<30} {losses[0]:>8.4f} {losses[-1]:>9.5f} {full:>9.5f} {total:>8} "
            f"{total / n_values:>7.2f} {scratch:>9}  {extra}")
    say()
    say("state B: persistent optimizer state after the last step (llmc_optimizer_state_bytes; "
        "torch AdamW: 8 bytes per parameter); scratch B: the largest per-parameter step scratch; "
        "full-set: MSE over all 4096 inputs after training.")

    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
