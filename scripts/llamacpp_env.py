"""Shared helpers of the reference scripts: where the models and the llama.cpp build are, and
llama.cpp's tokenizer through llama-cpp-python's API.

The llama.cpp build comes from scripts/build-llama-cpp.sh; the Python package from
`scripts/build-llama-cpp.sh --install-python` (llama-cpp-python 0.3.16 without its own
compile, loading libllama.so from the build through LLAMA_CPP_LIB_PATH).
"""

import hashlib
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLAMA_CPP_PYTHON_VERSION = "0.3.16"

MODELS = {
    "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "qwen05": "Qwen2.5-Coder-0.5B-Instruct.gguf",
}


def assets_dir():
    """`LLMCORE_ASSETS` if set, else `<repo>/assets` (the same rule as the Rust tests)."""
    return os.environ.get("LLMCORE_ASSETS") or os.path.join(REPO, "assets")


def model_path(key):
    return os.path.join(assets_dir(), "models", MODELS[key])


def build_dir():
    out = subprocess.run(
        [os.path.join(REPO, "scripts", "build-llama-cpp.sh"), "--print-dir"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def llama_cpp_commit():
    """The llama.cpp commit that the sdist vendors (it ships the submodule's git metadata)."""
    src = os.path.join(os.path.dirname(build_dir()), "src", "vendor", "llama.cpp")
    out = subprocess.run(["git", "-C", src, "rev-parse", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def tool(name):
    path = os.path.join(build_dir(), "bin", name)
    if not os.access(path, os.X_OK):
        raise SystemExit(f"{path} missing: run scripts/build-llama-cpp.sh")
    return path


def import_llama_cpp():
    """Import llama_cpp with its ctypes loader pointed at our build's shared libraries."""
    os.environ.setdefault("LLAMA_CPP_LIB_PATH", os.path.join(build_dir(), "bin"))
    try:
        import llama_cpp
    except ImportError as e:
        raise SystemExit(f"llama_cpp not importable ({e}): run scripts/build-llama-cpp.sh --install-python")
    if llama_cpp.__version__ != LLAMA_CPP_PYTHON_VERSION:
        raise SystemExit(f"llama_cpp {llama_cpp.__version__} installed, the references use {LLAMA_CPP_PYTHON_VERSION}")
    return llama_cpp


_VOCABS = {}


def tokenize(key, text):
    """llama.cpp's token ids for `text` (UTF-8), without BOS (both models: add_bos_token=false)
    and without parsing special tokens, as llama-perplexity and llama-tokenize do by default."""
    if key not in _VOCABS:
        llama_cpp = import_llama_cpp()
        _VOCABS[key] = llama_cpp.Llama(model_path(key), vocab_only=True, verbose=False)
    return _VOCABS[key].tokenize(text.encode("utf-8"), add_bos=False, special=False)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_for_models(argv, run, out_dir):
    """Calls `run(key)` for each model key named in argv[1:] (all of MODELS when none), after
    creating `out_dir`; an unknown key stops with the list of known ones."""
    keys = argv[1:] or list(MODELS)
    for key in keys:
        if key not in MODELS:
            raise SystemExit(f"unknown model {key!r}; one of {list(MODELS)}")
    os.makedirs(out_dir, exist_ok=True)
    for key in keys:
        run(key)
