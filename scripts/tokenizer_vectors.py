#!/usr/bin/env python3
"""Build tests/data/tokenizer/vectors.json: reference token ids for a set of test strings, for
both models, with special-token parsing on and off.

The reference is llama.cpp's own tokenizer (through llama-cpp-python, which builds llama.cpp
from source: `pip install llama-cpp-python`), loading only the vocabulary of each GGUF:
    Llama(model_path, vocab_only=True).tokenize(text.encode(), add_bos=False, special=...)
It is independent of this crate: it shares no code with core/src/tokenizer.

The strings are written for this file (or generated from small hand-written parts); none is
copied from elsewhere.

Without llama-cpp-python, the same call from a small C++ helper (LLAMA_HELPER below) built against
a llama.cpp library: --llama-include DIR (llama.h, ggml.h) --llama-lib DIR (libllama.so,
libggml*.so) [--llama-commit HASH, recorded in the fixture].

Fallback (`--hf`): Hugging Face `tokenizers` built from the GGUF vocabulary and merges with each
model's pre-tokenizer; the fixture's "reference" field says which one made it.

Usage: python3 scripts/tokenizer_vectors.py [--hf | --llama-include DIR --llama-lib DIR]
           [ASSETS_DIR] > tests/data/tokenizer/vectors.json
ASSETS_DIR defaults to $LLMCORE_ASSETS or ./assets; the GGUFs are under ASSETS_DIR/models.
"""
import json
import os
import sys

MODELS = {
    "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "qwen2.5-coder": "Qwen2.5-Coder-0.5B-Instruct.gguf",
}

PROSE = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world!",
    "Once upon a time, in a village by the sea, there lived an old clockmaker.",
    "She said, \"Don't worry; we'll be there by noon.\"",
    "It was the best of plans, it was the worst of plans.",
    "Rain fell all night, and by morning the river had risen past the old stone bridge.",
    "Tokenizers split text into pieces; models only ever see the pieces.",
    "A sentence with    four spaces inside.",
    "Trailing spaces here   ",
    "   Leading spaces here",
    "Mixed\ttabs\tand spaces \t here.",
    "Line one\nLine two\n\nLine four after a blank line.",
    "Windows line endings\r\nare not the same\r\nas Unix ones.",
    "Paragraph one.\n\n\nParagraph two, after two blank lines.\n",
    "Ellipsis... and em-dash — and en-dash – and a bullet • here.",
    "Quotes: ‘single’, “double”, «guillemets», „low-high“.",
    "e.g. i.e. etc. vs. Mr. Mrs. Dr. St. Jr.",
    "Email me at someone@example.com or visit https://example.org/path?q=1&r=two#frag.",
    "The year 1984, the number 3.14159, and the sum 2+2=4.",
    "Call 555-0123 before 9:30 a.m. on 2024-02-29.",
    "Prices: $5, €12.50, £7, ¥300, ₹99.",
    "Percentages like 12.5% and 100% are common.",
    "HTML: <div class=\"note\">Hi &amp; bye</div>",
    "Markdown **bold**, _italic_, `code`, [link](http://a.b).",
    "# Heading\n\n- item one\n- item two\n  - nested item\n",
    "| col a | col b |\n|-------|-------|\n| 1     | 2     |",
    "ALL CAPS SENTENCE WITH SHOUTING!!!",
    "camelCaseIdentifier and snake_case_identifier and kebab-case-word",
    "Unbelievably, antidisestablishmentarianism is a long word.",
    "Supercalifragilisticexpialidocious",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "The end.",
]

CONTRACTIONS = [
    "I'm", "I'M", "you're", "YOU'RE", "You'Re", "we've", "WE'VE", "it's", "IT'S", "It'S",
    "don't", "DON'T", "Don'T", "she'll", "SHE'LL", "She'Ll", "he'd", "HE'D", "they'd've",
    "'s", "'S", "'", "''", "'''", "rock 'n' roll", "the '90s", "O'Neill's", "l'amour",
    "y'all'd've", "can't won't shan't", "ma'am", "'tis", "'TIS", "goin'", "it's 'quoted' text",
]

CODE = [
    "def add(a, b):\n    return a + b\n",
    "fn main() {\n    println!(\"Hello, {}!\", name);\n}\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "if x == 1:\n\tprint('one')\nelif x >= 2:\n\tpass\n",
    "    indented with four\n        and eight\n\t\tand two tabs",
    "const f = (x) => x ** 2; // square",
    "SELECT name, COUNT(*) FROM users WHERE age > 30 GROUP BY name;",
    "#include <stdio.h>\nint main(void) { return 0; }",
    "let v: Vec<u32> = (0..10).map(|i| i * i).collect();",
    "x=[1,2,3];y={'a':1,\"b\":2}",
    "path/to/file.txt C:\\Users\\name\\file.rs ~/.config",
    "a->b; c::d; e=>f; g!=h; i<=j; k>=l; m&&n; o||p",
    "/* block comment */ /** doc */ // line",
    "    \n",
    "}\n\n\n",
    "\"\"\"docstring\"\"\"",
    "λx. x + 1",
    "0x1F 0b1010 0o777 1e-9 6.02e23 -42 +7",
    "<|im_start|>",
    "print(\"<|im_end|>\")",
]

