#!/usr/bin/env python3
"""Fits the assistant's reranker (crates/assistant/src/rerank.rs) on development sets only.

Input: files written by `parvis assistant eval --questions DEV.jsonl --rank-features OUT.jsonl`
(one line per in-scope question: its gold ids and its first-stage candidates with features).
Model: a linear score per candidate, softmax over each question's candidates, cross-entropy on
the gold sheet, L2 penalty; questions whose gold sheet is not among the candidates are skipped.
It prints a leave-one-file-out table (recall@1 and @5 of the first stage and of the reranker on
each file, fitted on the others) and then the weights fitted on all files, to paste into
rerank.rs. Never pass it the held-out set (heldout2-realistic.jsonl).

Usage: python3 eval/assistant/fit_reranker.py [--l2 0.01] [--keep 0] [--drop I,J] FILE.rf.jsonl [FILE:WEIGHT ...]
"""
import json
import sys

import numpy as np


def load(path):
    questions = []
    for line in open(path, encoding="utf-8"):
        row = json.loads(line)
        ids = [c["id"] for c in row["candidates"]]
        x = np.array([c["features"] for c in row["candidates"]], dtype=float)
        gold = [i for i, cid in enumerate(ids) if cid in row["gold_ids"]]
        questions.append((x, gold[0] if gold else None))
    return questions


def fit(questions, weights_of_rows, l2, dim):
    w = np.zeros(dim)
    w[0] = 1.0
    usable = [(x, g, sw) for (x, g), sw in zip(questions, weights_of_rows) if g is not None and len(x) > 1]
    lr = 0.05
    m = np.zeros(dim)
    v = np.zeros(dim)
    for step in range(1, 3001):
        grad = l2 * w.copy()
        total = sum(sw for _, _, sw in usable)
        for x, g, sw in usable:
            s = x @ w
            s -= s.max()
            p = np.exp(s)
            p /= p.sum()
            grad += sw * (x.T @ p - x[g]) / total
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        w -= lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return w


def recall(questions, w, k, keep=0.0):
    """Recall@k; `keep` is a bonus of the first stage's best candidate (it keeps its place
    unless another beats it by that much)."""
    hits = 0
    for x, g in questions:
        if g is None:
            continue
        if w is None:
            order = np.arange(len(x))
        else:
            s = x @ w
            s[0] += keep
            order = np.argsort(-s, kind="stable")
        hits += g in list(order[:k])
    return hits / len(questions)


def main():
    args = sys.argv[1:]
    l2 = 0.01
    keep = 0.0
    drop = []
    while args and args[0] in ("--l2", "--keep", "--drop"):
        if args[0] == "--l2":
            l2 = float(args[1])
        elif args[0] == "--keep":
            keep = float(args[1])
        else:
            drop = [int(i) for i in args[1].split(",")]
        args = args[2:]
    files = []
    for arg in args:
        path, _, weight = arg.partition(":")
        questions = load(path)
        for x, _ in questions:
            if x.ndim == 2:
                x[:, drop] = 0.0
        files.append((path, questions, float(weight or 1)))
    dim = len(files[0][1][0][0][0])
    print("| file | n | first-stage r@1 | reranked r@1 | first-stage r@5 | reranked r@5 |")
    print("|---|---:|---:|---:|---:|---:|")
    for i, (path, qs, _) in enumerate(files):
        train, sw = [], []
        for j, (_, other, weight) in enumerate(files):
            if j != i:
                train += other
                sw += [weight] * len(other)
        w = fit(train, sw, l2, dim)
        print(f"| {path.split('/')[-1]} | {len(qs)} | {recall(qs, None, 1):.3f} | {recall(qs, w, 1, keep):.3f} "
              f"| {recall(qs, None, 5):.3f} | {recall(qs, w, 5, keep):.3f} |")
    train, sw = [], []
    for _, qs, weight in files:
        train += qs
        sw += [weight] * len(qs)
    w = fit(train, sw, l2, dim)
    print("\nweights fitted on all files:")
    print("[" + ", ".join(f"{x:.4}" for x in w) + "]")


if __name__ == "__main__":
    main()
