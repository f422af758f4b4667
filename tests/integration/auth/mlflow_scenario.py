"""Run by test_auth_mlflow_client.py in a fresh interpreter: the MLflow client reads its
credentials (MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME/PASSWORD) and MLFLOW_TRACKING_URI
from the environment. Creates an experiment, logs a run with params and metrics, reads it back
and prints one JSON object with what it read (or the MlflowException it got)."""

import json
import sys

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


def main():
    name = sys.argv[1]
    client = MlflowClient()
    try:
        exp_id = client.create_experiment(name)
        run = client.create_run(exp_id, run_name="run-" + name)
        rid = run.info.run_id
        client.log_param(rid, "alpha", "0.5")
        client.log_param(rid, "layers", "3")
        for step, v in enumerate([0.9, 0.7, 0.4]):
            client.log_metric(rid, "loss", v, step=step, timestamp=1700000000000 + step)
        client.set_terminated(rid)
        got = client.get_run(rid)
        hist = client.get_metric_history(rid, "loss")
        exp = client.get_experiment_by_name(name)
        out = {"ok": True, "experiment": exp.name, "experiment_id_matches": exp.experiment_id == exp_id,
               "params": got.data.params, "metrics": got.data.metrics,
               "history": [(m.step, m.value) for m in hist], "status": got.info.status,
               "run_name": got.info.run_name}
    except MlflowException as e:
        out = {"ok": False, "error_code": e.error_code, "message": str(e)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
