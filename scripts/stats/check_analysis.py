#!/usr/bin/env python3
"""Independent check of `bpt-lab analyse` on real data, in numpy (float64).

Reads the JSON that `bpt-lab analyse --out A.json --dump V.safetensors` wrote and the raw views
it dumped, recomputes every figure with numpy, and fails when one is off by more than its stated
tolerance. Prints the Markdown table of docs/results.md (kurtosis and fits per view).

Usage: python3 scripts/stats/check_analysis.py A.json V.safetensors
Needs numpy only (the safetensors file is parsed here: 8-byte header length, JSON header, data).
"""

import json
import math
import struct
import sys

import numpy as np

# Tolerances (the kernels accumulate in f32; the host merges in f64).
TOL = {
    "mean": 1e-5,        # times the std
    "variance": 1e-4,    # relative
    "skewness": 2e-3,    # absolute
    "kurtosis": 2e-3,    # relative to (excess kurtosis + 3)
    "beta": 2e-3,        # relative
    "loglik": 2e-4,      # absolute, nats per value
    "hist": 1e-5,        # share of values in a different bin, beyond those next to an edge
    "edge": 2e-7,        # "next to an edge": within this much of it, relative to the range
}


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        assert info["dtype"] == "F32", info
        out[name] = np.frombuffer(raw[8 + n + start:8 + n + end], dtype="<f4").reshape(info["shape"])
    return out


def gg_abs_ratio(beta):
    return math.exp(math.lgamma(2 / beta) - 0.5 * (math.lgamma(1 / beta) + math.lgamma(3 / beta)))


def solve_beta(ratio, lo=0.05, hi=20.0):
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if gg_abs_ratio(mid) < ratio:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def reference(x):
    x = x.astype(np.float64).ravel()
    x = x[np.isfinite(x)]
    mean, std = x.mean(), x.std()
    z = (x - mean) / std
    med = float(np.sort(x)[(len(x) - 1) // 2])  # lower median, as ours
    b = np.abs(x - med).mean()
    beta = solve_beta(np.abs(x - mean).mean() / std)
    alpha = (beta * (np.abs(x - mean) ** beta).mean()) ** (1 / beta)
    return {
        "mean": mean, "std": std, "variance": std ** 2,
        "skewness": (z ** 3).mean(), "excess_kurtosis": (z ** 4).mean() - 3,
        "median": med,
        "gauss_ll": -0.5 * math.log(2 * math.pi * std ** 2) - 0.5,
        "laplace_ll": -math.log(2 * b) - 1,
        "beta": beta,
        "gg_ll": math.log(beta / (2 * alpha)) - math.lgamma(1 / beta) - 1 / beta,
    }


def check(name, values, ours, failures):
    ref = reference(values)
    fits = ours["fits"]

    def close(what, got, want, tol):
        if not (abs(got - want) <= tol):
            failures.append(f"{name} {what}: ours {got} numpy {want} (tolerance {tol})")

    close("mean", ours["mean"], ref["mean"], TOL["mean"] * ref["std"])
    close("variance", ours["variance"], ref["variance"], TOL["variance"] * ref["variance"])
    close("skewness", ours["skewness"], ref["skewness"], TOL["skewness"])
    close("kurtosis", ours["excess_kurtosis"], ref["excess_kurtosis"], TOL["kurtosis"] * (ref["excess_kurtosis"] + 3))
    close("gaussian log-likelihood", fits["gaussian"]["avg_log_likelihood"], ref["gauss_ll"], TOL["loglik"])
    # The Laplace fit uses the histogram median (within one fine bin); its likelihood moves less.
    close("laplace log-likelihood", fits["laplace"]["avg_log_likelihood"], ref["laplace_ll"], 10 * TOL["loglik"])
    gg = fits["generalized_gaussian"]
    close("gg beta", gg["beta"], ref["beta"], TOL["beta"] * ref["beta"])
    close("gg log-likelihood", gg["avg_log_likelihood"], ref["gg_ll"], 10 * TOL["loglik"])
    h = ours["histogram"]
    edges = np.array(h["edges"], dtype=np.float64)
    flat = values.astype(np.float64).ravel()
    counts, _ = np.histogram(flat, bins=edges)
    moved = np.abs(counts - np.array(h["counts"])).sum() / 2
    # A value within f32 rounding of an inner edge may fall on either side of it.
    inner = edges[1:-1]
    near = np.abs(flat[:, None] - inner[None, :]) if flat.size * inner.size <= 5e7 else None
    slack = TOL["edge"] * max(abs(edges[0]), abs(edges[-1]))
    ambiguous = int((near <= slack).any(axis=1).sum()) if near is not None else \
        sum(int((np.abs(chunk[:, None] - inner[None, :]) <= slack).any(axis=1).sum())
            for chunk in np.array_split(flat, max(1, flat.size * inner.size // 20_000_000)))
    if moved > ambiguous + TOL["hist"] * values.size + 2:
        failures.append(f"{name} histogram: {moved} values in other bins than numpy's "
                        f"({ambiguous} within f32 rounding of an edge)")
    return ref


def main():
    analysis = json.load(open(sys.argv[1]))
    views = read_safetensors(sys.argv[2])
    failures = []
    rows = []
    labels = {"x": "X", "wq_wk": "entries of W_q W_k^T", "x_tilde": "X~ = W_q W_k^T X^T",
              "x_tilde_whitened": "whitened X~ (images it was fitted on)",
              "x_tilde_whitened_held_out": "whitened X~ (held-out images)"}
    sources = {"": "block input", "norm1.": "norm1 output"}
    for prefix, source in sources.items():
        for key, label in labels.items():
            name = prefix + key
            if name not in views:
                continue
            ours = analysis[key] if not prefix else analysis["norm1"][key]
            check(name, views[name], ours, failures)
            if key != "wq_wk":
                label = f"{label}, X = {source}"
            fits = ours["fits"]
            rows.append((label, ours["min"], ours["max"], ours["excess_kurtosis"], fits["generalized_gaussian"]["beta"],
                         fits["gaussian"]["avg_log_likelihood"], fits["laplace"]["avg_log_likelihood"],
                         fits["better_of_gaussian_and_laplace"]))
    for path, run in analysis.get("prompts", {}).items():
        ours = run["tokens"]
        fits = ours["fits"]
        rows.append((f"prompt tokens, {run['method']}", ours["min"], ours["max"], ours["excess_kurtosis"],
                     fits["generalized_gaussian"]["beta"], fits["gaussian"]["avg_log_likelihood"],
                     fits["laplace"]["avg_log_likelihood"], fits["better_of_gaussian_and_laplace"]))
    print(f"block {analysis['block']}, {analysis['images']} images ({analysis.get('fit_images')} to fit the whitening, "
          f"{analysis.get('held_out_images')} held out), {analysis['tokens']} tokens, {analysis['size']} px\n")
    print("| values | min | max | excess kurtosis | GG shape beta | Gaussian LL | Laplace LL | better fit |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.3g} | {r[2]:.3g} | {r[3]:.2f} | {r[4]:.3f} | {r[5]:.3f} | {r[6]:.3f} | {r[7]} |")
    if failures:
        print("\nMISMATCHES:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("\nall figures agree with numpy within the stated tolerances")


if __name__ == "__main__":
    main()
