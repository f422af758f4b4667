#!/usr/bin/env python3
"""Differential check of Warden's body gate against the pinned MLflow's own reading.

Usage (from the repository root; build the driver first, see tests/tools/body_driver.c):
    .venv/bin/python tests/tools/body_differential.py /tmp/body_driver [N] [SEED]

Generates N random request bodies (default 20000) for the protobuf RPC routes from the
request messages' descriptors: both spellings of field names, nested and repeated messages,
maps, well-known types, unknown keys, occasional duplicate spellings and wrongly typed values.
Runs them through the driver (body_canonicalize()) and, for every accepted body, checks
against MLflow's reading (json.loads, handlers._reject_conflicting_field_aliases, ParseDict
with ignore_unknown_fields=True):
  - the ORIGINAL body parses without error in MLflow (so MLflow cannot half-parse a body
    Warden accepted and act on defaults instead of the checked ids);
  - the canonical body parses without error and gives the same protobuf message (with
    run_uuid folded into run_id the way the handlers read them);
  - the ids Warden extracted are the values at those paths of the canonical body.
Exit status 1 on any mismatch. Also prints, per refusal reason, how many refused bodies MLflow
would have accepted (where Warden is stricter than MLflow); these are expected to be only
non-canonical experiment ids, run_id/run_uuid conflicts and values no client sends.
"""

import collections
import json
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import warnings

warnings.simplefilter("ignore")
from google.protobuf import descriptor as D  # noqa: E402
from google.protobuf.json_format import ParseDict, ParseError  # noqa: E402
from google.protobuf.message_factory import GetMessageClass  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.protos.mlflow_artifacts_pb2 import MlflowArtifactsService  # noqa: E402
from mlflow.protos.model_registry_pb2 import ModelRegistryService  # noqa: E402
from mlflow.protos.service_pb2 import MlflowService  # noqa: E402
from mlflow.protos.webhooks_pb2 import WebhookService  # noqa: E402
from mlflow.server.handlers import _reject_conflicting_field_aliases  # noqa: E402

RPCS = {}
for _svc in [MlflowService, ModelRegistryService, MlflowArtifactsService, WebhookService]:
    for _m in _svc.DESCRIPTOR.methods:
        _renamed = (_svc.DESCRIPTOR.name, _m.name) == ("MlflowArtifactsService", "listArtifacts")
        RPCS["listArtifactsProxy" if _renamed else _m.name] = _m.input_type
RND = random.Random(1)

WEIRD = [None, "", " 1", "1_0", "01", "+1", "NaN", "nan", "Infinity", "1e5", "1.5", "true", "x", "\u0661", 0, 1, -1, 1.5, 2**31, 2**63-1, True, False, [], {}, ["a"], {"a": 1}, [None], "2025-01-01T00:00:00Z", "1.5s", "ACTIVE_ONLY", "a,b", "AAAA"]
def scalar(f):
    t = f.type; T = D.FieldDescriptor
    if t == T.TYPE_STRING: return RND.choice(["a", "1", "tr-1", "m-1", "\u00e9\U0001F600", "x y"])
    if t == T.TYPE_BOOL: return RND.choice([True, False])
    if t in (T.TYPE_INT32, T.TYPE_INT64, T.TYPE_UINT32, T.TYPE_UINT64, T.TYPE_SINT32, T.TYPE_SINT64, T.TYPE_FIXED32, T.TYPE_FIXED64, T.TYPE_SFIXED32, T.TYPE_SFIXED64):
        return RND.choice([0, 1, 17, "42", 1700000000000, "-3"])
    if t in (T.TYPE_DOUBLE, T.TYPE_FLOAT): return RND.choice([0.1, 1, -2.5, "NaN", "Infinity", "1e3", 1e-300])
    if t == T.TYPE_ENUM: return RND.choice([v.name for v in f.enum_type.values] + ["BOGUS"])
    if t == T.TYPE_BYTES: return "AAAA"
    return "x"
def value(f, depth):
    if RND.random() < 0.08: return RND.choice(WEIRD)
    T = D.FieldDescriptor
    if f.type == T.TYPE_MESSAGE:
        mt = f.message_type
        if mt.GetOptions().map_entry:
            vf = mt.fields_by_name["value"]
            return {RND.choice(["k", "fooBar", "a_b"]) + str(i): (value(vf, depth + 1)) for i in range(RND.randint(0, 3))}
        fn = mt.full_name
        if fn == "google.protobuf.Value": return RND.choice([1, "s", None, {"traceId": [1, {"a": None}]}, [1.5]])
        if fn == "google.protobuf.Struct": return {"aB": 1}
        if fn == "google.protobuf.ListValue": return [1, "a"]
        if fn == "google.protobuf.Timestamp": return RND.choice(["2025-01-01T00:00:00Z", "2024-02-29T12:00:00.5+02:00", "bad"])
        if fn == "google.protobuf.Duration": return RND.choice(["1s", "-0.5s", "x"])
        if fn == "google.protobuf.FieldMask": return RND.choice(["a.b,c", "a_b"])
        if depth > 6: return {}
        def one(): return msg(mt, depth + 1)
        return [one() for _ in range(RND.randint(0, 3))] if f.is_repeated else one()
    if f.is_repeated: return [scalar(f) for _ in range(RND.randint(0, 3))]
    return scalar(f)
