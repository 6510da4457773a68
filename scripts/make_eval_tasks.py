#!/usr/bin/env python3
"""Build the "exam" multiple-choice suite (tasks/exam/) from the canonical corpora.

Python 3.11 standard library only. Every answer is known by construction from the source
text (a verse's book heading, a novel's file, an explicit speech tag, a documented name, the
word the author wrote, an uncorrupted sentence); nothing is labelled by hand.

    python3 scripts/make_eval_tasks.py [--corpora DIR] [--out DIR]

Defaults: <repo>/assets/corpora and <repo>/tasks/exam. The output is deterministic: each
task draws from its own random.Random(SEED) (SEED = 20261204), nothing iterates over an
unordered set, and the files are written with sorted, fixed JSON formatting. The task files
follow core/src/evalh/task.rs (TaskSpec::parse accepts only its 15 keys); the script checks
every file it writes (JSON, keys, choices, gold index, template fields, disjoint few-shot
pools, sizes) and exits non-zero on any failure. It also writes tasks/exam/README.md, whose
counts come from the run.

Tasks (details, regexes and rules in README.md and in each generator below):
  kjv_book        verse text -> which book (4 choices)
  austen_novel    sentence -> which of the six novels (6 choices)
  austen_speaker  quote with its speech tag removed -> speaker (4 choices)
  python_builtin  first sentence of a builtins-page entry, name masked -> name (4 choices)
  austen_cloze    held-out Persuasion sentence minus its last word -> that word (4 choices)
  minimal_pairs   grammatical corpus sentence vs a rule-corrupted copy (2 choices)
"""

import argparse
import json
import os
import random
import re
import sys
from collections import Counter, defaultdict

SEED = 20261204
N_EVAL = 200
N_FEWSHOT = 20
MAX_CONTEXT = 400  # characters of any rendered context / sentence field
MAX_TOTAL_BYTES = 1_500_000

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

AUSTEN = [  # (file stem, title) in title order
    ("emma", "Emma"),
    ("mansfield-park", "Mansfield Park"),
    ("northanger-abbey", "Northanger Abbey"),
    ("persuasion", "Persuasion"),
    ("pride-and-prejudice", "Pride and Prejudice"),
    ("sense-and-sensibility", "Sense and Sensibility"),
]
AUSTEN_FILES = ["austen-%s.txt" % stem for stem, _ in AUSTEN]
REQUIRED = ["kjv.txt", "python-docs.txt"] + AUSTEN_FILES

# The keys core/src/evalh/task.rs TaskSpec::parse accepts (anything else is rejected there).
TASK_KEYS = {
    "name", "category", "docs", "fewshot_docs", "output_type", "doc_to_text",
    "doc_to_choice", "doc_to_target", "target_delimiter", "fewshot_delimiter",
    "num_fewshot", "fewshot_seed", "until", "max_tokens", "metrics",
}


class BuildError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# helpers


def read_corpus(corpora, name):
    path = os.path.join(corpora, name)
    if not os.path.isfile(path):
        raise BuildError(
            "corpus %s is missing (looked for %s); run scripts/fetch-assets.sh or pass "
            "--corpora DIR" % (name, path))
    with open(path, encoding="utf-8") as f:
        return f.read()


def words(s):
    return s.split()


def balanced_positions(rng, n_docs, n_choices):
    """Gold positions for n_docs documents: each index 0..n_choices-1 equally often (up to
    one), in random order, so the gold index is uniform over the task."""
    pos = [i % n_choices for i in range(n_docs)]
    rng.shuffle(pos)
    return pos


def place(rng, gold, distractors, position):
    """The choice list with `gold` at `position` and the distractors, shuffled, around it."""
    others = list(distractors)
    rng.shuffle(others)
    choices = others[:position] + [gold] + others[position:]
    return choices


def attach_choices(rng, docs, gold_key, distractor_key):
    """Adds "choices" and "answer" to each doc from doc[gold_key] and doc[distractor_key]
    (removed afterwards), with balanced gold positions."""
    if not docs:
        return docs
    n_choices = 1 + len(docs[0][distractor_key])
    positions = balanced_positions(rng, len(docs), n_choices)
    for d, p in zip(docs, positions):
        ds = d.pop(distractor_key)
        d["choices"] = place(rng, d[gold_key], ds, p)
        d["answer"] = p
    return docs


def task_spec(name, category, doc_to_text, target_delimiter=" "):
    return {
        "name": name,
        "category": category,
        "docs": name + ".jsonl",
        "fewshot_docs": name + ".fewshot.jsonl",
        "output_type": "multiple_choice",
        "doc_to_text": doc_to_text,
        "doc_to_choice": "{{choices}}",
        "doc_to_target": "{{answer}}",
        "target_delimiter": target_delimiter,
        "fewshot_delimiter": "\n\n",
        "num_fewshot": 0,
        "fewshot_seed": 1234,
        "metrics": ["acc", "acc_norm"],
    }


# --------------------------------------------------------------------------------------------
# Austen text: paragraphs and sentences

# Words after which a full stop does not end a sentence.
ABBREVIATIONS = {"Mr", "Mrs", "Ms", "Dr", "St", "Messrs", "Col", "Capt", "Rev", "Hon", "Lt",
                 "Gen", "Sgt"}
SPLIT_RE = re.compile(r"""([.!?]["')]*)\s+(?=["'(]?[A-Z])""")


def austen_paragraphs(text):
    """(first line number, paragraph) for each paragraph: lines between blank lines joined
    with single spaces, italics underscores removed. Headings (CHAPTER ..., VOLUME ...,
    all-capital lines) are skipped."""
    out = []
    buf, start = [], None
    lines = text.split("\n")
    for i, line in enumerate(lines + [""]):
        if line.strip():
            if start is None:
                start = i + 1
            buf.append(line.strip())
            continue
        if buf:
            p = " ".join(" ".join(buf).split()).replace("_", "")
            if not (p.upper() == p or re.match(r"(CHAPTER|Chapter|VOLUME|Volume)\b", p)):
                out.append((start, p))
        buf, start = [], None
    return out


def split_sentences(par):
    """Sentences of a paragraph: breaks after . ! ? (and closing quotes) followed by space and
    a capital, except after the abbreviations above and single capital initials."""
    out, last = [], 0
    for m in SPLIT_RE.finditer(par):
        before = par[last:m.start()]
        if m.group(1).startswith("."):
            tail = re.search(r"(\w+)$", before)
            if tail and (tail.group(1) in ABBREVIATIONS or re.fullmatch(r"[A-Z]", tail.group(1))):
                continue
        out.append(par[last:m.start() + len(m.group(1))].strip())
        last = m.end()
    rest = par[last:].strip()
    if rest:
        out.append(rest)
    return out


def austen_sentences(text):
    """(line, sentence) over a novel, in order."""
    return [(line, s) for line, p in austen_paragraphs(text) for s in split_sentences(p)]


