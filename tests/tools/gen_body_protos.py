#!/usr/bin/env python3
"""Generate gateway/mlflow/body_protos.c: the protobuf request-message schema body.c needs.

Usage (from the repository root, with the pinned MLflow installed in .venv):
    .venv/bin/python tests/tools/gen_body_protos.py > gateway/mlflow/body_protos.c
    clang-format -i gateway/mlflow/body_protos.c
Check that the committed table matches the installed MLflow (no output = up to date):
    .venv/bin/python tests/tools/gen_body_protos.py \
        | clang-format --assume-filename=gateway/mlflow/body_protos.c \
        | diff - gateway/mlflow/body_protos.c
Regenerate whenever the pinned MLflow changes (with the route table).

For every RPC of the services MLflow's Flask app serves (handlers.get_endpoints():
MlflowService, ModelRegistryService, MlflowArtifactsService, WebhookService) it emits the
request message and, transitively, every message reachable through its fields: each field's
proto name, its json_name (the camelCase alias ParseDict also accepts), its type, whether it is
repeated, its oneof, and for message/map fields the nested message. body.c folds every
json_name to the proto name (the camelCase <-> snake_case alias table is the set of fields
whose json_name differs from their name) and type-checks values the way ParseDict would.

Fails (exit 1) when two RPCs share an action name or when a json_name of one field equals the
proto name of another field of the same message (folding would then be ambiguous).
"""

import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from google.protobuf import descriptor as D
    from mlflow.protos.mlflow_artifacts_pb2 import MlflowArtifactsService
    from mlflow.protos.model_registry_pb2 import ModelRegistryService
    from mlflow.protos.service_pb2 import MlflowService
    from mlflow.protos.webhooks_pb2 import WebhookService
    import mlflow

SERVICES = [MlflowService, ModelRegistryService, MlflowArtifactsService, WebhookService]
# route_table.c names the artifact proxy's listArtifacts "listArtifactsProxy" (the tracking
# service has its own listArtifacts).
RENAME = {("MlflowArtifactsService", "listArtifacts"): "listArtifactsProxy"}

SCALAR = {
    D.FieldDescriptor.TYPE_STRING: "BODY_T_STRING",
    D.FieldDescriptor.TYPE_BYTES: "BODY_T_BYTES",
    D.FieldDescriptor.TYPE_BOOL: "BODY_T_BOOL",
    D.FieldDescriptor.TYPE_INT32: "BODY_T_INT32",
    D.FieldDescriptor.TYPE_SINT32: "BODY_T_INT32",
    D.FieldDescriptor.TYPE_SFIXED32: "BODY_T_INT32",
    D.FieldDescriptor.TYPE_INT64: "BODY_T_INT64",
    D.FieldDescriptor.TYPE_SINT64: "BODY_T_INT64",
    D.FieldDescriptor.TYPE_SFIXED64: "BODY_T_INT64",
    D.FieldDescriptor.TYPE_UINT32: "BODY_T_UINT32",
    D.FieldDescriptor.TYPE_FIXED32: "BODY_T_UINT32",
    D.FieldDescriptor.TYPE_UINT64: "BODY_T_UINT64",
    D.FieldDescriptor.TYPE_FIXED64: "BODY_T_UINT64",
    D.FieldDescriptor.TYPE_FLOAT: "BODY_T_FLOAT",
    D.FieldDescriptor.TYPE_DOUBLE: "BODY_T_DOUBLE",
    D.FieldDescriptor.TYPE_ENUM: "BODY_T_ENUM",
}
# Well-known types: values whose JSON form is not a message of named fields.
WKT = {
    "google.protobuf.Value": "BODY_T_JSON_ANY",
    "google.protobuf.Struct": "BODY_T_JSON_OBJECT",
    "google.protobuf.ListValue": "BODY_T_JSON_ARRAY",
    "google.protobuf.Timestamp": "BODY_T_TIMESTAMP",
    "google.protobuf.Duration": "BODY_T_DURATION",
    "google.protobuf.FieldMask": "BODY_T_FIELDMASK",
}


