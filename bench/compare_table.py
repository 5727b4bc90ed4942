#!/usr/bin/env python3
"""Summarize a bench/compare-llamacpp run: one markdown table on stdout, all raw numbers in a JSON file.

usage: compare_table.py RAW_DIR OUT.json
       compare_table.py --settings RAW_DIR/settings.json KEY=VALUE...   (what the script writes first)

RAW_DIR holds what bench/compare-llamacpp wrote:
  settings.json                      the run's settings (model, threads, sizes, reps, engines, tests)
  r<REP>-<ENGINE>-<TEST>.json        the engine's --json output (one object)
  r<REP>-<ENGINE>-<TEST>.time        /usr/bin/time -f '%M %e %U %S': peak RSS (KB), wall, user, sys (s)
  r<REP>-<ENGINE>-<TEST>.cpu         machine-wide busy CPU ticks (1/100 s) before and after the run
  r<REP>-<ENGINE>-<TEST>.cmd         the command line
Standard library only.
"""
import json
import math
import os
import sys

CLK_TCK = 100
LABELS = {"g4": "g4", "llama": "llama.cpp", "llama-nommap": "llama.cpp --no-mmap"}


def mean_sd(xs):
    n = len(xs)
    if n == 0:
        return None, None
    m = sum(xs) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1)) if n > 1 else None
    return m, sd


def read_run(raw, rep, engine, test):
    base = os.path.join(raw, "r%d-%s-%s" % (rep, engine, test))
    with open(base + ".json") as f:
        result = json.loads(f.read().strip().splitlines()[-1])
    with open(base + ".time") as f:
        # GNU time writes "Command exited with non-zero status N" first when the command failed
        rss_kb, wall, user, sys_ = (float(x) for x in f.read().split()[-4:])
    with open(base + ".cpu") as f:
        busy0, busy1 = (int(x) for x in f.read().split())
    with open(base + ".cmd") as f:
        cmd = f.read().strip()
    other = max(0.0, (busy1 - busy0) / CLK_TCK - (user + sys_)) / wall if wall > 0 else None
    return {"engine": engine, "test": test, "rep": rep, "cmd": cmd, "result": result,
            "peak_rss_kb": int(rss_kb), "wall_s": wall, "user_s": user, "sys_s": sys_,
            "other_cpus": None if other is None else round(other, 3)}


def rows(st):
    """The table's rows: (key, label, unit, which is better, the test that measures it, its value in a run)."""
    out = []
    if "pptg" in st["tests"]:
        if st["pp"] > 0:
            out.append(("pp", "pp%d" % st["pp"], "tokens/s", "higher", "pptg", lambda r: r["result"]["pp"]))
        if st["tg"] > 0:
            out.append(("tg", "tg%d" % st["tg"], "tokens/s", "higher", "pptg", lambda r: r["result"]["tg"]))
    if "depth" in st["tests"]:
        out.append(("tg_depth", "tg%d after %d tokens of context" % (st["tg"], st["depth"]), "tokens/s",
                    "higher", "depth", lambda r: r["result"]["tg"]))
    if "ttft" in st["tests"]:
        out.append(("ttft", "time to first token, %d-token prompt" % st["ttft"], "s", "lower", "ttft",
                    lambda r: r["result"]["ttft_s"]))
    return out


def decimals(x):
    a = abs(x)
    return 0 if a >= 1000 else 1 if a >= 100 else 2 if a >= 1 else 3


def cell(m, sd):
    """mean ± stddev, both with the decimals that suit the mean"""
    if m is None:
        return "—"
    d = decimals(m)
    return "%.*f" % (d, m) if sd is None else "%.*f ± %.*f" % (d, m, d, sd)


def write_settings(path, pairs):
    """KEY=VALUE pairs as JSON: digits become integers, engines and tests (space-separated) lists."""
    st = {}
    for pair in pairs:
        k, v = pair.split("=", 1)
        st[k] = v.split() if k in ("engines", "tests") else int(v) if v.isdigit() else v
    with open(path, "w") as f:
        json.dump(st, f, indent=1)
        f.write("\n")


def main():
    if sys.argv[1] == "--settings":
        write_settings(sys.argv[2], sys.argv[3:])
        return
    raw, out_path = sys.argv[1], sys.argv[2]
    with open(os.path.join(raw, "settings.json")) as f:
        st = json.load(f)
    engines, reps = st["engines"], st["reps"]
    runs = [read_run(raw, rep, e, t) for rep in range(1, reps + 1) for e in engines for t in st["tests"]]

    def find(e, t, rep):
        return next(r for r in runs if (r["engine"], r["test"], r["rep"]) == (e, t, rep))

    summary = {e: {} for e in engines}
    table_rows = []
    for key, label, unit, better, test, get in rows(st):
        table_rows.append((key, "%s (%s)" % (label, unit), better))
        for e in engines:
            xs = [get(find(e, test, rep)) for rep in range(1, reps + 1)]
            m, sd = mean_sd(xs)
            summary[e][key] = {"mean": m, "stddev": sd, "samples": xs, "unit": unit}
    # peak RSS: per repetition the largest of the engine's processes, then mean over repetitions
    table_rows.append(("peak_rss", "peak RSS (GB)", "lower"))
    for e in engines:
        xs = [max(find(e, t, rep)["peak_rss_kb"] for t in st["tests"]) * 1024 / 1e9 for rep in range(1, reps + 1)]
        m, sd = mean_sd(xs)
        summary[e]["peak_rss"] = {"mean": m, "stddev": sd, "samples": xs, "unit": "GB"}

    # every ratio is oriented so that > 1 means g4 is better
    others = [e for e in engines if e != "g4"]
    head = ["test", "g4"]
    for e in others:
        head += [LABELS[e], "ratio vs %s (> 1: g4 better)" % LABELS[e]]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for key, label, better in table_rows:
        g = summary["g4"][key]
        cells = [label, cell(g["mean"], g["stddev"])]
        for e in others:
            o = summary[e][key]
            cells.append(cell(o["mean"], o["stddev"]))
            if not g["mean"] or not o["mean"]:
                cells.append("—")
            elif better == "higher":
                cells.append("g4/llama.cpp = %.2f×" % (g["mean"] / o["mean"]))
            else:
                cells.append("llama.cpp/g4 = %.2f×" % (o["mean"] / g["mean"]))
        lines.append("| " + " | ".join(cells) + " |")

    # /proc/stat counts in 1/100 s: over runs shorter than a few seconds the estimate is mostly rounding
    worst = max([r["other_cpus"] or 0.0 for r in runs if r["wall_s"] >= 3] + [0.0])
    model_gb = st["model_bytes"] / 1e9
    notes = [
        "",
        "%s (%.2f GB), %d threads, %s, engines interleaved (order flips every repetition), one process per "
        "engine and test." % (st["model"], model_gb, st["threads"],
                              "one repetition" if reps == 1 else "mean ± stddev over %d repetitions" % reps),
        "Peak RSS is /usr/bin/time's maximum resident set of each process (the largest of an engine's processes): "
        "llama.cpp maps the file by default, so its RSS counts page-cache pages of the model file; g4 reads the "
        "weights into (huge-page) anonymous memory; llama.cpp runs inside Node.js (node-llama-cpp), which adds "
        "~0.09 GB.",
    ]
    if worst > 0.1:
        notes.append("WARNING: other processes used up to %.2f CPUs during these runs: the numbers are noisy." % worst)
    table = "\n".join(lines + notes)
    print(table)

    with open(out_path, "w") as f:
        json.dump({"settings": st, "summary": summary, "table": table, "runs": runs}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