# --------------------------------------------------------------------------------------------
# 1. kjv_book

KJV_HEADING = re.compile(r"^(.+?) (\d+)$")
KJV_VERSE = re.compile(r"^  (\d+) (.*)$")


def parse_kjv(text):
    """[(book, chapter, verse, text)]: a heading line "Book N" after a blank line opens a
    chapter; "  N text" opens verse N; other non-blank lines continue the verse."""
    verses = []
    book = chapter = None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        m = KJV_VERSE.match(line)
        if m:
            if book is None:
                raise BuildError("kjv.txt line %d: verse before any book heading" % (i + 1))
            verses.append([book, chapter, int(m.group(1)), m.group(2).strip()])
            continue
        h = KJV_HEADING.match(line)
        if h and (i == 0 or not lines[i - 1].strip()):
            book, chapter = h.group(1), int(h.group(2))
            continue
        if not verses:
            raise BuildError("kjv.txt line %d: text before the first verse" % (i + 1))
        verses[-1][3] += " " + line.strip()
    return [(b, c, v, " ".join(t.split())) for b, c, v, t in verses]


def build_kjv_book(corpora, rng):
    verses = parse_kjv(read_corpus(corpora, "kjv.txt"))
    books = []
    for b, _, _, _ in verses:
        if b not in books:
            books.append(b)
    if len(books) != 66 or len(verses) < 31000:
        raise BuildError("kjv.txt: expected 66 books and ~31102 verses, got %d books, %d verses"
                         % (len(books), len(verses)))
    pool = defaultdict(list)
    for b, c, v, t in verses:
        if len(words(t)) >= 12 and len(t) <= MAX_CONTEXT - 20:
            pool[b].append({"verse": t, "book": b, "ref": "%s %d:%d" % (b, c, v)})
    for b in books:
        rng.shuffle(pool[b])
    # Evaluated docs: stratified by book (each book N_EVAL // 66 verses, the remainder from
    # randomly chosen books) so no book prior helps; few-shot: one verse from each of 20
    # randomly chosen books, taken from verses the evaluated set does not use.
    quota = {b: N_EVAL // len(books) for b in books}
    for b in rng.sample(books, N_EVAL - sum(quota.values())):
        quota[b] += 1
    evald = []
    for b in books:
        if len(pool[b]) < quota[b] + 1:
            raise BuildError("kjv.txt: book %s has too few verses of >= 12 words" % b)
        evald += pool[b][:quota[b]]
    fewshot = [pool[b][quota[b]] for b in rng.sample(books, N_FEWSHOT)]
    rng.shuffle(evald)
    for d in evald + fewshot:
        d["_distractors"] = rng.sample([x for x in books if x != d["book"]], 3)
    attach_choices(rng, evald, "book", "_distractors")
    attach_choices(rng, fewshot, "book", "_distractors")
    spec = task_spec("kjv_book", "knowledge", "Verse: {{verse}}\nBook:")
    return spec, evald, fewshot, {"books": len(books), "verses_eligible": sum(map(len, pool.values()))}


# --------------------------------------------------------------------------------------------
# 2. austen_novel


def build_austen_novel(corpora, rng):
    titles = [t for _, t in AUSTEN]
    per_novel = {}
    for stem, title in AUSTEN:
        name = "austen-%s.txt" % stem
        cands = []
        seen = set()
        for line, s in austen_sentences(read_corpus(corpora, name)):
            if (len(words(s)) >= 15 and len(s) <= MAX_CONTEXT - 30 and s.count('"') % 2 == 0
                    and s not in seen):
                seen.add(s)
                cands.append({"text": s, "novel": title, "source": "%s:%d" % (name, line)})
        rng.shuffle(cands)
        per_novel[title] = cands

    def quotas(n):
        q = {t: n // len(titles) for t in titles}
        for t in titles[: n - sum(q.values())]:
            q[t] += 1
        return q

    qe, qf = quotas(N_EVAL), quotas(N_FEWSHOT)
    evald, fewshot = [], []
    for t in titles:
        c = per_novel[t]
        evald += c[:qe[t]]
        fewshot += c[qe[t]:qe[t] + qf[t]]
    rng.shuffle(evald)
    rng.shuffle(fewshot)
    for d in evald + fewshot:
        d["_distractors"] = [t for t in titles if t != d["novel"]]
    attach_choices(rng, evald, "novel", "_distractors")
    attach_choices(rng, fewshot, "novel", "_distractors")
    spec = task_spec("austen_novel", "literature",
                     "Passage: {{text}}\nWhich Jane Austen novel is this from?\nAnswer:")
    return spec, evald, fewshot, {t: len(per_novel[t]) for t in titles}


# --------------------------------------------------------------------------------------------
# 3. austen_speaker

TITLES = r"(?:Mr\.?|Mrs\.?|Dr\.?|Miss|Lady|Sir|Colonel|Captain|Admiral|Lord)"
# A quotation that ends in , ! or ? immediately followed by an explicit speech tag naming
# the speaker: "<quote>," said Mr. Knightley  /  "<quote>!" cried Emma  /  ... replied Elinor.
# The speaker is an optional title and one or two capitalised words.
SPEECH_RE = re.compile(
    r'"(?P<quote>[^"]+?)(?P<punct>[,!?])" (?P<verb>said|cried|replied) '
    r'(?P<speaker>(?:' + TITLES + r' )?[A-Z][a-z]+(?: [A-Z][a-z]+)?)\b')
TITLE_WORDS = {"Mr", "Mr.", "Mrs", "Mrs.", "Dr", "Dr.", "Miss", "Lady", "Sir", "Colonel",
               "Captain", "Admiral", "Lord"}
MIN_ATTRIBUTIONS = 5
MAX_PER_SPEAKER = 10


def core_name(label):
    return " ".join(w for w in label.split() if w not in TITLE_WORDS)


def maybe_same_person(a, b, text):
    """True when two speaker labels could name the same character, so neither may be the
    other's distractor: the same name without titles ("Darcy" / "Mr. Darcy"), or a bare
    given name F and a label whose last word X occurs as the full name "F X" in the novel
    ("Mary" / "Miss Crawford" in Mansfield Park, "Emma" / "Miss Woodhouse")."""
    if core_name(a) == core_name(b):
        return True
    for f, other in ((a, b), (b, a)):
        if len(f.split()) == 1 and f not in TITLE_WORDS:
            x = other.split()[-1]
            if re.search(r"\b%s %s\b" % (re.escape(f), re.escape(x)), text):
                return True
    return False


def build_austen_speaker(corpora, rng):
    cands = []
    stats = {}
    for stem, title in AUSTEN:
        name = "austen-%s.txt" % stem
        text = read_corpus(corpora, name)
        flat = " ".join(text.split())
        found = []
        for line, par in austen_paragraphs(text):
            for m in SPEECH_RE.finditer(par):
                # The quote must open at an opening quotation mark: an even number of '"'
                # before it in the paragraph (quotes alternate open/close within a paragraph).
                if par.count('"', 0, m.start()) % 2:
                    continue
                q = m.group("quote").strip()
                if m.group("punct") != ",":
                    q += m.group("punct")
                found.append((line, q, m.group("speaker")))
        counts = Counter(s for _, _, s in found)
        speakers = sorted(s for s, n in counts.items() if n >= MIN_ATTRIBUTIONS)
        ok_distractors = {
            s: [o for o in speakers if o != s and not maybe_same_person(s, o, flat)]
            for s in speakers}
        seen = set()
        n_ok = 0
        for line, q, s in found:
            if (s not in ok_distractors or len(ok_distractors[s]) < 3 or len(words(q)) < 4
                    or len(q) > MAX_CONTEXT - 60 or q in seen):
                continue
            seen.add(q)
            n_ok += 1
            cands.append({"novel": title, "quote": q, "speaker": s,
                          "source": "%s:%d" % (name, line), "_pool": ok_distractors[s]})
        stats[title] = {"speakers": {s: counts[s] for s in speakers}, "usable_quotes": n_ok}
    rng.shuffle(cands)
    # At most MAX_PER_SPEAKER documents per speaker over both files, so the heroines (a
    # third of all attributions) do not dominate the task and "pick the heroine" is no
    # strategy.
    max_per_speaker = MAX_PER_SPEAKER
    taken, per = [], Counter()
    for c in cands:
        key = (c["novel"], c["speaker"])
        if per[key] < max_per_speaker:
            per[key] += 1
            taken.append(c)
        if len(taken) == N_EVAL + N_FEWSHOT:
            break
    if len(taken) < N_FEWSHOT + 50:
        raise BuildError("austen_speaker: only %d usable quotes" % len(taken))
    fewshot, evald = taken[:N_FEWSHOT], taken[N_FEWSHOT:]
    for d in evald + fewshot:
        d["_distractors"] = rng.sample(d.pop("_pool"), 3)
    attach_choices(rng, evald, "speaker", "_distractors")
    attach_choices(rng, fewshot, "speaker", "_distractors")
    spec = task_spec("austen_speaker", "literature",
                     'Novel: {{novel}}\nQuote: "{{quote}}"\nSpeaker:')
    return spec, evald, fewshot, stats


# --------------------------------------------------------------------------------------------
# 4. python_builtin

DIRECTIVE_RE = re.compile(
    r"^\.\. (function|class|decorator|awaitablefunction|method|exception|data|attribute)::\s*(.*)$")
NAME_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)")


def rst_to_text(s, refs=None):
    """Inline reST markup to plain text: :role:`~a.b` -> b, :role:`text <target>` -> text,
    :ref:`label` -> the labelled section's title (from `refs`), :role:`x` -> x,
    ``code`` -> code, *em* / **strong** -> em / strong, backslash escapes dropped."""
    def role(m):
        kind, body = m.group(1), m.group(2)
        t = re.match(r"^(.*?)\s*<[^>]*>$", body, re.S)
        if t and t.group(1):
            return t.group(1)
        if kind == "ref" and refs is not None and body.lower() in refs:
            return rst_to_text(refs[body.lower()])
        if kind in ("rfc", "pep"):
            return "%s %s" % (kind.upper(), body)
        if body.startswith("~"):
            return body[1:].split(".")[-1]
        return body.lstrip("!")
    s = re.sub(r":(?:[a-z]+:)?([a-z]+):`([^`]+)`", role, s)
    s = re.sub(r"``([^`]+)``", r"\1", s)
    s = re.sub(r"`([^`]+)`_?", r"\1", s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"\1", s)
    s = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\1", s)
    s = s.replace("\\ ", "").replace("\\", "")
    return " ".join(s.split())


# A sentence ends at . ! ? followed by white space (the next sentence may begin with a
# lower-case argument name such as "x is converted ..."); "e.g.", "i.e." and "etc." do not end
# one.
FIRST_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")


def first_sentence(par):
    protected = par
    for abbr in ("e.g.", "i.e.", "etc.", "vs."):
        protected = protected.replace(abbr, abbr.replace(".", "\x00"))
    s = FIRST_SENTENCE_RE.split(protected, 1)[0]
    return s.replace("\x00", ".").strip()


def mask_name(sentence, name):
    return re.sub(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(name), "____", sentence)


def rst_entries(lines, lo, hi, kinds):
    """Directive entries in lines[lo:hi] at column 0 of the given kinds:
    [(line number, kind, name, first signature, first description paragraph)]. The
    directive's own following
    lines (further signatures, options such as ":noindex:") are skipped; the body is the
    indented block after them; its first paragraph at the body's own indentation that is not
    itself a directive (".. index::", ".. note::", ...; their content is indented deeper and
    so never counts) is the description."""
    out = []
    i = lo
    while i < hi:
        m = DIRECTIVE_RE.match(lines[i])
        if not m or m.group(1) not in kinds:
            i += 1
            continue
        n = NAME_RE.match(m.group(2))
        start = i
        i += 1
        while i < hi and lines[i].strip() and lines[i].startswith(" "):
            i += 1
        body = []
        while i < hi and (not lines[i].strip() or lines[i].startswith(" ")):
            body.append(lines[i])
            i += 1
        indents = [len(l) - len(l.lstrip(" ")) for l in body if l.strip()]
        if not n or not indents:
            continue
        base = min(indents)
        paras, cur = [], []
        for l in body:
            if l.strip() and len(l) - len(l.lstrip(" ")) == base:
                cur.append(l.strip())
            elif not l.strip() or cur:
                if cur:
                    paras.append(cur)
                cur = []
        if cur:
            paras.append(cur)
        prose = [p for p in paras if not p[0].startswith("..")]
        if prose:
            out.append((start + 1, m.group(1), n.group(1).split(".")[-1], m.group(2).strip(),
                        " ".join(prose[0])))
    return out


def ref_titles(lines):
    """reST label -> the title of the section it labels (".. _label:" then a heading)."""
    out = {}
    for i, l in enumerate(lines):
        m = re.match(r"^\.\. _([^:`]+):$", l)
        if not m:
            continue
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or re.match(r"^\.\. _[^:]+:$", lines[j])):
            j += 1
        if j + 1 < len(lines) and re.fullmatch(r"([=*~^\"'+-])\1{2,}", lines[j]):
            j += 1  # overline
        if (j + 1 < len(lines) and lines[j].strip() and not lines[j].startswith(" ")
                and re.fullmatch(r"([=*~^\"'+-])\1{2,}", lines[j + 1])):
            out[m.group(1).lower()] = lines[j].strip()
    return out


