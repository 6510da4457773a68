#!/usr/bin/env python3
"""llama.cpp's vocabulary facts for each model: the reference of tests/vocab_reference.rs.

  scripts/vocab_reference.py [smollm2|qwen05 ...]      (default: both)

Needs scripts/build-llama-cpp.sh and `scripts/build-llama-cpp.sh --install-python` (the
llama.cpp of llama-cpp-python 0.3.16) and scripts/fetch-assets.sh (the models).

Writes tests/data/reference/vocab_<model>.json with what llama.cpp's API says of the model
(vocab_only load): llama_vocab_bos / eos / eot / pad, llama_vocab_get_add_bos, every token for
which llama_vocab_is_eog holds, llama_vocab_get_attr of every token whose attribute is not
plain NORMAL (llama.cpp's bit flags: 1 unknown, 2 unused, 4 normal, 8 control, 16
user-defined, 32 byte), llama_model_n_params and llama_model_size, and for one ChatML exchange
(special tokens parsed) its token ids and llama_detokenize's text with and without
unparse_special (control tokens rendered or dropped).
"""

import ctypes
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llamacpp_env import (  # noqa: E402
    REPO,
    import_llama_cpp,
    llama_cpp_commit,
    model_path,
    run_for_models,
    sha256_file,
)

OUT = os.path.join(REPO, "tests", "data", "reference")
CHAT = (
    "<|im_start|>user\nName a <tool_call> colour.<|im_end|>\n"
    "<|im_start|>assistant\nBlue.<|im_end|><|endoftext|>"
)


def detokenize(llama_cpp, vocab, ids, unparse_special):
    arr = (llama_cpp.llama_token * len(ids))(*ids)
    buf = ctypes.create_string_buffer(1 << 16)
    n = llama_cpp.llama_detokenize(vocab, arr, len(ids), buf, len(buf), False, unparse_special)
    if n < 0:
        raise SystemExit("llama_detokenize: buffer too small")
    return buf.raw[:n].decode("utf-8")


def run(key):
    llama_cpp = import_llama_cpp()
    path = model_path(key)
    llm = llama_cpp.Llama(path, vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    n = llama_cpp.llama_vocab_n_tokens(vocab)
    attrs = {}
    for i in range(n):
        a = llama_cpp.llama_vocab_get_attr(vocab, i)
        if a != 4:
            attrs[str(i)] = a
    ids = llm.tokenize(CHAT.encode(), add_bos=False, special=True)
    out = dict(
        tool=f"llama-cpp-python {llama_cpp.__version__} (llama.cpp {llama_cpp_commit()})",
        model=os.path.basename(path),
        model_sha256=sha256_file(path),
        n_tokens=n,
        bos=llama_cpp.llama_vocab_bos(vocab),
        eos=llama_cpp.llama_vocab_eos(vocab),
        eot=llama_cpp.llama_vocab_eot(vocab),
        pad=llama_cpp.llama_vocab_pad(vocab),
        add_bos=bool(llama_cpp.llama_vocab_get_add_bos(vocab)),
        eog=[i for i in range(n) if llama_cpp.llama_vocab_is_eog(vocab, i)],
        attrs=attrs,
        n_params=llama_cpp.llama_model_n_params(llm.model),
        size=llama_cpp.llama_model_size(llm.model),
        chat=CHAT,
        chat_ids=ids,
        chat_with_add_special=llm.tokenize(CHAT.encode(), add_bos=True, special=True),
        detokenized_with_control=detokenize(llama_cpp, vocab, ids, True),
        detokenized_without_control=detokenize(llama_cpp, vocab, ids, False),
    )
    with open(os.path.join(OUT, f"vocab_{key}.json"), "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(key, {k: out[k] for k in ("bos", "eos", "eot", "pad", "eog", "n_params", "size")})


if __name__ == "__main__":
    run_for_models(sys.argv, run, OUT)
