#!/usr/bin/env python3
"""tests/harness/validate_json.py: checks the MQTT payload schemas and messages.

Needs Debian's python3-jsonschema (4.10 in bookworm) and python3-yaml; installs
nothing. Used by tests/integration/schemas_test.sh and by hand:

  validate_json.py selftest SCHEMADIR
      every schema is a valid draft 2020-12 schema with $id, title, description
      and examples; every example validates; every deliberately invalid payload
      below is rejected, for the reason it was written for; $defs of the same
      name are identical in every file; date-time formats are enforced.
  validate_json.py asyncapi ASYNCAPI SCHEMADIR
      the AsyncAPI document parses, every $ref resolves (files and pointers),
      channels, parameters, operations and messages fit together, QoS 1
      everywhere, retained exactly on the contract's retained topics, every
      schema file is used.
  validate_json.py messages ASYNCAPI [--format jsonl|tsv] [--retained]
                   [--require CHANNEL=N ...] [--only-dlq-prefix P] FILE
      messages captured with `mosquitto_sub -F %j` (jsonl) or printed as
      `topic TAB payload` (tsv, e.g. ecosim --stdout): each topic is matched
      to its channel in the AsyncAPI document and its payload validated
      against the channel's message schema; QoS must be 1; a retained
      message must be on a retained channel (--retained: every message must
      be retained).
  validate_json.py cases PREFIX OUTDIR
      writes the readings inputs of the live test to OUTDIR (NN.json, and
      cases.tsv with `NN.json TAB device` lines; devices PREFIX-d0..d2,
      PREFIX-m0, PREFIX-dX).
  validate_json.py inputs SCHEMADIR PREFIX DLQFILE
      for each of those inputs, compares the schema's verdict and eco-ingest's
      (dead-lettered or not, from the captured eco/v1/dlq/ingest messages)
      with the expectation written next to the input.
  validate_json.py check SCHEMA FILE|-
      validates one payload by hand; prints the errors.

Exit status 0 when everything holds, 1 otherwise (with one line per problem).
"""

import argparse
import copy
import datetime
import json
import math
import os
import re
import sys

try:
    import jsonschema
    import yaml
    from jsonschema import Draft202012Validator, FormatChecker
except ImportError as e:  # pragma: no cover
    sys.stderr.write(
        "validate_json.py: %s; install Debian's python3-jsonschema and python3-yaml "
        "(deploy/install-deps.sh)\n" % e)
    sys.exit(2)

RETAINED_CHANNELS = {
    # the contract's "retained: yes" rows
    "eco/v1/latest/{site}/{param}",
    "eco/v1/gep/{region}/{year}",
    "eco/v1/report/{kind}/{period}",
    "eco/v1/sys/{service}/{instance}",
}
CONTRACT_CHANNELS = {
    "eco/v1/in/{device}",
    "eco/v1/obs/{site}",
    "eco/v1/latest/{site}/{param}",
    "eco/v1/dlq/{service}",
    "eco/v1/alarm/{site}/{param}",
    "eco/v1/complaint/new",
    "eco/v1/wo/{dept}/{id}",
    "eco/v1/rpc/{service}/{method}/{caller}",
    "eco/v1/gep/{region}/{year}",
    "eco/v1/report/{kind}/{period}",
    "eco/v1/sys/{service}/{instance}",
}

problems = []


def problem(msg):
    problems.append(msg)
    print("NOT OK: " + msg)


# ---------------------------------------------------------------- parsing --

class JSONError(ValueError):
    pass


def _no_constant(name):
    raise JSONError("%s is not JSON" % name)


def _finite_float(s):
    v = float(s)
    if math.isinf(v) or math.isnan(v):
        raise JSONError("number %s is not finite" % s)
    return v


def _int_as_double(s):
    v = int(s)
    if abs(v) > sys.float_info.max:
        raise JSONError("number %s does not fit a double" % s)
    return v


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise JSONError("duplicate member %r" % k)
        out[k] = v
    return out