NUMBERS = [
    "0", "7", "42", "123", "1234", "12345", "123456", "1234567", "12345678901234567890",
    "3141592653589793238462643383279502884197169399375105820974944592307816406286",
    "1,000,000", "1 000 000", "1.000.000,00", "007", "0.5", ".5", "5.", "-0", "1/2", "3:45",
    "v1.2.3", "x86_64", "2nd 3rd 4th 21st", "A1B2C3", "12ab34cd", "٣٤٥", "½ ¾ ⅓", "Ⅻ ⅻ", "①②③",
    "１２３", "x²+y³", "10⁻⁹", "9" * 40, "1 2 3 4 5 6 7 8 9 10",
]

WHITESPACE = [
    "", " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r", "\r\n", "\r\n\r\n",
    " \n", "\n ", " \n ", "\t\n", "\n\t", "a ", "a  ", "a   ", " a", "  a", "   a", "a  b", "a   b",
    "a\tb", "a\t\tb", "a\nb", "a\n\nb", "a \n b", "a\r\nb", "a \t b", "a\n  b", "a\n\n  b",
    "end\n", "end\n\n", "end \n", "end\t", " \t \n \t ", "\u00a0", "a\u00a0b", "a\u3000b",
    "\u2028", "x\u2029y", "a\u2003b", "\u000b\u000c", "a\u0085b", "\u001c\u001d", "\x00", "a\x01b",
    "\x7f", "(\x04)", "\x04\x04 x", "a\x1d\x1db", "word \n\n  next", ".\n\n", "!\n", ";\r\n", "x = 1;  \n", "  \n  \n  ",
]

ACCENTS = [
    "café", "naïve", "résumé", "Ångström", "São Paulo", "Zürich", "Kraków", "Dvořák", "Ælfred",
    "straße", "İstanbul", "ﬁ ligature", "e\u0301", "cafe\u0301", "\u0301", "\u0301\u0301",
    "a\u0300\u0301\u0302", " \u0301", "\u0308a", "n\u0303o", "Ελληνικά γράμματα", "Привет, мир!",
    "Ещё раз", "שלום עולם", "مرحبا بالعالم", "नमस्ते दुनिया", "สวัสดีครับ", "Tiếng Việt có dấu",
    "한국어 문장입니다", "ქართული", "Հայերեն", "ᚠᚢᚦᚨᚱᚲ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟏𝟐𝟑",
]

CJK = [
    "你好，世界！", "我喜欢吃苹果和香蕉。", "今天天气很好，我们去公园散步吧。", "中文123混合English",
    "机器学习模型需要大量的数据。", "「引号」和『书名号』", "一二三四五六七八九十",
    "こんにちは、世界！", "私は日本語を勉強しています。", "カタカナとひらがなと漢字", "ｶﾀｶﾅ半角",
    "東京は2024年に晴れでした。", "ラーメンを食べたい。", "第1章　はじめに",
]

EMOJI = [
    "😀", "😀😀😀", "I love 🍕!", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "❤️", "1️⃣", "🧑🏿‍💻 coding",
    "emoji😀inside", "✨ sparkles ✨", "☕ and 🍰", "🙂\n🙃", "⚠️ warning", "a👩‍🔬b",
]

SPECIAL = [
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>", "text<|endoftext|>more", "<|im_end|><|im_end|>", "<|im_start|><|im_start|>x",
    "<|im_start", "im_start|>", "<|im_start|", "<|IM_START|>", "< |im_start| >",
    "<tool_call>\n{\"name\": \"f\"}\n</tool_call>", "<tool_call>", "</tool_call>x",
    "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>", "<|file_sep|>a.py\n", "<|repo_name|>r",
    "<repo_name>repo<file_sep>a.py", "<filename>x<gh_stars>10", "<jupyter_code>print(1)",
    "<issue_start>Bug<issue_comment>ok<issue_closed>", "<empty_output>", "<|vision_start|>",
    "[PAD151665]", "<|box_start|>(1,2)<|box_end|>", "<|endoftext|> <|endoftext|>",
    " <|im_end|>", "<|im_end|> ", "\n<|im_start|>\n", "<<|im_end|>>", "<|im_start|>😀<|im_end|>",
]

