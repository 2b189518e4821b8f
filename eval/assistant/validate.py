#!/usr/bin/env python3
"""Validate the realistic assistant question sets against the PIAF service-public corpus.

Files checked: dev-realistic.jsonl, heldout-realistic.jsonl, dev-english.jsonl and
heldout2-realistic.jsonl (development sets) and heldout3-realistic.jsonl (the held-out set).
dev-paris.jsonl (gold ids from the Paris knowledge base, not the corpus) is only used for the
check that no question is repeated across files.

Messages about the held-out file (HELDOUT below) name the file, the line and the problem only:
they never print its questions, answers or gold ids, so that running this script does not show
held-out content.

Usage: python3 eval/assistant/validate.py [path/to/corpus.jsonl]
Default corpus: /work/shared/data/service-public/piaf/corpus.jsonl
Exits non-zero on any hard error; prints counts and warnings.
"""
import difflib, json, re, sys, unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/service-public/piaf/corpus.jsonl")
OLD_DEV = CORPUS.parent / "dev-questions.jsonl"
FILES = {
    "dev": (HERE / "dev-realistic.jsonl", "rdev"),
    "heldout": (HERE / "heldout-realistic.jsonl", "rheld"),
    "dev-english": (HERE / "dev-english.jsonl", "rdeven"),
    "heldout2": (HERE / "heldout2-realistic.jsonl", "rheld2"),
    "heldout3": (HERE / "heldout3-realistic.jsonl", "rheld3"),
}
HELDOUT = {"heldout3"}  # messages about these files show line numbers and problems only
PARIS = HERE / "dev-paris.jsonl"  # other knowledge base: only checked for repeated questions
KEYS = {"id", "question", "lang", "in_scope", "gold_ids", "answers"}