def parse_json(text):
    """Strict JSON: no NaN/Infinity, no number that overflows a double (as
    cJSON/eco-ingest see it), no duplicate members (ambiguous: cJSON reads
    the first, most others the last)."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float,
                      parse_int=_int_as_double, object_pairs_hook=_no_duplicates)


# --------------------------------------------------------------- formats --

RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})([.][0-9]+)?"
    r"(?:[Zz]|[+-]([0-9]{2}):([0-9]{2}))")


def is_rfc3339(s):
    """RFC 3339 date-time with an offset, checked as a calendar date. Debian's
    jsonschema checks "date-time" only with the rfc3339-validator module,
    which bookworm does not package: without this, format would be ignored."""
    if not isinstance(s, str):
        return True
    m = RFC3339.fullmatch(s)
    if not m:
        return False
    y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
    try:
        datetime.date(y, mo, d)
    except ValueError:
        return False
    if h > 23 or mi > 59 or sec > 60:
        return False
    if m.group(8) is not None and (int(m.group(8)) > 23 or int(m.group(9)) > 59):
        return False
    return True


def format_checker():
    fc = FormatChecker()
    fc.checks("date-time")(is_rfc3339)
    return fc


FC = format_checker()


def validator(schema, formats=True):
    return Draft202012Validator(schema, format_checker=FC if formats else None)


def error_keywords(errors):
    """Every failing keyword in an error tree (oneOf/anyOf keep theirs in
    context)."""
    out = set()
    stack = list(errors)
    while stack:
        e = stack.pop()
        out.add(e.validator)
        stack.extend(e.context or [])
    return out


def describe(errors):
    parts = []
    for e in sorted(errors, key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        parts.append("%s: %s" % (where, e.message[:200]))
    return "; ".join(parts)


def load_schemas(sdir):
    schemas = {}
    for name in sorted(os.listdir(sdir)):
        if not name.endswith(".schema.json"):
            continue
        path = os.path.join(sdir, name)
        try:
            with open(path, encoding="utf-8") as f:
                schemas[name] = parse_json(f.read())
        except (OSError, ValueError) as e:
            problem("%s: cannot read: %s" % (name, e))
    return schemas


# ------------------------------------------------------- invalid payloads --
#
# Each case: (what is wrong, payload, keyword that must be among the
# failures[, "format"]). "format" marks a case only the date-time format
# check catches (the pattern lets it through); every other case must be
# rejected without a format checker too.

def _with(base, path, value):
    """Copy of base with the member at path (a/b/c) set; value DELETE removes."""
    doc = copy.deepcopy(base)
    keys = path.split("/")
    cur = doc
    for k in keys[:-1]:
        cur = cur[int(k)] if isinstance(cur, list) else cur[k]
    last = keys[-1]
    if value is DELETE:
        del cur[last]
    elif isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value
    return doc


DELETE = object()

READING = {"ts": "2021-06-01T08:00:00+08:00", "period": "hour",
           "values": {"pm25": 35.2, "so2": {"v": 8, "flag": "N"}},
           "lat": 30.012, "lon": 122.107}
OBS_OBJ = {"device": "ZS-d0", "ts": "2021-06-01T08:00:00+08:00", "period": "hour",
           "values": {"pm25": {"v": 35.2, "unit": "ug/m3", "flag": "N"}}}
OBS = {"site": "ZS-s0", "readings": [OBS_OBJ]}
EVENT = {"site": "gas-ys01-1", "device": "33092100A100000000000001", "st": "31", "cn": "2081",
         "kind": "restart", "qn": "20210601130000000", "flag": 5,
         "ts": "2021-06-01T12:59:00+08:00", "peer": "10.1.2.3:40112",
         "cp": {"RestartTime": "20210601125900"}}
LATEST = {"v": 3, "unit": "ug/m3", "flag": "N", "ts": "2021-06-01T09:00:00+08:00", "period": "hour"}
DLQ = {"topic": "eco/v1/in/ZS-dX", "payload": "{}", "reason": "unknown device ZS-dX",
       "time": "2021-06-01T01:00:02.125Z"}
STATUS = {"status": "online", "version": "0.1.0", "ts": "2021-06-01T00:00:05.120Z",
          "counters": {"received": 12, "stored": 40}}
COMPLAINT = {"ts": "2021-06-01T07:30:00+08:00", "category": "air",
             "text": "strong chemical smell near the harbour since 7am",
             "lat": 30.245, "lon": 122.201, "contact": "13800000000"}
ALARM = {"id": 42, "site": "air-pt06", "param": "pm25", "rule": "limit", "severity": "major",
         "state": "raised", "value": 180.5, "limit": 75, "ts": "2021-06-01T09:00:00+08:00",
         "opened_at": "2021-06-01T09:00:00+08:00"}
WO = {"id": 1001, "dept": "ZS-DH-EPB", "ts": "2021-06-01T09:05:00+08:00", "prev_state": "new",
      "state": "assigned", "actor": "eco-dispatch", "note": None,
      "deadline": "2021-06-01T13:05:00+08:00"}
GEP = {"region": "ZS-DS", "year": 2020,
       "totals": {"provisioning": 1.0, "regulating": 2.0, "cultural": 0.5, "total": 3.5},
       "services": [{"category": "regulating", "service": "water_conservation", "value_yuan": 2.0}]}

INVALID = {
    "readings-in.schema.json": [
        ("empty object", {}, "required"),
        ("ts without offset", _with(READING, "ts", "2021-06-01T08:00:00"), "pattern"),
        ("ts with a space for T", _with(READING, "ts", "2021-06-01 08:00:00+08:00"), "pattern"),
        ("ts 10 fraction digits", _with(READING, "ts", "2021-06-01T08:00:00.1234567890+08:00"),
         "pattern"),
        ("ts 30 February", _with(READING, "ts", "2021-02-30T08:00:00+08:00"), "format", "format"),
        ("ts with a trailing newline", _with(READING, "ts", "2021-06-01T08:00:00+08:00\n"),
         "format", "format"),
        ("ts a number", _with(READING, "ts", 1622505600), "type"),
        ("period week", _with(READING, "period", "week"), "enum"),
        ("period missing", _with(READING, "period", DELETE), "required"),
        ("values empty", _with(READING, "values", {}), "minProperties"),
        ("values an array", _with(READING, "values", [35.2]), "type"),
        ("value a string", _with(READING, "values/pm25", "35.2"), "oneOf"),
        ("value null", _with(READING, "values/pm25", None), "oneOf"),
        ("value object without v", _with(READING, "values/so2", {"flag": "N"}), "oneOf"),
        ("flag two letters", _with(READING, "values/so2/flag", "NN"), "oneOf"),
        ("flag empty", _with(READING, "values/so2/flag", ""), "oneOf"),
        ("unit empty", _with(READING, "values/so2/unit", ""), "oneOf"),
        ("parameter code PM2.5", _with(READING, "values", {"PM2.5": 35.2}), "pattern"),
        ("lat without lon", _with(READING, "lon", DELETE), "dependentRequired"),
        ("lat 91", _with(READING, "lat", 91), "maximum"),
        ("lon -181", _with(READING, "lon", -181), "minimum"),
        ("lat a string", _with(READING, "lat", "30.012"), "type"),
        ("a JSON array", [READING], "type"),
        ("readings not an array", {"readings": READING}, "type"),
        ("readings empty", {"readings": []}, "minItems"),
        ("readings with one bad object",
         {"readings": [READING, _with(READING, "period", "week")]}, "enum"),
        ("readings of numbers", {"readings": [1, 2]}, "type"),
    ],
    "obs.schema.json": [
        ("site missing", _with(OBS, "site", DELETE), "required"),
        ("site with a space", _with(OBS, "site", "ZS s0"), "pattern"),
        ("readings missing", _with(OBS, "readings", DELETE), "required"),
        ("readings empty", _with(OBS, "readings", []), "minItems"),
        ("readings an object", _with(OBS, "readings", OBS_OBJ), "type"),
        ("the old one-object shape", dict(OBS_OBJ, site="ZS-s0"), "required"),
        ("device missing", _with(OBS, "readings/0/device", DELETE), "required"),
        ("value a plain number", _with(OBS, "readings/0/values/pm25", 35.2), "type"),
        ("value without unit", _with(OBS, "readings/0/values/pm25/unit", DELETE), "required"),
        ("value without flag", _with(OBS, "readings/0/values/pm25/flag", DELETE), "required"),
        ("flag empty", _with(OBS, "readings/0/values/pm25/flag", ""), "pattern"),
        ("ts without offset", _with(OBS, "readings/0/ts", "2021-06-01T08:00:00"), "pattern"),
        ("period hourly", _with(OBS, "readings/0/period", "hourly"), "enum"),
        ("values empty", _with(OBS, "readings/0/values", {}), "minProperties"),
        ("lon without lat", _with(OBS, "readings/0/lon", 122.2), "dependentRequired"),
        ("lat out of range", _with(OBS, "readings/0", dict(OBS_OBJ, lat=-91, lon=0)), "minimum"),
        ("second object bad", _with(OBS, "readings", [OBS_OBJ, dict(OBS_OBJ, period="week")]), "enum"),
    ],
    "device-event.schema.json": [
        ("site missing", _with(EVENT, "site", DELETE), "required"),
        ("cp missing", _with(EVENT, "cp", DELETE), "required"),
        ("kind unknown", _with(EVENT, "kind", "reboot"), "enum"),
        ("cn not digits", _with(EVENT, "cn", "20x1"), "pattern"),
        ("flag a string", _with(EVENT, "flag", "5"), "type"),
        ("cp value a number", _with(EVENT, "cp/RestartTime", 20210601125900), "type"),
        ("ts without offset", _with(EVENT, "ts", "2021-06-01T12:59:00"), "pattern"),
        ("pnum without pno", dict(EVENT, pnum=2), "dependentRequired"),
    ],
    "latest.schema.json": [
        ("ts missing", _with(LATEST, "ts", DELETE), "required"),
        ("v a string", _with(LATEST, "v", "3"), "type"),
        ("unit missing", _with(LATEST, "unit", DELETE), "required"),
        ("period 5min", _with(LATEST, "period", "5min"), "enum"),
        ("flag NN", _with(LATEST, "flag", "NN"), "pattern"),
        ("ts an hour that does not exist", _with(LATEST, "ts", "2021-06-01T24:00:00+08:00"),
         "pattern"),
    ],
    "dlq.schema.json": [
        ("reason missing", _with(DLQ, "reason", DELETE), "required"),
        ("payload an object", _with(DLQ, "payload", {}), "type"),
        ("time in epoch seconds", _with(DLQ, "time", "1622509200"), "pattern"),
        ("topic empty", _with(DLQ, "topic", ""), "minLength"),
        ("reason empty", _with(DLQ, "reason", ""), "minLength"),
    ],
    "sys-status.schema.json": [
        ("status running", _with(STATUS, "status", "running"), "enum"),
        ("version missing", _with(STATUS, "version", DELETE), "required"),
        ("neither ts nor since", _with(STATUS, "ts", DELETE), "anyOf"),
        ("a negative counter", _with(STATUS, "counters/received", -1), "minimum"),
        ("a fractional counter", _with(STATUS, "counters/stored", 1.5), "type"),
        ("an unknown counter as a string", _with(STATUS, "counters/lag", "3"), "type"),
        ("ts without offset", _with(STATUS, "ts", "2021-06-01T08:00:00"), "pattern"),
        ("since 31 April", {"status": "offline", "version": "0.1.0",
                            "since": "2021-04-31T00:00:00Z"}, "format", "format"),
    ],
    "complaint.schema.json": [
        ("category smell", _with(COMPLAINT, "category", "smell"), "enum"),
        ("lat missing", _with(COMPLAINT, "lat", DELETE), "required"),
        ("text blank", _with(COMPLAINT, "text", "   "), "pattern"),
        ("text empty", _with(COMPLAINT, "text", ""), "minLength"),
        ("lon 200", _with(COMPLAINT, "lon", 200), "maximum"),
        ("contact a number", _with(COMPLAINT, "contact", 13800000000), "type"),
        ("ts without offset", _with(COMPLAINT, "ts", "2021-06-01T07:30:00"), "pattern"),
    ],
    "alarm-event.schema.json": [
        ("state open (an alarm state, not an event)", _with(ALARM, "state", "open"), "enum"),
        ("limit missing", _with(ALARM, "limit", DELETE), "required"),
        ("cleared without cleared_at", _with(ALARM, "state", "cleared"), "required"),
        ("cleared with cleared_at null",
         dict(ALARM, state="cleared", cleared_at=None), "type"),
        ("value a string", _with(ALARM, "value", "high"), "type"),
        ("id 0", _with(ALARM, "id", 0), "minimum"),
        ("param PM2.5", _with(ALARM, "param", "PM2.5"), "pattern"),
        ("opened_at missing", _with(ALARM, "opened_at", DELETE), "required"),
    ],
    "wo-event.schema.json": [
        ("actor missing", _with(WO, "actor", DELETE), "required"),
        ("deadline tomorrow", _with(WO, "deadline", "tomorrow"), "anyOf"),
        ("prev_state missing", _with(WO, "prev_state", DELETE), "required"),
        ("note missing", _with(WO, "note", DELETE), "required"),
        ("state Closed", _with(WO, "state", "Closed"), "pattern"),
        ("source email", _with(WO, "source", "email"), "enum"),
        ("note a number", _with(WO, "note", 5), "type"),
    ],
    "gep-summary.schema.json": [
        ("totals without cultural", _with(GEP, "totals/cultural", DELETE), "required"),
        ("year a string", _with(GEP, "year", "2020"), "type"),
        ("total a string", _with(GEP, "totals/total", "3.5"), "type"),
        ("service of category total", _with(GEP, "services/0/category", "total"), "enum"),
        ("region with a space", _with(GEP, "region", "ZS DS"), "pattern"),
        ("totals missing", _with(GEP, "totals", DELETE), "required"),
    ],
    "report.schema.json": [
        ("kind missing", {"period": "2021-06"}, "required"),
        ("kind with a slash", {"kind": "aqi/daily", "period": "2021-06"}, "pattern"),
        ("an array", [], "type"),
        ("period a number", {"kind": "aqi_daily", "period": 2021}, "type"),
    ],
    "rpc-request.schema.json": [
        ("an array", [], "type"),
        ("a string", "gep run", "type"),
        ("null", None, "type"),
    ],
    "rpc-reply.schema.json": [
        ("no ok", {}, "required"),
        ("refused without error", {"ok": False}, "required"),
        ("ok a string", {"ok": "yes"}, "type"),
        ("error empty", {"ok": False, "error": ""}, "minLength"),
    ],
}


def cmd_selftest(args):
    schemas = load_schemas(args.schemadir)
    if not schemas:
        problem("no *.schema.json in %s" % args.schemadir)
        return
    n_examples = n_invalid = n_rejected = 0
    defs_seen = {}
    for name, schema in schemas.items():
        try:
            Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            problem("%s: not a valid draft 2020-12 schema: %s" % (name, e.message))
            continue
        if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            problem("%s: $schema is not draft 2020-12" % name)
        if not str(schema.get("$id", "")).endswith("/" + name):
            problem("%s: $id %r does not end with the file name" % (name, schema.get("$id")))
        for key in ("title", "description"):
            if not isinstance(schema.get(key), str) or not schema[key].strip():
                problem("%s: no %s" % (name, key))
        examples = schema.get("examples")
        if not isinstance(examples, list) or not examples:
            problem("%s: no examples" % name)
            examples = []
        v = validator(schema)
        for i, ex in enumerate(examples):
            n_examples += 1
            errs = list(v.iter_errors(ex))
            if errs:
                problem("%s: examples[%d] is invalid: %s" % (name, i, describe(errs)))
        cases = INVALID.get(name, [])
        if len(cases) < 3:
            problem("%s: fewer than 3 invalid payloads in validate_json.py INVALID" % name)
        v_nofmt = validator(schema, formats=False)
        for case in cases:
            what, payload, keyword = case[:3]
            format_only = len(case) > 3 and case[3] == "format"
            n_invalid += 1
            errs = list(v.iter_errors(payload))
            if not errs:
                problem("%s: accepted an invalid payload (%s): %s"
                        % (name, what, json.dumps(payload)[:200]))
                continue
            n_rejected += 1
            kws = error_keywords(errs)
            if keyword not in kws:
                problem("%s: %s: rejected for %s, not for %s (%s)"
                        % (name, what, sorted(kws), keyword, describe(errs)))
            caught_without_format = bool(list(v_nofmt.iter_errors(payload)))
            if format_only and caught_without_format:
                problem("%s: %s: marked format-only but the schema rejects it without "
                        "checking formats" % (name, what))
            if not format_only and not caught_without_format:
                problem("%s: %s: rejected only by the format check; the schema itself "
                        "should catch it" % (name, what))
        for dname, d in (schema.get("$defs") or {}).items():
            if dname in defs_seen and defs_seen[dname][1] != d:
                problem("%s: $defs/%s differs from the one in %s"
                        % (name, dname, defs_seen[dname][0]))
            defs_seen.setdefault(dname, (name, d))
    for name in INVALID:
        if name not in schemas:
            problem("INVALID lists %s, which is not in %s" % (name, args.schemadir))
    # The checker itself: an offset-less time and an impossible date fail.
    fv = validator({"type": "string", "format": "date-time"})
    for good in ("2021-06-01T08:00:00+08:00", "2021-06-01T00:00:00.123Z", "2016-12-31T23:59:60Z"):
        if not fv.is_valid(good):
            problem("format checker refuses %s" % good)
    for bad in ("2021-06-01T08:00:00", "2021-13-01T00:00:00Z", "2021-06-01", "2021-06-01T08:00:00+24:00"):
        if fv.is_valid(bad):
            problem("format checker accepts %s: date-time is not enforced" % bad)
    print("selftest: %d schemas, %d examples, %d of %d invalid payloads rejected, "
          "%d shared $defs" % (len(schemas), n_examples, n_rejected, n_invalid, len(defs_seen)))


# -------------------------------------------------------------- asyncapi --

def resolve_pointer(doc, pointer):
    cur = doc
    if pointer in ("", "/"):
        return cur
    for raw in pointer.lstrip("/").split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, list):
            cur = cur[int(key)]
        elif isinstance(cur, dict) and key in cur:
            cur = cur[key]
        else:
            raise KeyError(pointer)
    return cur


def walk_refs(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield path, v
            else:
                yield from walk_refs(v, path + "/" + str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk_refs(v, path + "/" + str(i))


def load_asyncapi(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def deref(doc, node):
    seen = 0
    while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#"):
        node = resolve_pointer(doc, node["$ref"][1:])
        seen += 1
        if seen > 20:
            raise KeyError("reference loop")
    return node


def channel_schemas(doc, base):
    """channel key -> (address, retained, [(message name, schema file, schema)])"""
    out = {}
    retained = {}
    for op in (doc.get("operations") or {}).values():
        ch = op.get("channel", {}).get("$ref", "")
        b = (op.get("bindings") or {}).get("mqtt") or {}
        retained.setdefault(ch, set()).add(bool(b.get("retain", False)))
    for key, ch in (doc.get("channels") or {}).items():
        ch = deref(doc, ch)
        msgs = []
        for mname, m in (ch.get("messages") or {}).items():
            m = deref(doc, m)
            payload = m.get("payload") or {}
            ref = (payload.get("schema") or payload).get("$ref", "")
            file = ref.split("#")[0]
            path = os.path.normpath(os.path.join(base, file))
            with open(path, encoding="utf-8") as f:
                msgs.append((mname, os.path.basename(path), parse_json(f.read())))
        r = retained.get("#/channels/" + key, {False})
        out[key] = (ch.get("address"), True in r, msgs)
    return out


def cmd_asyncapi(args):
    base = os.path.dirname(os.path.abspath(args.asyncapi))
    try:
        doc = load_asyncapi(args.asyncapi)
    except (OSError, yaml.YAMLError) as e:
        problem("%s does not parse as YAML: %s" % (args.asyncapi, e))
        return
    if not isinstance(doc, dict) or str(doc.get("asyncapi", "")) != "3.0.0":
        problem("asyncapi.yaml: not an AsyncAPI 3.0.0 document")
        return
    for key in ("info", "servers", "channels", "operations", "components"):
        if key not in doc:
            problem("asyncapi.yaml: no %s" % key)
    n_refs = n_files = 0
    used_files = set()
    for where, ref in walk_refs(doc):
        n_refs += 1
        file, _, frag = ref.partition("#")
        target = doc
        if file:
            path = os.path.normpath(os.path.join(base, file))
            if not os.path.isfile(path):
                problem("asyncapi.yaml%s: $ref %s: no such file" % (where, ref))
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    target = parse_json(f.read())
            except ValueError as e:
                problem("asyncapi.yaml%s: $ref %s: not JSON: %s" % (where, ref, e))
                continue
            n_files += 1
            used_files.add(os.path.basename(path))
            if not str(target.get("$id", "")).endswith("/" + os.path.basename(path)):
                problem("asyncapi.yaml%s: $ref %s: the file's $id does not name it" % (where, ref))
        try:
            resolve_pointer(target, frag)
        except (KeyError, IndexError, ValueError):
            problem("asyncapi.yaml%s: $ref %s does not resolve" % (where, ref))
    sdir = args.schemadir
    for name in sorted(os.listdir(sdir)):
        if name.endswith(".schema.json") and name not in used_files:
            problem("asyncapi.yaml does not use %s" % name)
    channels = doc.get("channels") or {}
    addresses = set()
    for key, ch in channels.items():
        ch = deref(doc, ch)
        addr = ch.get("address")
        if addr is None:  # a reply channel: the address is the request's response topic
            continue
        addresses.add(addr)
        names = set(re.findall(r"{([^}]+)}", addr))
        params = set((ch.get("parameters") or {}).keys())
        if names != params:
            problem("channel %s (%s): parameters %s, address has %s"
                    % (key, addr, sorted(params), sorted(names)))
        if not ch.get("messages"):
            problem("channel %s has no messages" % key)
        if ch.get("x-eco-retained") is not (addr in RETAINED_CHANNELS):
            problem("channel %s (%s): x-eco-retained %s, the contract says %s"
                    % (key, addr, ch.get("x-eco-retained"), addr in RETAINED_CHANNELS))
    missing = CONTRACT_CHANNELS - addresses
    if missing:
        problem("asyncapi.yaml lacks the contract's topics %s" % sorted(missing))
    ops = doc.get("operations") or {}
    per_channel = {}
    for oname, op in ops.items():
        if op.get("action") not in ("send", "receive"):
            problem("operation %s: action must be send or receive" % oname)
        cref = (op.get("channel") or {}).get("$ref", "")
        if not cref.startswith("#/channels/"):
            problem("operation %s: channel is not a #/channels reference" % oname)
            continue
        ckey = cref[len("#/channels/"):]
        per_channel.setdefault(ckey, []).append(oname)
        for m in op.get("messages") or []:
            if not m.get("$ref", "").startswith(cref + "/messages/"):
                problem("operation %s: message %s is not one of its channel's"
                        % (oname, m.get("$ref")))
        reply = op.get("reply")
        if reply:
            rref = (reply.get("channel") or {}).get("$ref", "")
            if not rref.startswith("#/channels/"):
                problem("operation %s: reply channel is not a #/channels reference" % oname)
            else:
                per_channel.setdefault(rref[len("#/channels/"):], []).append(oname + " reply")
            for m in reply.get("messages") or []:
                if not m.get("$ref", "").startswith(rref + "/messages/"):
                    problem("operation %s: reply message %s is not one of its reply channel's"
                            % (oname, m.get("$ref")))
        b = (op.get("bindings") or {}).get("mqtt")
        if not b or b.get("qos") != 1:
            problem("operation %s: bindings.mqtt.qos is not 1" % oname)
            continue
        addr = deref(doc, channels.get(ckey, {})).get("address")
        want = addr in RETAINED_CHANNELS
        if addr is not None and bool(b.get("retain", False)) != want:
            problem("operation %s (%s): retain %s, the contract says %s"
                    % (oname, addr, b.get("retain", False), want))
        if addr is not None and want and op.get("action") == "send" and "retain" not in b:
            problem("operation %s: retained channel without retain: true" % oname)
    for key in channels:
        if key not in per_channel:
            problem("channel %s has no operation" % key)
    print("asyncapi: %d channels, %d operations, %d $refs resolved (%d into %d schema files)"
          % (len(channels), len(ops), n_refs, n_files, len(used_files)))


# -------------------------------------------------------------- messages --

def compile_channels(doc, base):
    out = []
    for key, (addr, retained, msgs) in channel_schemas(doc, base).items():
        if addr is None:
            continue
        rx = "^" + re.sub(r"\\{[^}]+\\}", "[^/#+]+", re.escape(addr)) + "$"
        vals = [(n, f, validator(s)) for n, f, s in msgs]
        out.append((re.compile(rx), addr, retained, vals))
    return out


def cmd_messages(args):
    base = os.path.dirname(os.path.abspath(args.asyncapi))
    chans = compile_channels(load_asyncapi(args.asyncapi), base)
    counts = {}
    n = skipped = 0
    with open(args.file, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if args.format == "jsonl":
            try:
                rec = json.loads(line)
            except ValueError:
                problem("%s:%d: not a mosquitto_sub %%j line: %s" % (args.file, lineno, line[:200]))
                continue
            topic, payload = rec.get("topic", ""), rec.get("payload", "")
            qos, retain = rec.get("qos"), bool(rec.get("retain"))
        else:
            topic, sep, payload = line.partition("\t")
            qos, retain = 1, False
            if not sep:
                problem("%s:%d: not a topic TAB payload line" % (args.file, lineno))
                continue
        match = [c for c in chans if c[0].match(topic)]
        if not match:
            problem("%s: no channel of asyncapi.yaml matches this topic" % topic)
            continue
        rx, addr, retained, vals = match[0]
        try:
            doc = parse_json(payload)
        except ValueError as e:
            problem("%s: payload is not JSON (%s): %s" % (topic, e, payload[:200]))
            continue
        if (args.only_dlq_prefix and addr == "eco/v1/dlq/{service}"
                and not str(doc.get("topic", "")).startswith(args.only_dlq_prefix)):
            skipped += 1
            continue
        n += 1
        counts[addr] = counts.get(addr, 0) + 1
        if qos != 1:
            problem("%s: delivered at QoS %s; the contract says QoS 1" % (topic, qos))
        if retain and not retained:
            problem("%s: retained, but %s is not a retained channel" % (topic, addr))
        if args.retained and not retain:
            problem("%s: a late subscriber got it without the retained flag" % topic)
        errs_by_msg = []
        for mname, sfile, v in vals:
            errs = list(v.iter_errors(doc))
            if not errs:
                break
            errs_by_msg.append("%s: %s" % (sfile, describe(errs)))
        else:
            problem("%s: payload does not match its schema: %s -- payload %s"
                    % (topic, " | ".join(errs_by_msg), payload[:300]))
    for req in args.require or []:
        addr, _, want = req.rpartition("=")
        if counts.get(addr, 0) < int(want):
            problem("%s: %d messages, at least %s expected" % (addr, counts.get(addr, 0), want))
    summary = ", ".join("%s %d" % (a, c) for a, c in sorted(counts.items()))
    print("messages: %d checked (%s)%s" % (n, summary or "none",
          "; %d dead letters of other tests skipped" % skipped if skipped else ""))


# --------------------------------------------------- live readings inputs --
#
# expect: ok       the schema accepts it and eco-ingest stores it all
#         bad      the schema rejects it and eco-ingest dead-letters it
#         registry the schema accepts it; eco-ingest refuses it for what only
#                  the registry or the clock knows
#         lenient  the schema rejects it; eco-ingest accepts it silently
#                  (a known difference, see schemas/README.md)

def input_cases(p):
    d0, d1, d2, m0, dx = p + "-d0", p + "-d1", p + "-d2", p + "-m0", p + "-dX"
    j = json.dumps
    return [
        # the contract's example, as it is
        ("ok", d0, '{"ts": "2021-06-01T08:00:00+08:00", "period": "hour",\n'
         ' "values": {"pm25": 35.2, "so2": {"v": 8, "flag": "N"}},\n'
         ' "lat": 30.012, "lon": 122.107}'),
        ("ok", d0, j({"ts": "2021-06-01T09:00:00+08:00", "period": "hour",
                      "values": {"pm25": 35.2, "so2": {"v": 0.008, "flag": "N", "unit": "mg/m3"},
                                 "co": {"v": 0.9, "flag": "D"}}})),
        ("ok", m0, j({"readings": [
            {"ts": "2021-06-01T09:00:00+08:00", "period": "rt", "values": {"pm25": 5, "no2": 20},
             "lat": 30.01, "lon": 122.2},
            {"ts": "2021-06-01T09:00:30+08:00", "period": "rt", "values": {"pm25": 6},
             "lat": 30.02, "lon": 122.21}]})),
        ("ok", d1, j({"ts": "2021-06-01T00:00:00Z", "period": "day", "values": {"pm10": 80}})),
        ("ok", d1, j({"ts": "2021-06-01T10:00:00.123456+08:00", "period": "min",
                      "values": {"o3": {"v": 60, "flag": "M"}}})),
        ("ok", d1, j({"ts": "2021-06-01T11:00:00-05:30", "period": "hour", "device": "ignored",
                      "values": {"no2": {"v": 12, "flag": "1", "note": "ignored"}}})),
        ("ok", d2, j({"readings": [{"ts": "2021-06-01T12:00:00+08:00", "period": "hour",
                                    "values": {"pm25": 0}}], "ts": "ignored"})),
        ("bad", d1, "not json at all"),
        ("bad", d1, j(dict(READING, ts="2021-06-01T08:00:00"))),
        ("bad", d1, j(dict(READING, ts="2021-02-30T08:00:00+08:00"))),
        ("bad", d1, j(dict(READING, ts="2021-06-01T08:00:00+08:00\n"))),
        ("bad", d1, j(dict(READING, period="week"))),
        ("bad", d1, j(dict(READING, values={}))),
        ("bad", d1, j(dict(READING, values={"pm25": "35.2"}))),
        ("bad", d1, j(dict(READING, values={"so2": {"v": 8, "flag": "NN"}}))),
        ("bad", d1, j(dict(READING, values={"so2": {"flag": "N"}}))),
        ("bad", d1, j(dict(READING, values={"so2": {"v": 8, "unit": ""}}))),
        ("bad", d1, '{"ts": "2021-06-01T08:00:00+08:00", "period": "hour", "values": {"pm25": 1e999}}'),
        ("bad", d1, j({"ts": "2021-06-01T08:00:00+08:00", "period": "hour", "values": {"pm25": 1},
                       "lat": 30.0})),
        ("bad", d1, j(dict(READING, lat=95))),
        ("bad", d1, j(dict(READING, lat="30.012"))),
        ("bad", d1, j({"readings": READING})),
        ("bad", d1, j([READING])),
        ("bad", d2, j({"readings": [
            {"ts": "2021-06-01T13:00:00+08:00", "period": "hour", "values": {"pm25": 9}},
            {"ts": "2021-06-01T14:00:00+08:00", "period": "week", "values": {"pm25": 9}}]})),
        ("registry", dx, j(READING)),
        ("registry", d1, j(dict(READING, values={"xx": 1}))),
        ("registry", d1, j(dict(READING, values={"pm25": 5000}))),
        ("registry", d1, j(dict(READING, values={"so2": {"v": 8, "unit": "ppm"}}))),
        ("registry", m0, j({"ts": "2021-06-01T09:01:00+08:00", "period": "rt",
                            "values": {"pm25": 7}})),
        ("registry", d1, j(dict(READING, ts="2099-06-01T08:00:00+08:00"))),
        ("registry", d1, j(dict(READING, ts="1999-12-31T23:00:00+08:00"))),
        ("bad", d2, j({"readings": []})),  # dead-lettered: "readings: empty"
        ("lenient", d2, j({"ts": "2021-06-01 15:00:00+08:00", "period": "hour",
                           "values": {"pm25": 15}})),
    ]


def cmd_cases(args):
    """Writes each input to OUTDIR/NN.json and `NN.json TAB device` lines to
    OUTDIR/cases.tsv, for `mosquitto_pub -f` (payloads exactly as written)."""
    os.makedirs(args.outdir, exist_ok=True)
    with open(os.path.join(args.outdir, "cases.tsv"), "w", encoding="utf-8") as idx:
        for i, (_, dev, payload) in enumerate(input_cases(args.prefix)):
            name = "%02d.json" % i
            with open(os.path.join(args.outdir, name), "w", encoding="utf-8") as f:
                f.write(payload)
            idx.write("%s\t%s\n" % (name, dev))


def cmd_inputs(args):
    schemas = load_schemas(args.schemadir)
    v = validator(schemas["readings-in.schema.json"])
    dead = set()
    with open(args.dlqfile, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                rec = json.loads(line)
                msg = json.loads(rec["payload"])
            except (ValueError, KeyError, TypeError):
                continue
            if rec.get("topic") == "eco/v1/dlq/ingest":
                dead.add((msg.get("topic"), msg.get("payload")))
    tally = {}
    for expect, dev, payload in input_cases(args.prefix):
        try:
            doc = parse_json(payload)
            errs = list(v.iter_errors(doc))
            why = describe(errs)
        except ValueError as e:
            errs, why = [e], str(e)
        schema_ok = not errs
        ingest_ok = ("eco/v1/in/" + dev, payload) not in dead
        want_schema = expect in ("ok", "registry")
        want_ingest = expect in ("ok", "lenient")
        tally[expect] = tally.get(expect, 0) + 1
        if schema_ok != want_schema:
            problem("input %s (%s): schema %s it: %s -- %s"
                    % (dev, expect, "accepts" if schema_ok else "rejects", why or "valid",
                       payload[:200]))
        if ingest_ok != want_ingest:
            problem("input %s (%s): eco-ingest %s it -- %s"
                    % (dev, expect, "stored" if ingest_ok else "dead-lettered", payload[:200]))
    print("inputs: %d readings messages checked against schema and eco-ingest (%s)"
          % (sum(tally.values()), ", ".join("%s %d" % kv for kv in sorted(tally.items()))))


def cmd_check(args):
    with open(args.schema, encoding="utf-8") as f:
        schema = parse_json(f.read())
    text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
    try:
        doc = parse_json(text)
    except ValueError as e:
        problem("not JSON: %s" % e)
        return
    errs = list(validator(schema).iter_errors(doc))
    for e in errs:
        problem("%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(root)", e.message))
    if not errs:
        print("valid")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("selftest")
    s.add_argument("schemadir")
    s = sub.add_parser("asyncapi")
    s.add_argument("asyncapi")
    s.add_argument("schemadir")
    s = sub.add_parser("messages")
    s.add_argument("asyncapi")
    s.add_argument("file")
    s.add_argument("--format", choices=("jsonl", "tsv"), default="jsonl")
    s.add_argument("--retained", action="store_true")
    s.add_argument("--require", action="append", metavar="CHANNEL=N")
    s.add_argument("--only-dlq-prefix", default="")
    s = sub.add_parser("cases")
    s.add_argument("prefix")
    s.add_argument("outdir")
    s = sub.add_parser("inputs")
    s.add_argument("schemadir")
    s.add_argument("prefix")
    s.add_argument("dlqfile")
    s = sub.add_parser("check")
    s.add_argument("schema")
    s.add_argument("file")
    args = ap.parse_args()
    {"selftest": cmd_selftest, "asyncapi": cmd_asyncapi, "messages": cmd_messages,
     "cases": cmd_cases, "inputs": cmd_inputs, "check": cmd_check}[args.cmd](args)
    if problems:
        print("%s: %d problem(s)" % (args.cmd, len(problems)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