def builtins_page(lines):
    """[lo, hi) line range of library/functions.rst inside python-docs.txt: from its title
    "Built-in Functions" (underlined with '=', after the ".. _built-in-funcs:" label) to the
    next page title (a line underlined or overlined with '=' or '*'), which is functools'."""
    lo = None
    for i in range(len(lines) - 1):
        if lines[i] == "Built-in Functions" and re.fullmatch(r"=+", lines[i + 1]) and any(
                lines[j].strip() == ".. _built-in-funcs:" for j in range(max(0, i - 3), i)):
            lo = i
            break
    if lo is None:
        raise BuildError("python-docs.txt: cannot find the 'Built-in Functions' page title")
    for j in range(lo + 2, len(lines) - 1):
        if lines[j].strip() and re.fullmatch(r"[=*]{3,}", lines[j + 1]) and not lines[j].startswith(" "):
            return lo, j - (1 if re.fullmatch(r"[=*]{3,}", lines[j - 1] or "") else 0)
    raise BuildError("python-docs.txt: cannot find the end of the builtins page")


def parameters(signature):
    """Parameter names of a signature "name(a, b=1, *args, [c])" (no '/' or '*')."""
    m = re.search(r"\((.*)\)", signature)
    if not m:
        return set()
    out = set()
    for p in re.split(r"[,\[\]]", m.group(1)):
        p = p.strip().lstrip("*").split("=")[0].strip()
        if re.fullmatch(r"[A-Za-z_]\w*", p):
            out.add(p)
    return out


