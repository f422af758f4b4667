"""Run by test_obo_e2e.py in a fresh interpreter: the real MLflow client acting as an agent.

The agent's credential comes from MLFLOW_TRACKING_TOKEN (a PAT of the agent, or one exchanged
token naming the agent in its act claim). When OBO_SUBJECT_TOKEN is set, a request header
provider adds it to every request as X-Warden-Subject-Token: the user the agent acts for.
argv[1] is a JSON list of steps, each [op, experiment_name]; the result of each step is
printed as one JSON list: {"ok": true, "value": ...} or {"ok": false, "error_code", "message"}.

Ops: create (create_experiment), get (get_experiment_by_name: its id or null), run (create a
run, log a param and a metric, finish it, read it back: its mlflow.user and tags), delete
(delete_experiment), search (names of every experiment the caller sees).
"""

import json
import os
import sys

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.tracking.request_header.abstract_request_header_provider import RequestHeaderProvider
from mlflow.tracking.request_header.registry import _request_header_provider_registry


class SubjectToken(RequestHeaderProvider):
    def in_context(self):
        return bool(os.environ.get("OBO_SUBJECT_TOKEN"))

    def request_headers(self):
        return {"X-Warden-Subject-Token": os.environ["OBO_SUBJECT_TOKEN"]}


_request_header_provider_registry.register(SubjectToken)


def step(client, op, name):
    if op == "create":
        return client.create_experiment(name)
    if op == "get":
        exp = client.get_experiment_by_name(name)
        return exp.experiment_id if exp else None
    if op == "run":
        exp = client.get_experiment_by_name(name)
        run = client.create_run(exp.experiment_id, run_name="by-agent")
        rid = run.info.run_id
        client.log_param(rid, "alpha", "0.5")
        client.log_metric(rid, "loss", 0.25, step=0, timestamp=1700000000000)
        client.set_terminated(rid)
        got = client.get_run(rid)
        return {"user": got.info.user_id, "tags": got.data.tags, "metrics": got.data.metrics}
    if op == "delete":
        exp = client.get_experiment_by_name(name)
        client.delete_experiment(exp.experiment_id)
        return True
    if op == "search":
        return sorted(e.name for e in client.search_experiments(max_results=1000))
    raise ValueError(op)


def main():
    client = MlflowClient()
    out = []
    for op, name in json.loads(sys.argv[1]):
        try:
            out.append({"ok": True, "value": step(client, op, name)})
        except MlflowException as e:
            out.append({"ok": False, "error_code": e.error_code, "message": str(e)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
