#!/usr/bin/env python3
"""Print every route the installed MLflow serves, as TSV, to help maintain the route table.

Usage: .venv/bin/python tests/tools/mlflow_routes.py [--rpc]

Columns: method, path, layer (flask | fastapi), handler. With --rpc, prints instead the
protobuf RPCs (method, /<major>.0<path>, RPC name) from the service descriptors, which is where
the action names of gateway/mlflow/route_table.c come from.

This is a reading aid, not a generator: route_table.c is written by hand because each row
needs a judgement (securable, where the id is read, privilege) that the url_map cannot give.
Nothing is generated at build time; tests/integration/test_route_coverage.py is what fails
when the table and the installed MLflow disagree.
"""

import sys
import warnings


def flask_and_fastapi():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow.server as server
        from mlflow.server import fastapi_app

        app = fastapi_app.create_fastapi_app()
    rows = []
    for r in server.app.url_map.iter_rules():
        for m in sorted(r.methods - {"HEAD", "OPTIONS"}):
            rows.append((m, r.rule, "flask", r.endpoint))

    def walk(routes, prefix):
        for r in routes:
            if hasattr(r, "original_router"):
                walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif getattr(r, "methods", None) and hasattr(r, "path"):
                for m in sorted(r.methods - {"HEAD"}):
                    rows.append((m, prefix + r.path, "fastapi", getattr(r, "name", "")))

    walk(app.router.routes, "")
    return rows


def rpcs():
    from mlflow.protos import databricks_pb2
    from mlflow.protos.mlflow_artifacts_pb2 import MlflowArtifactsService
    from mlflow.protos.model_registry_pb2 import ModelRegistryService
    from mlflow.protos.service_pb2 import MlflowService
    from mlflow.protos.webhooks_pb2 import WebhookService

    rows = []
    for svc in (MlflowService, ModelRegistryService, MlflowArtifactsService, WebhookService):
        for meth in svc.DESCRIPTOR.methods:
            for e in meth.GetOptions().Extensions[databricks_pb2.rpc].endpoints:
                name = meth.name[0].lower() + meth.name[1:]
                rows.append((e.method, f"/{e.since.major}.0{e.path}", name))
    return rows


def main(argv):
    rows = rpcs() if "--rpc" in argv else sorted(flask_and_fastapi(), key=lambda r: (r[1], r[0]))
    for row in rows:
        print("\t".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