def confusable(a, b):
    """Entries (name, signature, sentence) that must not be each other's distractor, because
    the masked sentence might fit both: the two sentences become identical when both names
    are masked (case-insensitively) in both ("Return a new ____ object" for set / frozenset;
    cgitb's text / html), or the first signatures share two or more parameter names (hasattr
    / getattr / delattr: object, name; eval / exec: globals, locals; min / max)."""
    (na, sa, ta), (nb, sb, tb) = a, b
    pat = re.compile(r"(?<![A-Za-z0-9_])(%s|%s)(?![A-Za-z0-9_])" % (re.escape(na), re.escape(nb)), re.I)
    if pat.sub("____", ta) == pat.sub("____", tb):
        return True
    return len(parameters(sa) & parameters(sb)) >= 2


def pick_name_distractors(rng, gold, pool, k=3):
    ok = [e[0] for e in pool if e[0] != gold[0] and not confusable(gold, e)]
    return rng.sample(ok, k) if len(ok) >= k else None


def build_python_builtin(corpora, rng):
    lines = read_corpus(corpora, "python-docs.txt").split("\n")
    lo, hi = builtins_page(lines)
    # The page's entries: ".. function::" plus the ".. class::", ".. decorator::" and
    # ".. awaitablefunction::" entries of the same page (bool, int, classmethod, anext, ...),
    # all of which the page's "Built-in Functions" table lists.
    entries = rst_entries(lines, lo, hi, {"function", "class", "decorator", "awaitablefunction"})
    refs = ref_titles(lines)
    names = [e[2] for e in entries]
    if len(set(names)) != len(names) or "abs" not in names or "zip" not in names:
        raise BuildError("python-docs.txt: unexpected builtins page entries %r" % names)

    def sentence(par, name):
        return mask_name(first_sentence(rst_to_text(par, refs)), name)

    pool = [(name, sig, sentence(par, name), kind, line) for line, kind, name, sig, par in entries]
    evald = []
    for e in pool:
        name, sig, text, kind, line = e
        if len(words(text)) < 4 or len(text) > MAX_CONTEXT - 40:
            continue
        ds = pick_name_distractors(rng, e[:3], [x[:3] for x in pool])
        if ds is None:
            continue
        evald.append({"description": text, "name": name, "kind": kind,
                      "source": "python-docs.txt:%d" % line, "_distractors": ds})
    # Few-shot pool: the builtins page is too small to spare 20 entries, so the examples come
    # from ".. function::" entries elsewhere in the documentation (outside the builtins
    # page), one per module (the last ".. module::" / ".. currentmodule::" above the entry),
    # with distractors from the same module's function names; names that are also builtins
    # are left out.
    module_at = []
    for k, l in enumerate(lines):
        m = re.match(r"^\.\. (?:module|currentmodule):: (\S+)", l)
        if m:
            module_at.append((k, m.group(1)))
    module, mi = None, 0
    by_module = defaultdict(dict)
    for line, kind, name, sig, par in rst_entries(lines, 0, len(lines), {"function"}):
        if lo <= line - 1 < hi:
            continue
        while mi < len(module_at) and module_at[mi][0] < line - 1:
            module = module_at[mi][1]
            mi += 1
        if module is not None and not module.startswith("test") and name not in by_module[module]:
            by_module[module][name] = (name, sig, sentence(par, name), line)
    fs_cands = []
    for mod in sorted(by_module):
        ents = list(by_module[mod].values())
        for name, sig, text, line in ents:
            if name in names or len(words(text)) < 4 or len(text) > MAX_CONTEXT - 40:
                continue
            fs_cands.append((mod, (name, sig, text), line, [e[:3] for e in ents]))
    rng.shuffle(fs_cands)
    fewshot, used_mods = [], set()
    for mod, e, line, mod_pool in fs_cands:
        if mod in used_mods:
            continue
        ds = pick_name_distractors(rng, e, mod_pool)
        if ds is None:
            continue
        used_mods.add(mod)
        fewshot.append({"description": e[2], "name": e[0], "kind": "function", "module": mod,
                        "source": "python-docs.txt:%d" % line, "_distractors": ds})
        if len(fewshot) == N_FEWSHOT:
            break
    rng.shuffle(evald)
    attach_choices(rng, evald, "name", "_distractors")
    attach_choices(rng, fewshot, "name", "_distractors")
    spec = task_spec("python_builtin", "technical",
                     "Python documentation: {{description}}\nThe name hidden as ____ is:")
    return spec, evald, fewshot, {"page_lines": "%d-%d" % (lo + 1, hi),
                                  "page_entries": len(entries),
                                  "fewshot_modules": len(by_module)}


# --------------------------------------------------------------------------------------------
# 5. austen_cloze

# Persuasion's held-out part is its last 10% of tokens (core/src/train/data.rs splits the
# token stream; scripts/bench-train.sh fine-tunes on the first 90%). Characters stand in for
# tokens here, with a margin of 0.5% of the text so that a paragraph near the boundary is
# never one the training part saw.
HELD_OUT_FROM = 0.905
CLOZE_END_RE = re.compile(r'^(?P<context>.*\S)\s+(?P<word>[a-z]{4,})(?P<punct>[.!?]"?)$')
FREQ_WINDOW = 40