MIXED = [
    "The cat's toy costs $3.99 (tax incl.) — café au lait at 08:15!",
    "Résumé: 5 yrs @ ACME Corp., 2019–2024; skills: C++, Rust, SQL.",
    "Temperature: -3.5°C → 27°F; wind 15 km/h NNE.",
    "中文 English 日本語 한국어 mixed together 123.",
    "user@host:~$ ls -la | grep '.rs' > out.txt 2>&1",
    "¿Qué tal? ¡Muy bien!",
    "Ça va? Oui, ça va très bien, merci.",
    "Ünïcödé ïs fün",
    "A\u200bB\u200cC\u200dD\ufeffE",
    "\ufeffBOM at start",
    "Tab\there, newline\nthere, carriage\rreturn.",
    "Mixed CASE contractions: YOU'LL, You'll, you'LL, I'D, i'd.",
    "math: ∀x∈ℝ, ∃y: x<y ∧ y≤x+1 ⇒ ⊤",
    "arrows ←↑→↓ and boxes ┌─┐│└─┘",
    "Greek letters α β γ δ with ASCII a b c d",
    "ID#12345-XYZ_678",
    "lots of punctuation!?!?!?...,,,;;;:::",
    "((()))[[[]]]{{{}}}",
    "____init____",
    "----====----",
    "~!@#$%^&*()_+`-=[]\\{}|;':\",./<>?",
]


