#!/usr/bin/env python3
"""bench/detect_score.py: scores eco-detect's alarms against ecosim's labels.

  detect_score.py --labels LABELS.jsonl --dsn DSN [--live] [--days N]

Reads the labelled incidents (ecosim --labels) and the alarms in rpt.alarm
(replayed ones, or live ones with --live) and prints, per incident kind, how
many were found (recall) and how late (detection delay from the incident's
start: median and p95), and over all alarms how many belong to an incident
(precision), per rule. Without labels (a clean run) it prints alarms per site
per week.

Matching (docs/DETECTION.md, "Scoring"):
- an incident is found when an alarm at its site (the hardest-hit station for
  a plume, the downstream station for a downstream river event, the vehicle
  for a mobile source) opened between 5 minutes before its start and an hour
  after its end (a plume that reached no station or vehicle, its `affected`
  empty, cannot be seen and is left out: the count is printed); for the kinds that name a parameter (exceedance, flatline,
  spike, negative, flag) the alarm must be of that parameter, for `offline`
  it must be an offline alarm;
- an alarm is a true positive when it opened between an hour before and three
  hours after an incident at its site (any site a plume reached with weight
  >= 0.05).
Needs only python3 and psql.
"""
import argparse
import csv
import io
import json
import statistics
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timedelta

PARAM_KINDS = {"exceedance", "flatline", "spike", "negative", "flag"}


def ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def alarms(dsn, live):
    sql = ("SELECT site, coalesce(param, ''), rule, to_char(opened_at AT TIME ZONE 'UTC', "
           "'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'), site_kind FROM rpt.alarm WHERE replay = %s" %
           ("false" if live else "true"))
    out = subprocess.run(["psql", "-XAtq", "--csv", "-d", dsn, "-c", sql], check=True,
                         capture_output=True, text=True).stdout
    rows = [r for r in csv.reader(io.StringIO(out)) if r]
    for r in rows:
        KINDS[r[0]] = r[4]
    return [(r[0], r[1], r[2], ts(r[3])) for r in rows]


KINDS = {}


def pct(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels")
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--live", action="store_true")
    ap.add_argument("--days", type=float, default=7)
    ap.add_argument("--sites", type=int, default=0, help="sites in the network (clean runs)")
    a = ap.parse_args()

    al = alarms(a.dsn, a.live)
    labels = []
    if a.labels:
        with open(a.labels, encoding="utf-8") as f:
            labels = [json.loads(line) for line in f if line.strip()]

    if not labels:
        per_site = defaultdict(int)
        for site, _, _, _ in al:
            per_site[site] += 1
        weeks = a.days / 7.0
        worst = max(per_site.values()) / weeks if per_site else 0
        by_rule = defaultdict(int)
        for _, _, rule, _ in al:
            by_rule[rule] += 1
        print("clean run: %d alarms over %.0f days; sites with alarms %d; worst site %.2f alarms/week"
              % (len(al), a.days, len(per_site), worst))
        print("by rule: " + " ".join("%s=%d" % kv for kv in sorted(by_rule.items())))
        if a.sites:
            print("mean alarms per site per week: %.3f" % (len(al) / a.sites / weeks))
        return 0

    # where each incident may be seen, for precision
    windows = defaultdict(list)  # site -> [(start, end)]
    for lb in labels:
        s, e = ts(lb["start"]), ts(lb["end"])
        sites = {lb["site"]}
        for aff in lb.get("affected") or []:
            if aff.get("weight", 0) >= 0.05:
                sites.add(aff["site"])
        for site in sites:
            windows[site].append((s - timedelta(hours=1), e + timedelta(hours=3)))

    by_site = defaultdict(list)
    for site, param, rule, opened in al:
        by_site[site].append((param, rule, opened))

    found = defaultdict(int)
    total = defaultdict(int)
    delays = defaultdict(list)
    missed = []
    unseen = []
    for lb in labels:
        kind = lb["kind"]
        if kind == "river" and lb.get("parent") is not None:
            kind = "river_downstream"
        if kind == "plume" and not any(a.get("weight", 0) >= 0.05
                                       for a in lb.get("affected") or []):
            unseen.append(lb)  # reached no station or vehicle: nothing to detect
            continue
        total[kind] += 1
        s, e = ts(lb["start"]), ts(lb["end"])
        best = None
        for param, rule, opened in by_site.get(lb["site"], []):
            if not (s - timedelta(minutes=5) <= opened <= e + timedelta(hours=1)):
                continue
            if lb["kind"] in PARAM_KINDS and param != lb.get("param"):
                continue
            if lb["kind"] == "offline" and rule != "offline":
                continue
            d = max(0.0, (opened - s).total_seconds() / 60)
            best = d if best is None or d < best else best
        if best is None:
            missed.append(lb)
        else:
            found[kind] += 1
            delays[kind].append(best)

    print("%-18s %6s %6s %7s %10s %10s" % ("kind", "labels", "found", "recall", "delay_p50",
                                          "delay_p95"))
    for kind in sorted(total):
        n, f = total[kind], found[kind]
        print("%-18s %6d %6d %7.3f %9.0fm %9.0fm" % (kind, n, f, f / n, pct(delays[kind], 0.5),
                                                     pct(delays[kind], 0.95)))
    if unseen:
        print("plumes that reached no station or vehicle (weight < 0.05 everywhere), not counted: %d"
              % len(unseen))
    tp = defaultdict(int)
    fp = defaultdict(int)
    fp_groups = defaultdict(int)
    for site, param, rule, opened in al:
        ok = any(lo <= opened <= hi for lo, hi in windows.get(site, []))
        (tp if ok else fp)[rule] += 1
        if not ok:
            fp_groups[(rule, KINDS.get(site, "?"), param)] += 1
    ntp, nfp = sum(tp.values()), sum(fp.values())
    print("alarms %d: true %d, false %d, precision %.3f" % (ntp + nfp, ntp, nfp,
                                                             ntp / max(1, ntp + nfp)))
    print("by rule (true/false): " + " ".join(
        "%s=%d/%d" % (r, tp[r], fp[r]) for r in sorted(set(tp) | set(fp))))
    top = sorted(fp_groups.items(), key=lambda kv: -kv[1])[:12]
    print("false alarms by rule, site kind, param: " +
          " ".join("%s/%s/%s=%d" % (k[0], k[1], k[2], n) for k, n in top), file=sys.stderr)
    for lb in missed[:20]:
        print("missed: %s %s %s %s..%s" % (lb["id"], lb["kind"], lb["site"], lb.get("param"),
                                          lb["start"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