def build_austen_cloze(corpora, rng):
    text = read_corpus(corpora, "austen-persuasion.txt")
    cut_line = text[: int(len(text) * HELD_OUT_FROM)].count("\n") + 1
    freq = Counter()
    for name in AUSTEN_FILES:
        for w in re.findall(r"[A-Za-z]+", read_corpus(corpora, name).replace("_", "")):
            freq[w] += 1
    # Frequency ranking: lower-case alphabetic word types of >= 4 letters in the six novels,
    # by how often they occur in lower case (ties: alphabetical).
    vocab = sorted((w for w in freq if w.islower() and len(w) >= 4), key=lambda w: (-freq[w], w))
    rank = {w: i for i, w in enumerate(vocab)}
    held, train, seen = [], [], set()
    for line, s in austen_sentences(text):
        m = CLOZE_END_RE.match(s)
        if not m or len(words(s)) < 10 or len(s) > MAX_CONTEXT or s in seen:
            continue
        seen.add(s)
        d = {"context": m.group("context"), "word": m.group("word"), "sentence": s,
             "source": "austen-persuasion.txt:%d" % line}
        (held if line > cut_line else train).append(d)
    rng.shuffle(held)
    rng.shuffle(train)
    # Evaluated: held-out sentences only (all of them, up to N_EVAL). Few-shot pool: sentences
    # from the first 90% (the training part), like a train split.
    evald, fewshot = held[:N_EVAL], train[:N_FEWSHOT]
    for d in evald + fewshot:
        r = rank[d["word"]]
        # The FREQ_WINDOW nearest ranks (half above, half below; shifted at the ends of the
        # list), minus words sharing the gold word's first four letters (inflections,
        # derivations).
        lo_r = max(0, min(r - FREQ_WINDOW // 2, len(vocab) - FREQ_WINDOW - 1))
        window = [w for w in vocab[lo_r:lo_r + FREQ_WINDOW + 1]
                  if w != d["word"] and w[:4] != d["word"][:4]]
        d["_distractors"] = rng.sample(window, 3)
    attach_choices(rng, evald, "word", "_distractors")
    attach_choices(rng, fewshot, "word", "_distractors")
    spec = task_spec("austen_cloze", "language", "{{context}}")
    return spec, evald, fewshot, {"held_out_from_line": cut_line + 1, "candidates": len(held),
                                  "vocab": len(vocab)}


# --------------------------------------------------------------------------------------------
# 6. minimal_pairs

# Subjunctive / irrealis triggers: a sentence containing one of these is not used for the
# rules whose corrupted form could be a grammatical subjunctive ("if he were", "that she
# have", "lest he do").
SUBJUNCTIVE_RE = re.compile(
    r"\b(if|though|although|wish|wished|wishes|wishing|whether|suppose|supposing|unless|"
    r"lest|rather|insist|insisted|require|required|desire|desired|demand|demanded|propose|"
    r"proposed|recommend|recommended|suggest|suggested|request|requested|as)\b", re.I)

# (phenomenon, rule id, pattern, replacement function, needs no subjunctive trigger)
def _swap_verb(new):
    return lambda m: m.group(1) + " " + new


AGREEMENT_RULES = [
    ("they/we were -> was", r"\b(they|we|They|We) were\b", _swap_verb("was"), False),
    ("they/we are -> is", r"\b(they|we|They|We) are\b", _swap_verb("is"), False),
    ("they/we have -> has", r"\b(they|we|They|We) have\b", _swap_verb("has"), False),
    ("they/we do -> does", r"\b(they|we|They|We) do\b", _swap_verb("does"), False),
    ("he/she/it is -> are", r"\b(he|she|it|He|She|It) is\b", _swap_verb("are"), False),
    ("he/she/it has -> have", r"\b(he|she|it|He|She|It) has\b", _swap_verb("have"), True),
    ("he/she/it does -> do", r"\b(he|she|it|He|She|It) does\b", _swap_verb("do"), True),
    ("he/she/it/I was -> were", r"\b(he|she|it|He|She|It|I) was\b", _swap_verb("were"), True),
]

# a + consonant-letter word (not h, x: "an hour", "an X") -> an; an + a/e/i/o word -> a
# ("u" and "one"/"once" are left out because their first sound varies).
DETERMINER_RULES = [
    ("a -> an before a consonant", r"(?<![\w'&-])(a|A) (?=[bcdfgjklmnpqrstvwyz][a-z]+\b(?!-))",
     lambda m: m.group(1) + "n ", False),
    ("an -> a before a vowel", r"(?<![\w'&-])(an|An) (?=(?!one\b|once\b)[aeio][a-z]+\b)",
     lambda m: m.group(1)[0] + " ", False),
]

# A preposition that cannot begin a clause, then an object pronoun made nominative.
PREPOSITIONS = ("to|with|from|by|at|upon|about|without|against|towards|toward|among|of|into|"
                "on|within|beside|besides")
PRONOUN_RULES = [
    ("prep him -> he", r"\b(%s) him\b" % PREPOSITIONS, lambda m: m.group(1) + " he", False),
    ("prep them -> they", r"\b(%s) them\b" % PREPOSITIONS, lambda m: m.group(1) + " they", False),
    ("prep me -> I", r"\b(%s) me\b" % PREPOSITIONS, lambda m: m.group(1) + " I", False),
    ("prep us -> we", r"\b(%s) us\b" % PREPOSITIONS, lambda m: m.group(1) + " we", False),
]

# A modal or do-support auxiliary (optionally "not") takes a bare verb; put an irregular past
# form there ("could not see" -> "could not saw"). "will", "might", "may", "can" are left
# out (they are also nouns), as are verbs whose past equals the base (put, let, read, ...).
IRREGULAR_PAST = {
    "go": "went", "come": "came", "see": "saw", "know": "knew", "take": "took",
    "give": "gave", "think": "thought", "say": "said", "make": "made", "find": "found",
    "tell": "told", "feel": "felt", "leave": "left", "get": "got", "speak": "spoke",
    "write": "wrote", "bring": "brought", "keep": "kept", "hear": "heard", "begin": "began",
    "buy": "bought", "choose": "chose", "forget": "forgot", "understand": "understood",
    "meet": "met", "sit": "sat", "stand": "stood", "lose": "lost", "teach": "taught",
    "eat": "ate", "drink": "drank", "wear": "wore", "sleep": "slept", "fall": "fell",
}
AUXILIARIES = "would|could|should|must|shall|did|does|do"
VERB_RULES = [
    ("aux (not) verb -> past", r"\b(%s)( not)? (%s)\b" % (AUXILIARIES, "|".join(sorted(IRREGULAR_PAST))),
     lambda m: m.group(1) + (m.group(2) or "") + " " + IRREGULAR_PAST[m.group(3)], False),
]

PHENOMENA = [
    ("subject_verb_agreement", AGREEMENT_RULES),
    ("determiner_a_an", DETERMINER_RULES),
    ("pronoun_case_after_preposition", PRONOUN_RULES),
    ("verb_form_after_auxiliary", VERB_RULES),
]


def build_minimal_pairs(corpora, rng):
    sentences = []
    for stem, _ in AUSTEN:
        name = "austen-%s.txt" % stem
        for line, s in austen_sentences(read_corpus(corpora, name)):
            if 6 <= len(words(s)) <= 45 and len(s) <= 250 and s.count('"') % 2 == 0:
                sentences.append((name, line, s))
    # Candidates per (phenomenon, rule): each applicable sentence, corrupted at one randomly
    # chosen match of the rule.
    cands = {(p, r[0]): [] for p, rules in PHENOMENA for r in rules}
    for name, line, s in sentences:
        has_trigger = bool(SUBJUNCTIVE_RE.search(s))
        for p, rules in PHENOMENA:
            for rule_id, pat, repl, needs_no_trigger in rules:
                if needs_no_trigger and has_trigger:
                    continue
                ms = list(re.finditer(pat, s))
                if not ms:
                    continue
                cands[(p, rule_id)].append((name, line, s, ms))
    n_per_phen_e = N_EVAL // len(PHENOMENA)
    n_per_phen_f = N_FEWSHOT // len(PHENOMENA)
    used = set()
    evald, fewshot = [], []
    stats = {}
    for p, rules in PHENOMENA:
        lists = {}
        for rule_id, pat, repl, _ in rules:
            c = list(cands[(p, rule_id)])
            rng.shuffle(c)
            lists[rule_id] = (c, repl)
        stats[p] = {rule_id: len(lists[rule_id][0]) for rule_id, *_ in rules}
        picked = []
        # round-robin over the phenomenon's rules so each rule is represented
        want = n_per_phen_e + n_per_phen_f
        progress = True
        while len(picked) < want and progress:
            progress = False
            for rule_id, *_ in rules:
                c, repl = lists[rule_id]
                while c:
                    name, line, s, ms = c.pop()
                    if s in used:
                        continue
                    m = rng.choice(ms)
                    bad = s[:m.start()] + repl(m) + s[m.end():]
                    if bad == s:
                        continue
                    used.add(s)
                    picked.append({"good": s, "bad": bad, "phenomenon": p, "rule": rule_id,
                                   "source": "%s:%d" % (name, line)})
                    progress = True
                    break
                if len(picked) == want:
                    break
        if len(picked) < want:
            raise BuildError("minimal_pairs: phenomenon %s has only %d sentences" % (p, len(picked)))
        rng.shuffle(picked)
        fewshot += picked[:n_per_phen_f]
        evald += picked[n_per_phen_f:]
    rng.shuffle(evald)
    rng.shuffle(fewshot)
    for d in evald + fewshot:
        d["_distractors"] = [d["bad"]]
    attach_choices(rng, evald, "good", "_distractors")
    attach_choices(rng, fewshot, "good", "_distractors")
    spec = task_spec("minimal_pairs", "language", "", target_delimiter="")
    return spec, evald, fewshot, stats


# --------------------------------------------------------------------------------------------
# output and validation

TASKS = [
    ("kjv_book", build_kjv_book, "verse"),
    ("austen_novel", build_austen_novel, "text"),
    ("austen_speaker", build_austen_speaker, "quote"),
    ("python_builtin", build_python_builtin, "description"),
    ("austen_cloze", build_austen_cloze, "context"),
    ("minimal_pairs", build_minimal_pairs, "good"),
]


def dump_jsonl(docs):
    return "".join(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n" for d in docs)


def template_fields(t):
    return [f.strip() for f in re.findall(r"\{\{(.*?)\}\}", t)]


def render(t, doc):
    return re.sub(r"\{\{(.*?)\}\}", lambda m: str(doc[m.group(1).strip()]), t)


def validate(out_dir, names, key_fields):
    """Re-reads what was written and checks it the way the harness will use it."""
    problems = []
    total = 0
    for name in names:
        spec_path = os.path.join(out_dir, name + ".json")
        with open(spec_path, encoding="utf-8") as f:
            raw = f.read()
        total += len(raw.encode("utf-8"))
        spec = json.loads(raw)
        extra = set(spec) - TASK_KEYS
        if extra:
            problems.append("%s: keys TaskSpec::parse rejects: %s" % (name, sorted(extra)))
        texts = {}
        for key in ("docs", "fewshot_docs"):
            path = os.path.join(out_dir, spec[key])
            with open(path, encoding="utf-8") as f:
                body = f.read()
            total += len(body.encode("utf-8"))
            docs = []
            for i, line in enumerate(body.split("\n")[:-1]):
                try:
                    d = json.loads(line)
                except json.JSONDecodeError as e:
                    problems.append("%s line %d: %s" % (spec[key], i + 1, e))
                    continue
                docs.append(d)
                where = "%s line %d" % (spec[key], i + 1)
                ch = d.get("choices")
                if not (isinstance(ch, list) and len(ch) >= 2 and all(isinstance(c, str) and c for c in ch)):
                    problems.append("%s: bad choices %r" % (where, ch))
                    continue
                if len(set(ch)) != len(ch):
                    problems.append("%s: duplicate choices %r" % (where, ch))
                a = d.get("answer")
                if not (isinstance(a, int) and not isinstance(a, bool) and 0 <= a < len(ch)):
                    problems.append("%s: bad answer %r" % (where, a))
                for fld in template_fields(spec["doc_to_text"]):
                    if not isinstance(d.get(fld), str):
                        problems.append("%s: template field %s missing" % (where, fld))
                ctx = render(spec["doc_to_text"], d)
                if len(ctx) > MAX_CONTEXT + 80 or any(len(c) > MAX_CONTEXT for c in ch):
                    problems.append("%s: context or choice too long" % where)
            texts[key] = [(d.get(key_fields[name]), d["choices"][d["answer"]]) for d in docs
                          if "choices" in d and "answer" in d]
            if key == "docs" and not docs:
                problems.append("%s: no documents" % name)
            if len(set(texts[key])) != len(texts[key]):
                problems.append("%s %s: repeated documents" % (name, key))
        if {t for t, _ in texts["docs"]} & {t for t, _ in texts["fewshot_docs"]}:
            problems.append("%s: few-shot documents overlap the evaluated ones" % name)
    with open(os.path.join(out_dir, "suite.json"), encoding="utf-8") as f:
        suite = json.load(f)
    if suite != {"suite": "exam", "tasks": [n + ".json" for n in names]}:
        problems.append("suite.json does not list the tasks")
    if total > MAX_TOTAL_BYTES:
        problems.append("task files total %d bytes (> %d)" % (total, MAX_TOTAL_BYTES))
    return problems, total


def write_file(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)


def gold_histogram(docs):
    c = Counter(d["answer"] for d in docs)
    return [c[i] for i in range(len(docs[0]["choices"]))] if docs else []


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", default=os.path.join(REPO, "assets", "corpora"),
                    help="directory of the canonical corpora (default: <repo>/assets/corpora)")
    ap.add_argument("--out", default=os.path.join(REPO, "tasks", "exam"),
                    help="output directory (default: <repo>/tasks/exam)")
    args = ap.parse_args(argv)
    try:
        if not os.path.isdir(args.corpora):
            raise BuildError("corpora directory %s does not exist" % args.corpora)
        missing = [n for n in REQUIRED if not os.path.isfile(os.path.join(args.corpora, n))]
        if missing:
            raise BuildError("missing corpora in %s: %s (run scripts/fetch-assets.sh)"
                             % (args.corpora, ", ".join(missing)))
        os.makedirs(args.out, exist_ok=True)
        results = []
        for name, build, _ in TASKS:
            spec, evald, fewshot, stats = build(args.corpora, random.Random(SEED))
            write_file(os.path.join(args.out, name + ".json"),
                       json.dumps(spec, ensure_ascii=False, indent=2) + "\n")
            write_file(os.path.join(args.out, spec["docs"]), dump_jsonl(evald))
            write_file(os.path.join(args.out, spec["fewshot_docs"]), dump_jsonl(fewshot))
            results.append((spec, evald, fewshot, stats))
            print("%-15s %3d evaluated, %2d few-shot, gold positions %s"
                  % (name, len(evald), len(fewshot), gold_histogram(evald)))
        write_file(os.path.join(args.out, "suite.json"),
                   json.dumps({"suite": "exam", "tasks": [n + ".json" for n, _, _ in TASKS]},
                              indent=2) + "\n")
        write_file(os.path.join(args.out, "README.md"), readme(results))
        problems, total = validate(args.out, [n for n, _, _ in TASKS],
                                   {n: k for n, _, k in TASKS})
        if problems:
            for p in problems:
                print("invalid: " + p, file=sys.stderr)
            raise BuildError("%d validation problem(s)" % len(problems))
        print("validated: %d files, %d bytes in %s" % (3 * len(TASKS) + 2, total, args.out))
    except BuildError as e:
        print("make_eval_tasks: error: %s" % e, file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------------------------
# README (counts filled in from the run)


def readme(results):
    r = {spec["name"]: (spec, e, f, s) for spec, e, f, s in results}

    def counts(name):
        _, e, f, _ = r[name]
        return "%d evaluated documents, %d few-shot documents; gold positions %s" % (
            len(e), len(f), gold_histogram(e))

    sp = r["austen_speaker"][3]
    speaker_lines = "\n".join(
        "  - %s: %s" % (t, ", ".join("%s (%d)" % kv for kv in sorted(v["speakers"].items(), key=lambda kv: -kv[1])))
        for t, v in sp.items())
    mp = r["minimal_pairs"][3]
    mp_lines = "\n".join(
        "  - `%s`: " % p + ", ".join("%s (%d candidates)" % kv for kv in rules.items())
        for p, rules in mp.items())
    mp_counts = Counter(d["phenomenon"] for d in r["minimal_pairs"][1])
    py = r["python_builtin"][3]
    cl = r["austen_cloze"][3]
    nov = r["austen_novel"][3]
    return f"""# The `exam` suite

Generated by `scripts/make_eval_tasks.py` (Python 3.11 standard library only) from the
canonical corpora in `assets/corpora/` (see `scripts/corpora.py` and the README's Assets section
for where they come from). Do not edit these files by hand; change the script and rerun:

    python3 scripts/make_eval_tasks.py [--corpora assets/corpora] [--out tasks/exam]

The run is deterministic: every task draws from its own `random.Random({SEED})`. Each task
is `<name>.json` (the task description, keys as `core/src/evalh/task.rs` parses them),
`<name>.jsonl` (the evaluated documents) and `<name>.fewshot.jsonl` (a separate few-shot
pool, disjoint from the evaluated documents, named by `fewshot_docs`). All tasks are
`multiple_choice` with metrics `acc` and `acc_norm`, `num_fewshot` 0 by default. Every
document has `choices` (a list of distinct strings) and `answer` (the gold index). The gold
choice is placed at a balanced random position (each index equally often, up to one, in a
seeded random order), the other choices shuffled around it. Documents also carry the gold
label by name and a `source` (`file:line` of the paragraph or entry) so any answer can be
checked against the text. `suite.json` lists the tasks.

Every answer is known by construction from the source text; nothing is labelled by hand.
The script validates what it writes (JSON, keys, distinct choices, valid gold index,
template fields present, few-shot pools disjoint from evaluated documents, size).

## Texts and licenses

- `kjv.txt`: the King James Bible (Authorized Version, 1611), as printed by the `bible`
  program: public domain (in the United Kingdom its printing remains under the Crown's
  letters patent).
- `austen-*.txt`: Jane Austen's six novels from the janeaustenr R package's Project
  Gutenberg texts (public domain).
- `python-docs.txt`: the Python 3.11 documentation sources (`.rst`), © Python Software
  Foundation, under the PSF License Agreement / the Python documentation license (the
  extracts used here are short sentences of that documentation).

Austen paragraphs are the lines between blank lines joined with spaces (italics underscores
removed, chapter/volume headings skipped); sentences break after `.`, `!` or `?` (and any
closing quotes) followed by a space and a capital, except after `Mr.`, `Mrs.`, `Dr.`, `St.`
and similar abbreviations and single capital initials.

## kjv_book (knowledge)

- Source: `kjv.txt`; a line `Book N` after a blank line opens chapter N of that book, a line
  `  N text` opens verse N, other lines continue the verse. The text is the verse without its
  number or reference (66 books, {r['kjv_book'][3]['verses_eligible']} eligible verses).
- Selection: verses of at least 12 words (and at most ~380 characters). The evaluated set is
  stratified by book: every book gives {N_EVAL // 66} verses and {N_EVAL % 66} randomly chosen
  books one more; the few-shot pool is one further verse from each of 20 randomly chosen books.
- Choices: the true book + 3 other distinct books drawn uniformly from the other 65 (full
  names as the headings give them, e.g. `Genesis`, `1 Samuel`, `Song of Solomon`).
- Prompt: `Verse: {{{{verse}}}}\\nBook:`; target delimiter `" "`.
- Counts: {counts('kjv_book')}.

## austen_novel (literature)

- Source: the six `austen-*.txt` novels.
- Selection: sentences of at least 15 words (at most ~370 characters) with balanced double
  quotes, deduplicated; per novel {N_EVAL // 6}–{N_EVAL // 6 + 1} evaluated and 3–4 few-shot
  sentences drawn at random (usable sentences per novel: {', '.join('%s %d' % kv for kv in nov.items())}).
- Choices: all six titles (`Emma`, `Mansfield Park`, `Northanger Abbey`, `Persuasion`,
  `Pride and Prejudice`, `Sense and Sensibility`), gold at a balanced random position.
- Prompt: `Passage: {{{{text}}}}\\nWhich Jane Austen novel is this from?\\nAnswer:`.
- Counts: {counts('austen_novel')}.

## austen_speaker (literature)

- Source: the six novels' paragraphs. A quotation is attributed when it ends in `,`, `!` or
  `?` and is immediately followed by an explicit speech tag, matched by

      {SPEECH_RE.pattern}

  i.e. `"...," said Mr. Knightley`, `"...!" cried Emma`, `"...?" replied Elinor`; the
  speaker is an optional title (Mr./Mrs./Dr. with or without the stop, Miss, Lady, Sir,
  Colonel, Captain, Admiral, Lord) and one or two capitalised words. Pronoun tags (`said
  he`) never match. The quote must begin at an opening quotation mark (an even number of `"`
  before it in the paragraph). The document gives the quote only (speech tag removed; a
  final `,` dropped, `!`/`?` kept), with at least 4 words, deduplicated.
- Speakers: per novel, the labels (exactly as the tag spells them) with at least
  {MIN_ATTRIBUTIONS} attributions:
{speaker_lines}
- Choices: the true speaker + 3 others drawn uniformly from the same novel's speakers,
  never one that may be the same character: the same name without titles (`Darcy` /
  `Mr. Darcy`), or a bare given name F and a label ending in X where the novel contains "F X"
  (`Mary` / `Miss Crawford` in Mansfield Park). Quotes whose speaker has fewer than 3 such
  distractors are dropped. Quotes are drawn at random from all usable ones, at most
  {MAX_PER_SPEAKER} per speaker (over both files, so the heroines do not dominate); the first
  {N_FEWSHOT} drawn form the few-shot pool. Evaluated documents per novel: {dict(sorted(Counter(d['novel'] for d in r['austen_speaker'][1]).items()))}.
- Prompt: `Novel: {{{{novel}}}}\\nQuote: "{{{{quote}}}}"\\nSpeaker:`.
- Counts: {counts('austen_speaker')}.

## python_builtin (technical)

- Source: `python-docs.txt`. The builtins page (`library/functions.rst`) is isolated inside
  the concatenation by its title `Built-in Functions` (underlined with `=`, after the
  `.. _built-in-funcs:` label) up to the next page title (functools'): lines {py['page_lines']}.
- Selection: every entry of that page: its `.. function::` entries and also its `.. class::`,
  `.. decorator::` and `.. awaitablefunction::` entries (`bool`, `int`, `str`,
  `classmethod`, `anext`, ...), which the page's own "Built-in Functions" table lists
  ({py['page_entries']} entries). The text is the first sentence of the entry's first description
  paragraph, inline reST markup reduced to plain text (`` :func:`iter` `` → `iter`,
  ``` ``x`` ``` → `x`, `*x*` → `x`, a `:ref:` to a label → that section's title),
  with every whole-word occurrence of the entry's own name replaced by `____`. The page has fewer than 200 entries, so all of them are evaluated.
- Few-shot pool: the page cannot spare 20 entries, so the 20 few-shot documents are
  `.. function::` entries from other modules of the documentation (the module is the last
  `.. module::` / `.. currentmodule::` above the entry; one entry per module; `test*`
  modules and names that are also builtins left out), built the same way,
  their distractors taken from the same module's functions. They are disjoint from the
  evaluated set by construction.
- Choices: the true name + 3 other names drawn uniformly from the same set (the builtins
  page, or the few-shot entry's module), never a name the masked sentence might also fit:
  one whose sentence becomes identical to the gold's when both names are masked
  (case-insensitively) in both (`set` / `frozenset`; cgitb's `text` / `html`), or one whose
  first signature shares two or more parameter names with the gold's (`hasattr` /
  `getattr` / `delattr`: object, name; `eval` / `exec`: globals, locals; `min` / `max`).
- Prompt: `Python documentation: {{{{description}}}}\\nThe name hidden as ____ is:`.
- Counts: {counts('python_builtin')}.

## austen_cloze (language)

- Source: the held-out part of `austen-persuasion.txt`: paragraphs that begin after the
  first {HELD_OUT_FROM:.1%} of its characters (from line {cl['held_out_from_line']} on). `scripts/bench-train.sh` fine-tunes on
  the first 90% of Persuasion's tokens (the from-scratch runs train on the other five
  novels); the extra 0.5% is a margin for characters standing in for tokens.
- Selection: sentences of at least 10 words (at most 400 characters, deduplicated) that end
  in a lower-case alphabetic word of at least 4 letters followed by `.`, `!` or `?` (and
  possibly a closing `"`). The context is the sentence without its last word and what
  follows it (a sentence inside dialogue keeps its opening `"`); the target is the word
  (delimiter `" "`). {cl['candidates']} held-out sentences qualify; all of them (up to {N_EVAL}) are evaluated.
- Few-shot pool: {N_FEWSHOT} sentences chosen the same way from the part before the cut (the
  training part), so no held-out sentence is spent on examples.
- Distractors: 3 words drawn uniformly from the {FREQ_WINDOW} words nearest the gold word in
  a frequency ranking of the lower-case alphabetic word types of at least 4 letters in all
  six novels ({cl['vocab']} types, ranked by how often each occurs in lower case, ties
  alphabetical; the window is centred on the gold word's rank and shifted at the ends of the
  list), excluding words that share the gold word's first four letters (inflections such as
  `walk`/`walked`). All choices are lower case, as the gold word is in the text.
- Prompt: `{{{{context}}}}`.
- Counts: {counts('austen_cloze')}.

## minimal_pairs (language)

- BLiMP-style: the context is empty (`doc_to_text` `""`, `target_delimiter` `""`) and the
  choices are a real sentence and a corrupted copy (order balanced); the model should give
  the original the higher likelihood. `phenomenon` and `rule` name the corruption.
- Source: sentences of 6–45 words (≤ 250 characters, balanced quotes) from the six novels;
  each sentence is used at most once; one rule applied at one randomly chosen match.
- Rules (each makes the sentence ungrammatical whatever the context, given the original was
  grammatical):
  - `subject_verb_agreement`: a nominative pronoun's verb given the wrong number: they/we
    were→was, are→is, have→has, do→does; he/she/it is→are; he/she/it has→have, does→do and
    he/she/it/I was→were only in sentences without any of the subjunctive triggers
    {', '.join(SUBJUNCTIVE_RE.pattern.split('(')[1].split(')')[0].split('|'))}
    (case-insensitive, anywhere in the sentence), since "if he were", "that she have" can
    be grammatical.
  - `determiner_a_an`: `a` → `an` before a lower-case word starting with a consonant letter
    other than h and x; `an` → `a` before a word starting with a, e, i or o (not `one`,
    `once`).
  - `pronoun_case_after_preposition`: after a preposition that cannot begin a clause
    ({PREPOSITIONS.replace('|', ', ')}), him/them/me/us → he/they/I/we.
  - `verb_form_after_auxiliary`: after would/could/should/must/shall/did/does/do (optionally
    followed by `not`), a bare irregular verb replaced by its past tense (`could not see` →
    `could not saw`); verbs whose past equals the base form are not in the table.
- Candidates per rule:
{mp_lines}
- Selection: per phenomenon {N_EVAL // len(PHENOMENA)} evaluated + {N_FEWSHOT // len(PHENOMENA)} few-shot pairs, round-robin over its
  rules. Evaluated per phenomenon: {dict(sorted(mp_counts.items()))}.
- Counts: {counts('minimal_pairs')}.
"""


if __name__ == "__main__":
    sys.exit(main())