def main():
    msgs = []  # list of descriptors, index = id
    index = {}
    rpcs = {}

    def msg_id(md):
        if md.full_name not in index:
            index[md.full_name] = len(msgs)
            msgs.append(md)
        return index[md.full_name]

    for svc in SERVICES:
        for m in svc.DESCRIPTOR.methods:
            name = RENAME.get((svc.DESCRIPTOR.name, m.name), m.name)
            if name in rpcs and rpcs[m.name] != m.input_type.full_name:
                sys.exit(f"duplicate RPC name {name}")
            rpcs[name] = msg_id(m.input_type)

    rows = []  # per message: list of field tuples
    i = 0
    while i < len(msgs):
        md = msgs[i]
        names = {f.name for f in md.fields}
        if len(md.fields) > 256 or len(md.oneofs) > 64:
            sys.exit(f"{md.full_name}: more than 256 fields or 64 oneofs (body.c bitmaps)")
        fields = []
        for f in md.fields:
            if f.json_name != f.name and f.json_name in names:
                sys.exit(f"{md.full_name}: json_name {f.json_name} is another field's name")
            oneof = -1
            if f.containing_oneof is not None and not f.containing_oneof.name.startswith("_"):
                oneof = f.containing_oneof.index
            elif f.containing_oneof is not None:
                oneof = f.containing_oneof.index  # synthetic (proto3 optional): one member
            repeated = f.is_repeated
            sub = -1
            vtype = "BODY_T_NONE"
            if f.type in (D.FieldDescriptor.TYPE_MESSAGE, D.FieldDescriptor.TYPE_GROUP):
                mt = f.message_type
                if mt.GetOptions().map_entry:
                    k, v = mt.fields_by_name["key"], mt.fields_by_name["value"]
                    if k.type != D.FieldDescriptor.TYPE_STRING:
                        sys.exit(f"{md.full_name}.{f.name}: non-string map key")
                    ftype = "BODY_T_MAP"
                    repeated = False
                    if v.type == D.FieldDescriptor.TYPE_MESSAGE:
                        if v.message_type.full_name in WKT:
                            vtype = WKT[v.message_type.full_name]
                        elif v.message_type.full_name.startswith("google.protobuf."):
                            sys.exit(f"unsupported well-known type {v.message_type.full_name}")
                        else:
                            vtype = "BODY_T_MESSAGE"
                            sub = msg_id(v.message_type)
                    else:
                        vtype = SCALAR[v.type]
                elif mt.full_name in WKT:
                    ftype = WKT[mt.full_name]
                elif mt.full_name.startswith("google.protobuf."):
                    sys.exit(f"unsupported well-known type {mt.full_name}")
                else:
                    ftype = "BODY_T_MESSAGE"
                    sub = msg_id(mt)
            else:
                ftype = SCALAR[f.type]
            fields.append((f.name, f.json_name, ftype, vtype, sub, repeated, oneof))
        rows.append(fields)
        i += 1

    out = sys.stdout
    out.write(
        "/*\n"
        " * body_protos: GENERATED by tests/tools/gen_body_protos.py from mlflow=="
        + mlflow.__version__
        + " -- do not edit.\n"
        " * Regenerate: .venv/bin/python tests/tools/gen_body_protos.py >"
        " gateway/mlflow/body_protos.c\n"
        " *             && clang-format -i gateway/mlflow/body_protos.c\n"
        " * The request messages of every protobuf RPC MLflow serves and every message reachable\n"
        " * from them (see body.h). Constant data; any thread.\n"
        " */\n"
        '#include "mlflow/body.h"\n\n'
    )
    out.write("const struct body_pfield body_pfields[] = {\n")
    starts = []
    n = 0
    for mi, fields in enumerate(rows):
        starts.append(n)
        out.write(f"    /* {mi}: {msgs[mi].full_name} */\n")
        for name, jname, ftype, vtype, sub, rep, oneof in fields:
            out.write(
                f'    {{"{name}", "{jname}", {ftype}, {vtype}, {sub}, '
                f'{"true" if rep else "false"}, {oneof}}},\n'
            )
            n += 1
    out.write("};\n\n")
    out.write("const struct body_pmsg body_pmsgs[] = {\n")
    for mi, fields in enumerate(rows):
        out.write(f'    {{"{msgs[mi].full_name}", {starts[mi]}, {len(fields)}}},\n')
    out.write("};\n")
    out.write(f"const size_t body_npmsgs = {len(msgs)};\n\n")
    out.write("const struct body_rpc body_rpcs[] = {\n")
    for name in sorted(rpcs):
        out.write(f'    {{"{name}", {rpcs[name]}}},\n')
    out.write("};\n")
    out.write(f"const size_t body_nrpcs = {len(rpcs)};\n")


if __name__ == "__main__":
    main()