def generated():
    """Combinations of small parts: digit runs in context, whitespace runs before words."""
    out = []
    for n in range(1, 13):
        out.append("x" + "1234567890"[:n % 10 or 10] * (n // 10 + 1) + "y")
        out.append(" " * n + "w")
        out.append("w" + " " * n)
        out.append("\n" * n + "w")
        out.append("w" + "\t" * n + "w")
    for word in ["hello", "Hello", "HELLO", "hello123", "123hello"]:
        for pre in ["", " ", "\n", "\t", "  ", "(", "'"]:
            out.append(pre + word)
    return out


def strings():
    seen = set()
    out = []
    for group in [PROSE, CONTRACTIONS, CODE, NUMBERS, WHITESPACE, ACCENTS, CJK, EMOJI, SPECIAL,
                  MIXED, generated()]:
        for s in group:
            if s not in seen:
                seen.add(s)
                out.append(s)
    # One long paragraph built from the prose lines.
    long = " ".join(PROSE) + "\n\n" + "\n".join(CODE[:5])
    out.append(long)
    return out


QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


# The same call llama-cpp-python makes, as a small C++ program, for when only the llama.cpp
# library is built: stdin holds [u32 len][bytes] per string; stdout gets, per string, for
# parse_special 1 then 0, [i32 n][n x i32 ids].
LLAMA_HELPER = r"""
#include "llama.h"
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>
int main(int argc, char ** argv) {
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) return 1;
    const llama_vocab * vocab = llama_model_get_vocab(model);
    uint32_t len;
    while (fread(&len, 4, 1, stdin) == 1) {
        std::string s(len, '\0');
        if (len && fread(&s[0], 1, len, stdin) != len) return 2;
        for (int special = 1; special >= 0; --special) {
            std::vector<llama_token> ids(len * 2 + 16);
            int32_t n = llama_tokenize(vocab, s.data(), (int32_t) len, ids.data(),
                                       (int32_t) ids.size(), false, special);
            fwrite(&n, 4, 1, stdout);
            if (n > 0) fwrite(ids.data(), 4, n, stdout);
        }
    }
    llama_model_free(model);
    return 0;
}
"""


def llama_helper_encoders(include_dir, lib_dir, paths, texts):
    """Compile LLAMA_HELPER against a built llama.cpp and tokenize `texts` with each model:
    returns {path: (special_ids, plain_ids)}."""
    import struct
    import subprocess
    import tempfile

    tmp = tempfile.mkdtemp()
    src, exe = os.path.join(tmp, "tok.cpp"), os.path.join(tmp, "tok")
    with open(src, "w") as f:
        f.write(LLAMA_HELPER)
    subprocess.run(["g++", "-O1", "-std=c++17", "-I", include_dir, src, "-L", lib_dir, "-lllama",
                    "-lggml", "-lggml-base", "-Wl,-rpath," + lib_dir, "-o", exe], check=True)
    data = b"".join(struct.pack("<I", len(t.encode())) + t.encode() for t in texts)
    out = {}
    for path in paths:
        res = subprocess.run([exe, path], input=data, capture_output=True, check=True).stdout
        pos, special, plain = 0, [], []
        for _ in texts:
            for dest in (special, plain):
                (n,) = struct.unpack_from("<i", res, pos)
                if n < 0:
                    raise RuntimeError("llama_tokenize failed (%d) on %s" % (n, path))
                dest.append(list(struct.unpack_from("<%di" % n, res, pos + 4)))
                pos += 4 + 4 * n
        out[path] = (special, plain)
    return out


def llama_cpp_encoder(path):
    """llama.cpp's tokenizer through llama-cpp-python: returns encode(text, special) -> ids."""
    from llama_cpp import Llama

    llm = Llama(path, vocab_only=True, verbose=False)
    return lambda text, special: llm.tokenize(text.encode(), add_bos=False, special=special)


def hf_encoder(path):
    """Fallback: Hugging Face `tokenizers` built from the GGUF vocabulary and merges, with the
    pre-tokenizer of the model's tokenizer.json (SmolLM2: Digits + ByteLevel; Qwen2: the split
    regex + ByteLevel), control tokens as special added tokens, user-defined as plain ones."""
    import gguf
    from tokenizers import AddedToken, Regex, Tokenizer, models, pre_tokenizers

    r = gguf.GGUFReader(path)

    def field(key):
        f = r.fields[key]
        if len(f.data) == 1 and key != "tokenizer.ggml.merges":
            return bytes(f.parts[f.data[0]]).decode()
        return [bytes(f.parts[i]).decode() if f.types[-1] == gguf.GGUFValueType.STRING
                else int(f.parts[i][0]) for i in f.data]

    toks, types = field("tokenizer.ggml.tokens"), field("tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in field("tokenizer.ggml.merges")]
    tk = Tokenizer(models.BPE({t: i for i, t in enumerate(toks)}, merges))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=field("tokenizer.ggml.pre") == "smollm")
    if field("tokenizer.ggml.pre") == "smollm":
        tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    else:
        split = pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated")
        tk.pre_tokenizer = pre_tokenizers.Sequence([split, byte_level])
    tk.add_tokens([AddedToken(t, special=(ty == 3), normalized=False)
                   for t, ty in zip(toks, types) if ty in (3, 4)])

    def encode(text, special):
        tk.encode_special_tokens = not special
        return tk.encode(text, add_special_tokens=False).ids
    return encode


def option(name):
    """The value after `name` on the command line, if given."""
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


def main():
    include_dir, lib_dir, commit = option("--llama-include"), option("--llama-lib"), option("--llama-commit")
    values = {include_dir, lib_dir, commit} - {None}
    args = [a for a in sys.argv[1:] if not a.startswith("--") and a not in values]
    assets = args[0] if args else os.environ.get("LLMCORE_ASSETS", "assets")
    texts = strings()
    paths = {key: os.path.join(assets, "models", file) for key, file in MODELS.items()}
    if lib_dir:
        reference = ("llama.cpp %s: llama_tokenize(add_special=false, parse_special=...) on a "
                     "vocab_only model (scripts/tokenizer_vectors.py LLAMA_HELPER)" % (commit or "(commit not given)"))
        ids = llama_helper_encoders(include_dir, lib_dir, list(paths.values()), texts)
    else:
        if "--hf" in sys.argv:
            import tokenizers
            reference = ("Hugging Face tokenizers %s built from the GGUF vocabulary and merges "
                         "(fallback: llama.cpp was not available)" % tokenizers.__version__)
            make = hf_encoder
        else:
            import llama_cpp
            reference = ("llama.cpp tokenizer via llama-cpp-python %s, "
                         "Llama(vocab_only=True).tokenize(add_bos=False, special=...)" % llama_cpp.__version__)
            make = llama_cpp_encoder
        ids = {}
        for path in paths.values():
            encode = make(path)
            ids[path] = ([encode(t, True) for t in texts], [encode(t, False) for t in texts])

    result = {"generator": "scripts/tokenizer_vectors.py", "reference": reference,
              "strings": texts, "models": {}}
    for key, file in MODELS.items():
        special, plain = ids[paths[key]]
        result["models"][key] = {"file": file, "special": special, "plain": plain}
    # One case per line keeps diffs readable.
    w = sys.stdout.write
    w("{\n")
    w('"generator": %s,\n' % json.dumps(result["generator"]))
    w('"reference": %s,\n' % json.dumps(result["reference"]))
    w('"strings": [\n' + ",\n".join(json.dumps(t) for t in texts) + "\n],\n")
    w('"models": {\n')
    models = []
    for key, m in result["models"].items():
        body = '%s: {\n"file": %s,\n' % (json.dumps(key), json.dumps(m["file"]))
        for mode in ["special", "plain"]:
            body += '"%s": [\n' % mode + ",\n".join(json.dumps(ids, separators=(",", ":")) for ids in m[mode])
            body += "\n]" + (",\n" if mode == "special" else "\n")
        models.append(body + "}")
    w(",\n".join(models) + "\n}\n}\n")


if __name__ == "__main__":
    main()