def norm(s):
    s = unicodedata.normalize("NFKD", s.lower())
    s = "".join(c for c in s if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", s).split())

corpus = {}
for line in CORPUS.open(encoding="utf-8"):
    d = json.loads(line)
    corpus[d["id"]] = d
titles = {norm(d["title"]): i for i, d in corpus.items()}
old_dev_rows = [json.loads(l) for l in OLD_DEV.open(encoding="utf-8")] if OLD_DEV.exists() else []
old_dev = {norm(r["question"]) for r in old_dev_rows}
old_dev_gold = {g for r in old_dev_rows for g in r["gold_ids"]}

errors, warnings = [], []
seen_q = {}
if PARIS.exists():
    for l in PARIS.open(encoding="utf-8"):
        r = json.loads(l)
        nq = norm(r["question"])
        if nq in seen_q:
            errors.append(f"dev-paris:{r['id']}: duplicate question (also {seen_q[nq]})")
        seen_q[nq] = f"dev-paris:{r['id']}"
gold_by_file = {}
for name, (path, prefix) in FILES.items():
    rows = [json.loads(l) for l in path.open(encoding="utf-8")]
    gold = set()
    cats = Counter()
    n_answers = 0
    hidden = name in HELDOUT
    for n, r in enumerate(rows, 1):
        rid = r.get("id")
        where = f"{name}:line {n}" if hidden else f"{name}:{rid}"
        if set(r) != KEYS:
            errors.append(f"{where}: keys {sorted(r)}")
        if rid != f"{prefix}{n:03d}":
            errors.append(f"{where}: expected id {prefix}{n:03d}")
        if hidden and not all(isinstance(r.get(k), t) for k, t in
                              (("question", str), ("gold_ids", list), ("answers", list))):
            errors.append(f"{where}: question/gold_ids/answers of the wrong type")
            continue
        if r["lang"] not in ("fr", "en") or not isinstance(r["in_scope"], bool):
            errors.append(f"{where}: bad lang/in_scope")
        q = r["question"]
        nq = norm(q)
        if nq in seen_q:
            errors.append(f"{where}: duplicate question (also {seen_q[nq]})")
        seen_q[nq] = where
        if nq in titles:
            errors.append(f"{where}: question is the title of {titles[nq]}")
        if nq in old_dev:
            errors.append(f"{where}: question copied from piaf/dev-questions.jsonl")
        best = max(difflib.SequenceMatcher(None, nq, t).ratio() for t in titles)
        if best >= 0.8:
            warnings.append(f"{where}: question close to a title (ratio {best:.2f})")
        if not r["in_scope"]:
            if r["gold_ids"] or r["answers"]:
                errors.append(f"{where}: out-of-scope row with gold_ids/answers")
            cats["out_of_scope_or_injection_" + r["lang"]] += 1
            continue
        cats["in_scope_" + r["lang"]] += 1
        if not 1 <= len(r["gold_ids"]) <= 2 or not 1 <= len(r["answers"]) <= 3:
            errors.append(f"{where}: need 1-2 gold ids and 1-3 answers")
        if hidden and len(r["gold_ids"]) != 1:
            errors.append(f"{where}: in-scope row needs exactly one gold id")
        for g in r["gold_ids"]:
            if g not in corpus:
                errors.append(f"{where}: unknown gold id" + ("" if hidden else f" {g}"))
            gold.add(g)
        for k, a in enumerate(r["answers"], 1):
            n_answers += 1
            if not any(a in corpus[g]["text"] for g in r["gold_ids"] if g in corpus):
                errors.append(f"{where}: answer {k} not a verbatim substring of a gold sheet"
                              + ("" if hidden else f": {a!r}"))
            w = len(a.split())
            if not 5 <= w <= 20:
                warnings.append(f"{where}: answer {k} has {w} words" + ("" if hidden else f": {a!r}"))
    gold_by_file[name] = gold
    print(f"{name}: {len(rows)} rows, {dict(sorted(cats.items()))}, {len(gold)} distinct gold sheets, {n_answers} answer facts")

names = list(FILES)
for i, a in enumerate(names):
    for b in names[i + 1:]:
        overlap = gold_by_file[a] & gold_by_file[b]
        if a in HELDOUT or b in HELDOUT:
            print(f"gold sheets shared by {a} and {b}: {len(overlap)}")  # ids of held-out sheets not shown
            continue
        shown = sorted(overlap) if len(overlap) <= 12 else sorted(overlap)[:12] + ["..."]
        print(f"gold sheets shared by {a} and {b}: {len(overlap)} {shown}")
# The new held-out set must not share gold sheets with the English development set, and at
# least half of its gold sheets must be sheets that the older files do not use as gold.
h2 = gold_by_file["heldout2"]
if h2 & gold_by_file["dev-english"]:
    errors.append(f"heldout2 shares gold sheets with dev-english: {sorted(h2 & gold_by_file['dev-english'])}")
older = gold_by_file["dev"] | gold_by_file["heldout"]
new_h2 = h2 - older
print(f"heldout2 gold sheets not used as gold by dev-realistic or heldout-realistic: {len(new_h2)} of {len(h2)}")
if 2 * len(new_h2) < len(h2):
    errors.append("fewer than half of the heldout2 gold sheets are new")
# The held-out set of 2026-11-26 (heldout3) follows the heldout2 rules: no gold sheet shared with
# dev-english, and at least 75 % of its gold sheets are not gold in any older file (the four
# files above and the PIAF dev-questions.jsonl).
h3 = gold_by_file["heldout3"]
if h3 & gold_by_file["dev-english"]:
    errors.append(f"heldout3 shares {len(h3 & gold_by_file['dev-english'])} gold sheet(s) with dev-english")
older3 = gold_by_file["dev"] | gold_by_file["heldout"] | gold_by_file["dev-english"] | gold_by_file["heldout2"] | old_dev_gold
new_h3 = h3 - older3
print(f"heldout3 gold sheets not used as gold by any older file (incl. PIAF dev-questions): {len(new_h3)} of {len(h3)}")
if 4 * len(new_h3) < 3 * len(h3):
    errors.append("fewer than 75 % of the heldout3 gold sheets are new")
for w in warnings:
    print("WARN", w)
for e in errors:
    print("ERROR", e)
print("OK" if not errors else f"{len(errors)} error(s)", f"({len(warnings)} warning(s))")
sys.exit(1 if errors else 0)
