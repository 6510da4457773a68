#!/usr/bin/env python3
"""BENCHMARKS.md's pruning tables and the calibration-study plot, from the results that
scripts/bench-prune.sh cached under bench/prune/ (missing runs show as "-").

    python3 scripts/bench_prune_table.py bench/prune      # prints markdown, writes the SVG
"""
import glob
import json
import math
import os
import statistics
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "bench/prune"


def load(sub):
    out = {}
    for path in glob.glob(os.path.join(root, sub, "*.json")):
        with open(path) as f:
            out[os.path.basename(path)[:-5]] = json.load(f)
    return out


main, calib = load("main"), load("calib")
PATTERNS = [("50", "50%"), ("2-4", "2:4"), ("4-8", "4:8"), ("70", "70%"), ("70-owl", "70% + OWL")]
METHODS = ["magnitude", "wanda", "sparsegpt", "fista"]


def cell(d, key, fmt):
    return fmt % d[key] if d and key in d else "-"


def context(results):
    rows = [r for r in results.values() if "date" in r]
    if not rows:
        return "no results yet"
    dates = sorted({r["date"] for r in rows})
    simd = sorted({r["simd"] for r in rows})
    cpus = sorted({r["cpu"] for r in rows})
    return "%s; %s; SIMD %s; threads %s" % (
        ", ".join(dates), "; ".join(cpus), "/".join(simd),
        "/".join(sorted({str(r["threads"]) for r in rows})))


print("Main table (%s)\n" % context(main))
dense = main.get("dense")
print("Perplexity on the held-out slice (Persuasion, 32 x 512, exact path); dense: %s\n"
      % cell(dense, "ppl", "%.2f"))
print("| method | " + " | ".join(label for _, label in PATTERNS) + " |")
print("|---|" + "---|" * len(PATTERNS))
for m in METHODS:
    print("| %s | " % m + " | ".join(
        cell(main.get("%s-%s" % (m, p)), "ppl", "%.2f") for p, _ in PATTERNS) + " |")
fwd = main.get("dense-forward-64x512")
fwd_s = fwd["windows"] * fwd["ctx"] / fwd["tokens_per_s"] if fwd else None
print("\nPruning wall time in seconds (calibration 64 x 512); one dense exact forward over "
      "the same number of tokens: %s s. In brackets: the ratio to it.\n"
      % ("%.1f" % fwd_s if fwd_s else "-"))
print("| method | " + " | ".join(label for _, label in PATTERNS) + " |")
print("|---|" + "---|" * len(PATTERNS))
for m in METHODS:
    cells = []
    for p, _ in PATTERNS:
        d = main.get("%s-%s" % (m, p))
        if d and "prune_seconds" in d:
            ratio = " (%.2fx)" % (d["prune_seconds"] / fwd_s) if fwd_s else ""
            cells.append("%.1f%s" % (d["prune_seconds"], ratio))
        else:
            cells.append("-")
    print("| %s | " % m + " | ".join(cells) + " |")

# The calibration study.
SOURCES = ["austen", "shakespeare", "kjv", "python-docs", "random", "selfgen"]
SETTINGS = [("wanda", "50"), ("wanda", "2-4"), ("wanda", "70"), ("sparsegpt", "2-4")]
print("\nCalibration study (%s)\n" % context(calib))
print("Perplexity on 16 x 512 of Persuasion; dense: %s. Wanda: mean ± half the spread of "
      "seeds 0 and 1.\n" % cell(calib.get("dense-8k"), "ppl", "%.2f"))
print("| calibration | " + " | ".join("%s %s" % (m, p.replace("-", ":")) for m, p in SETTINGS) + " |")
print("|---|" + "---|" * len(SETTINGS))
series = {}
for src in SOURCES:
    cells = []
    for m, p in SETTINGS:
        vals = [calib[k]["ppl"] for k in ("%s-%s-%s-s%d" % (src, m, p, s) for s in (0, 1))
                if k in calib]
        series[(src, m, p)] = vals
        if not vals:
            cells.append("-")
        elif len(vals) == 1:
            cells.append("%.2f" % vals[0])
        else:
            cells.append("%.2f ± %.2f" % (statistics.mean(vals), (max(vals) - min(vals)) / 2))
    print("| %s | " % src + " | ".join(cells) + " |")

# A grouped bar chart (log scale), one group per setting, one bar per source.
W, H, PAD, TOP = 760, 360, 60, 30
colors = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#b07aa1"]
vals = [v for vs in series.values() for v in vs]
svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
       'font-size="12">' % (W, H), '<rect width="100%" height="100%" fill="white"/>']
if vals:
    lo, hi = math.log10(min(vals) * 0.8), math.log10(max(vals) * 1.2)
    y = lambda v: TOP + (H - TOP - PAD) * (1 - (math.log10(v) - lo) / (hi - lo))
    gw = (W - 2 * PAD) / len(SETTINGS)
    bw = gw / (len(SOURCES) + 1)
    for tick in [10, 20, 50, 100, 200, 500, 1000, 2000, 5000]:
        if lo <= math.log10(tick) <= hi:
            svg.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>'
                       % (PAD, W - PAD, y(tick), y(tick)))
            svg.append('<text x="%d" y="%.1f" text-anchor="end">%d</text>' % (PAD - 4, y(tick) + 4, tick))
    for g, (m, p) in enumerate(SETTINGS):
        x0 = PAD + g * gw + bw / 2
        svg.append('<text x="%.1f" y="%d" text-anchor="middle">%s %s</text>'
                   % (x0 + bw * len(SOURCES) / 2, H - PAD + 18, m, p.replace("-", ":")))
        for i, src in enumerate(SOURCES):
            vs = series[(src, m, p)]
            if not vs:
                continue
            mean = statistics.mean(vs)
            x = x0 + i * bw
            svg.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>'
                       % (x, y(mean), bw * 0.9, H - PAD - y(mean), colors[i]))
            if len(vs) > 1:
                svg.append('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="black"/>'
                           % (x + bw * 0.45, x + bw * 0.45, y(max(vs)), y(min(vs))))
    for i, src in enumerate(SOURCES):
        svg.append('<rect x="%d" y="8" width="10" height="10" fill="%s"/><text x="%d" y="17">%s</text>'
                   % (PAD + i * 110, colors[i], PAD + i * 110 + 14, src))
    svg.append('<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">'
               'perplexity (log scale)</text>' % (H // 2, H // 2))
svg.append("</svg>")
with open(os.path.join(root, "calibration.svg"), "w") as f:
    f.write("\n".join(svg) + "\n")