def msg(md, depth):
    d = {}
    for f in md.fields:
        if RND.random() < 0.45:
            k = f.json_name if RND.random() < 0.5 else f.name
            d[k] = value(f, depth)
            if RND.random() < 0.03: d[f.name if k != f.name else f.json_name] = d[k]
    if RND.random() < 0.1: d[RND.choice(["unknownKey", "extra_field", "[ext.x]"])] = RND.choice(WEIRD)
    items = list(d.items()); RND.shuffle(items)
    return dict(items)


def get_path(d, path):
    vals = []

    def walk(o, parts):
        if not isinstance(o, dict):
            return
        p = parts[0]
        arr = p.endswith("[]")
        k = p[:-2] if arr else p
        if o.get(k) is None:
            return
        v = o[k]
        if len(parts) == 1:
            vals.extend(v if isinstance(v, list) else [v])
            return
        for e in v if arr else [v]:
            walk(e, parts[1:])

    walk(d, path.split("."))
    return vals


def mlflow_parse(cls, obj):
    m = cls()
    _reject_conflicting_field_aliases(obj, cls.DESCRIPTOR)
    ParseDict(obj, m, ignore_unknown_fields=True)
    if "run_uuid" in cls.DESCRIPTOR.fields_by_name and "run_id" in cls.DESCRIPTOR.fields_by_name:
        m.run_id = m.run_id or m.run_uuid  # what the handlers use
        m.ClearField("run_uuid")
    return m.SerializeToString(deterministic=True)


def main():
    driver = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    RND.seed(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    routes = subprocess.run([driver, "--routes"], capture_output=True, text=True, check=True)
    idx = {}
    for line in routes.stdout.splitlines():
        i, action, msg_index = line.split()
        if int(msg_index) >= 0 and action in RPCS:
            idx.setdefault(action, int(i))
    names = sorted(idx)
    bad = 0
    stricter = collections.Counter()
    examples = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in range(n):
            a = RND.choice(names)
            body = json.dumps(
                msg(RPCS[a], 0),
                ensure_ascii=RND.random() < 0.5,
                separators=RND.choice([(",", ":"), (", ", ": ")]),
            )
            path = os.path.join(tmp, f"{i:06d}")
            with open(path, "wb") as f:
                f.write(struct.pack("<HB", idx[a], 0) + body.encode())
            files.append(path)
        out = []
        for k in range(0, len(files), 2000):
            res = subprocess.run([driver] + files[k : k + 2000], capture_output=True, check=True)
            out += res.stdout.decode().splitlines()
        accepted = 0
        for line in out:
            r = json.loads(line)
            with open(r["file"], "rb") as f:
                raw = f.read()[3:]
            orig = json.loads(raw) if raw else {}
            cls = GetMessageClass(RPCS[r["action"]])
            if "err" in r:
                try:
                    mlflow_parse(cls, orig)
                except (ParseError, MlflowException, TypeError, ValueError):
                    continue
                reason = re.sub(r"^\S+ ", "<field> ", r["err"])
                stricter[reason] += 1
                examples.setdefault(reason, raw[:120])
                continue
            accepted += 1
            canon = json.loads(r["canon"])
            try:
                p1 = mlflow_parse(cls, orig)
            except (ParseError, MlflowException, TypeError, ValueError) as e:
                print("ACCEPTED BUT MLFLOW FAILS ON THE ORIGINAL:", raw[:200], e)
                bad += 1
                continue
            try:
                p2 = mlflow_parse(cls, canon)
            except (ParseError, MlflowException, TypeError, ValueError) as e:
                print("MLFLOW FAILS ON THE CANONICAL BODY:", r["canon"][:200], e)
                bad += 1
                continue
            if p1 != p2:
                print("DIFFERENT MESSAGE:", raw[:200], "->", r["canon"][:200])
                bad += 1
            for ids in r["ids"]:
                if get_path(canon, ids["path"]) != ids["v"]:
                    print("IDS DIFFER:", r["canon"][:200], ids)
                    bad += 1
    print(f"{n} bodies, {accepted} accepted and checked, {bad} mismatches")
    print("refused although MLflow would accept (Warden stricter):")
    for k, c in stricter.most_common():
        print(f"  {c:6d}  {k}   e.g. {examples[k]!r}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
