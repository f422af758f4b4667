"""Shared helpers for the authorisation end-to-end tests (tests/integration/test_enforce_*.py).

What it is for: driving the real MLflow server (conftest's session fixture mlflow_server) through
a real Warden that enforces the example policies of <repo>/policies, as the users of that
example organisation, with the real MLflow Python client and with raw requests:

  * USERS and tokens(): one personal access token per example user (`wardenctl pat create`),
    created once per test session into a PAT file of our own;
  * start_warden()/stop_warden() and the module fixture `warden`: a Warden per test module,
    [policy] paths = <repo>/policies, [auth] pat_file = ours;
  * As(warden, "alice"): one user's view — `.c` is an MlflowClient whose every call runs with
    MLFLOW_TRACKING_TOKEN set to that user's token (the client reads the variable at request
    time, so the variable is set around each call and restored after), `.env()` does the same
    for the fluent APIs (mlflow.start_span, mlflow.genai...), `.get/.post/.req` send raw
    `requests`, `.raw()` sends exact bytes on a socket (paths no client library would send);
  * the session fixture `world`: objects the example users own (experiments, runs, artifacts,
    traces, logged models, registered models, versions, aliases, prompts, datasets, issues,
    label schemas, review queues, scorers, jobs), created through a Warden so that Warden
    stamps their owners;
  * a recorder: every request any test sends to a Warden of this kit is recorded with the
    Warden route it lands on (matched against `wardenctl routes --format tsv`), its status and
    whether Warden allowed it (MLflow answered, or Warden answered a filtered search) or
    denied it (Warden's 403); test_enforce_zz_coverage.py reports which routes no test reached;
  * assertion helpers for Warden's denials (403, MLflow error JSON, message naming the user,
    the privilege and the object).

What it owns: the PAT file and the Warden processes it starts (stopped by the fixtures), the
recorder's list. Threads: everything runs on pytest's thread, except parallel set-up requests
(thread pool inside one call) whose records are appended under a lock.

Environment: WARDEN_BIN / WARDENCTL_BIN as for conftest.py. Connections are kept alive as the
MLflow client keeps them; WARDEN_E2E_CLOSE=1 sends `Connection: close` on every request instead
(one request per connection, so Warden's workers take turns), and `with fresh_connections():`
does so for one block (tests that must reach every worker).
"""

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid

import pytest
import requests

import conftest as base
import httpraw

os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"
os.environ.pop("MLFLOW_TRACKING_USERNAME", None)
os.environ.pop("MLFLOW_TRACKING_PASSWORD", None)

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

ROOT = base.ROOT
POLICY_DIR = os.path.join(ROOT, "policies")
WARDENCTL = base.WARDENCTL_BIN
FORCE_CLOSE = [os.environ.get("WARDEN_E2E_CLOSE") == "1"]

# The example organisation (policies/*.policy). Token groups as the IdP would send them.
USERS = {
    # ALL PRIVILEGES on schema risk.credit (no MANAGE): creates there and owns what he creates.
    "dave": ("dave@acme.example", ["risk"]),
    # group risk: READ, EXECUTE, BROWSE on catalog risk; writes and creates in risk.fraud.
    "alice": ("alice@acme.example", ["risk"]),
    # group marketing: marketing.campaigns; no privilege in catalog risk.
    "bob": ("bob@acme.example", ["marketing"]),
    "erin": ("erin@acme.example", ["marketing"]),
    # no group at all: nothing but what she owns.
    "mallory": ("mallory@acme.example", []),
    # platform-admins (the admin group) by the policy's group membership.
    "root": ("root@acme.example", []),
    # risk-admins: owner of catalog risk and schema risk.fraud (MANAGE, BROWSE, no READ).
    "carol": ("carol@acme.example", []),
    "trainer": ("sp:fraud-trainer", []),
    "scorer": ("sp:fraud-scorer", []),
}


def email(who):
    return USERS[who][0]


# --- tokens ----------------------------------------------------------------------------------
_tokens = {}
_tok_lock = threading.Lock()


def tokens():
    """({name: token}, pat_file) for USERS, created once per session."""
    with _tok_lock:
        if not _tokens:
            d = tempfile.mkdtemp(prefix="warden-e2e-pat-")
            pat_file = os.path.join(d, "pats.jsonl")
            toks = {}
            for name, (user, groups) in USERS.items():
                args = [WARDENCTL, "pat", "create", "--user", user, "--ttl", "never", "--file", pat_file]
                for g in groups:
                    args += ["--group", g]
                p = subprocess.run(args, capture_output=True, text=True, timeout=30)
                tok = p.stdout.strip().splitlines()[0] if p.returncode == 0 and p.stdout.strip() else ""
                if not tok:
                    raise pytest.UsageError("wardenctl pat create failed: %s %s" % (p.stdout, p.stderr))
                toks[name] = tok
            _tokens.update(toks=toks, pat_file=pat_file)
        return _tokens["toks"], _tokens["pat_file"]


def token_owner(auth_header):
    toks, _ = tokens()
    for name, t in toks.items():
        if auth_header == "Bearer " + t:
            return name
    return "?"


# --- route table and recorder --------------------------------------------------------------------
class Route:
    def __init__(self, method, pattern, action, access, checks, filt, body, fastapi):
        self.method, self.pattern, self.action, self.access = method, pattern, action, access
        self.checks = [parse_check(c) for c in checks.split(";") if c.strip()]
        self.filter, self.body, self.fastapi = filt, body, fastapi == "yes"
        segs = pattern.split("/")
        rx, self.rank = [], []
        for s in segs:
            if re.fullmatch(r"\{[A-Za-z_]+:\*\}", s):
                rx.append(".+")
                self.rank.append(2)
            elif "{" in s:
                rx.append(re.sub(r"\\\{[A-Za-z_]+\\\}", "[^/]+", re.escape(s)))
                self.rank.append(1)
            else:
                rx.append(re.escape(s))
                self.rank.append(0)
        self.rx = re.compile("/".join(rx))

    @property
    def key(self):
        return (self.method, self.pattern)

    def __repr__(self):
        return "%s %s (%s)" % (self.method, self.pattern, self.action)


def parse_check(text):
    """'run:body:run_id:MODIFY:optional' -> dict(kind, loc, field, priv, many, optional)."""
    parts = text.strip().split(":")
    flags = parts[4:]
    return {"kind": parts[0], "loc": parts[1], "field": parts[2], "priv": parts[3],
            "many": "many" in flags, "optional": "optional" in flags}


_routes = []


def routes():
    """Warden's route table, from `wardenctl routes --format tsv`."""
    if not _routes:
        p = subprocess.run([WARDENCTL, "routes", "--format", "tsv"], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0, p.stderr
        lines = p.stdout.rstrip("\n").split("\n")
        assert lines[0].split("\t")[:3] == ["method", "pattern", "action"], lines[0]
        for line in lines[1:]:
            f = line.split("\t")
            f += [""] * (8 - len(f))
            _routes.append(Route(*f[:8]))
    return _routes


def match_route(method, path):
    """The route Warden would pick for (method, decoded path), as gateway/mlflow/routes.h
    describes it: the first FastAPI route in table order, else the Flask route whose segments
    are most static from the left; HEAD is routed as GET. None when nothing matches."""
    m = "GET" if method == "HEAD" else method
    best = None
    for r in routes():
        if r.method == m and r.rx.fullmatch(path):
            if r.fastapi:
                return r
            if best is None or r.rank < best.rank:
                best = r
    return best


RECORDS = []
_rec_lock = threading.Lock()
_wardens = set()  # base URLs of running Wardens of this kit


def record(method, url_or_target, status, headers, body, auth, base_url=None):
    parsed = urllib.parse.urlsplit(url_or_target)
    if base_url is None:
        base_url = "%s://%s" % (parsed.scheme, parsed.netloc)
    if base_url not in _wardens:
        return
    raw_path = parsed.path
    path = urllib.parse.unquote(raw_path)
    hdr = {k.lower(): v for k, v in (headers.items() if hasattr(headers, "items") else headers)}
    by_mlflow = "uvicorn" in hdr.get("server", "")
    code = None
    if not by_mlflow and status >= 400:
        try:
            code = json.loads(body).get("error_code")
        except (ValueError, AttributeError, TypeError):
            code = None
    r = match_route(method, path)
    if by_mlflow or (status == 200 and r is not None):
        outcome = "allowed"
    elif status == 403 and code == "PERMISSION_DENIED":
        outcome = "denied"
    else:
        outcome = "refused"  # Warden answered before deciding (400, 404, 413, 503...)
    with _rec_lock:
        RECORDS.append({"method": method, "path": path, "raw_path": raw_path, "status": status,
                        "outcome": outcome, "user": token_owner(auth or ""),
                        "route": r.key if r else None, "action": r.action if r else None})


_orig_send = requests.Session.send


def _send(self, request, **kw):
    target = urllib.parse.urlsplit(request.url)
    base_url = "%s://%s" % (target.scheme, target.netloc)
    ours = base_url in _wardens
    if ours and FORCE_CLOSE[0]:
        request.headers["Connection"] = "close"
    resp = _orig_send(self, request, **kw)
    if ours:
        try:
            body = resp.content if not kw.get("stream") else b""
        except Exception:  # noqa: BLE001 - a broken body is still a response to record
            body = b""
        record(request.method, request.url, resp.status_code, resp.headers, body,
               request.headers.get("Authorization"), base_url)
    return resp


requests.Session.send = _send


@contextlib.contextmanager
def fresh_connections():
    """Every request in the block on a connection of its own (so that each of Warden's workers,
    which accept connections in turn, takes some)."""
    saved = FORCE_CLOSE[0]
    FORCE_CLOSE[0] = True
    try:
        yield
    finally:
        FORCE_CLOSE[0] = saved


# --- Warden ---------------------------------------------------------------------------------------
def start_warden(upstream_url, overrides=None):
    toks, pat_file = tokens()
    ov = {"auth": {"pat_file": pat_file}, "policy": {"paths": POLICY_DIR},
          "timeouts": {"upstream_first_byte": "120s"}, "server": {"log_level": "info"}}
    w = base.Warden(upstream_url, base.merge_sections(ov, overrides))
    w.start()
    _wardens.add(w.url)
    return w


def stop_warden(w):
    _wardens.discard(w.url)
    try:
        w.check_clean_exit()
    finally:
        shutil.rmtree(w.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def warden(mlflow_server):
    """A Warden in front of the session's MLflow, enforcing policies/, for one test module."""
    w = start_warden(mlflow_server.url)
    yield w
    stop_warden(w)


# --- acting as a user ---------------------------------------------------------------------------
_env_lock = threading.RLock()


class _Client:
    """MlflowClient whose calls run with the user's token in the environment."""

    def __init__(self, who):
        self._who = who
        self._c = MlflowClient(tracking_uri=who.url, registry_uri=who.url)

    def __getattr__(self, name):
        a = getattr(self._c, name)
        if not callable(a):
            return a

        def call(*args, **kw):
            with self._who.env():
                return a(*args, **kw)

        return call


class As:
    """One user's view of a Warden."""

    def __init__(self, w, who):
        self.w = w
        self.who = who
        self.user = email(who)
        self.url = w.url if hasattr(w, "url") else w
        self.token = tokens()[0][who]
        self.auth = {"Authorization": "Bearer " + self.token}
        self.c = _Client(self)

    @contextlib.contextmanager
    def env(self):
        with _env_lock:
            saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_URI",
                                                    "MLFLOW_REGISTRY_URI")}
            os.environ["MLFLOW_TRACKING_TOKEN"] = self.token
            os.environ["MLFLOW_TRACKING_URI"] = self.url
            os.environ["MLFLOW_REGISTRY_URI"] = self.url
            mlflow.set_tracking_uri(self.url)
            mlflow.set_registry_uri(self.url)
            try:
                yield self
                # the client links a registered or loaded prompt to the active experiment on a
                # thread of its own: let it finish with this user's token
                for t in threading.enumerate():
                    if t.name.startswith("link_prompt_to_experiment_thread"):
                        t.join(30)
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v

    # raw requests (requests library: the recorder sees them)
    def req(self, method, path, headers=None, **kw):
        h = dict(self.auth)
        h.update(headers or {})
        kw.setdefault("timeout", 60)
        return requests.request(method, self.url + path, headers=h, **kw)

    def get(self, path, params=None, **kw):
        return self.req("GET", path, params=params, **kw)

    def post(self, path, body=None, **kw):
        return self.req("POST", path, json=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.req("PATCH", path, json=body, **kw)

    def delete(self, path, body=None, **kw):
        return self.req("DELETE", path, json=body, **kw)

    def raw(self, method, target, headers=(), body=b"", timeout=30):
        """Exact bytes on a fresh connection (no normalisation); returns httpraw.Response."""
        hs = [("Authorization", "Bearer " + self.token), ("Connection", "close")] + list(headers)
        if body or method in ("POST", "PUT", "PATCH", "DELETE"):
            hs.append(("Content-Length", str(len(body))))
        data = httpraw.req(method, target, headers=hs, body=body, auth=False,
                           host="127.0.0.1:%d" % self.w.port)
        resp, s, _ = httpraw.exchange(self.w.port, data, timeout=timeout, method=method)
        s.close()
        record(method, self.url + target, resp.status, resp.headers, resp.body,
               "Bearer " + self.token, self.url)
        return resp


def users(w, *names):
    return [As(w, n) for n in names]


# --- naming (policies/README.md "Naming") ---------------------------------------------------------
BARE = re.compile(r"[A-Za-z0-9_]+")


def _q(part):
    return part if BARE.fullmatch(part) else "`" + part.replace("`", "``") + "`"


def securable(name, experiment=True):
    """The policy-language name Warden shows for an MLflow experiment/model name."""
    parts = name.split(".", 2)
    if len(parts) == 3 and BARE.fullmatch(parts[0]) and BARE.fullmatch(parts[1]) and parts[2]:
        return "%s.%s.%s" % (parts[0], parts[1], _q(parts[2]))
    m = re.fullmatch(r"/Users/([^/:]+)/(.+)", name, re.S)
    if experiment and m:
        return "users.%s.%s" % (_q(m.group(1)), _q(m.group(2)))
    return "main.default.%s" % _q(name)


# --- assertions -----------------------------------------------------------------------------------
def _json(resp):
    try:
        return resp.json()
    except ValueError:
        return None


def status_of(resp):
    return resp.status_code if hasattr(resp, "status_code") else resp.status


def body_of(resp):
    return resp.content if hasattr(resp, "content") else resp.body


def denial_message(resp):
    st = status_of(resp)
    j = None
    try:
        j = json.loads(body_of(resp))
    except ValueError:
        pass
    assert st == 403, "expected Warden's 403, got %s: %r" % (st, body_of(resp)[:400])
    assert isinstance(j, dict) and j.get("error_code") == "PERMISSION_DENIED", body_of(resp)[:400]
    return j["message"]


def assert_denied(resp, who, priv=None, kind=None, name=None):
    """Warden's denial: 403, {"error_code":"PERMISSION_DENIED","message":"<user> lacks <PRIV> on
    <kind> <name>..."}; priv/kind/name checked when given."""
    msg = denial_message(resp)
    user = email(who) if who in USERS else who
    assert msg.startswith(user + " lacks "), msg
    if priv is not None:
        # direct, or a missing traversal privilege reported "(needed for PRIV on ...)"
        assert msg.startswith("%s lacks %s on " % (user, priv)) or \
            ("(needed for %s on " % priv) in msg, msg
    if kind is not None and name is not None:
        assert ("on %s %s" % (kind, name)) in msg, "%r does not name %s %s" % (msg, kind, name)
    return msg


def assert_allowed(resp, ok=(200,)):
    """Warden let it through: MLflow answered (Server: uvicorn) or Warden answered a filtered
    search; with ok given, the status must be one of them."""
    st = status_of(resp)
    hdrs = resp.headers if hasattr(resp, "status_code") else dict((k.lower(), v) for k, v in resp.headers)
    by_mlflow = "uvicorn" in (hdrs.get("server") or hdrs.get("Server") or "")
    assert by_mlflow or st == 200, "Warden answered %s itself: %r" % (st, body_of(resp)[:400])
    if ok is not None:
        assert st in ok, "status %s, want %s: %r" % (st, ok, body_of(resp)[:400])
    return resp


def client_denied(fn, *args, **kw):
    """Call an MLflow client function that must be refused by Warden; returns Warden's message
    (without the client's "PERMISSION_DENIED: " prefix). The artifact repository raises
    requests' HTTPError rather than MlflowException: both are accepted."""
    try:
        fn(*args, **kw)
    except MlflowException as e:
        assert e.error_code == "PERMISSION_DENIED", "%s: %s" % (e.error_code, e.message)
        m = e.message
        return m[len("PERMISSION_DENIED: "):] if m.startswith("PERMISSION_DENIED: ") else m
    except requests.HTTPError as e:
        return denial_message(e.response)
    raise AssertionError("call succeeded but Warden should have denied it")


def assert_client_denied(who, fn, *args, priv=None, kind=None, name=None, **kw):
    msg = client_denied(fn, *args, **kw)
    user = email(who)
    assert user + " lacks " in msg, msg
    if priv:
        assert "%s lacks %s on " % (user, priv) in msg or ("(needed for %s on " % priv) in msg, msg
    if kind and name:
        assert "on %s %s" % (kind, name) in msg, "%r does not name %s %s" % (msg, kind, name)
    return msg


# --- the world ----------------------------------------------------------------------------------
SECRET = b"risk-credit-secret-bytes\n"
MSECRET = b"marketing-secret-bytes\n"


def artifact_path(exp_id, run_id, rel):
    return "%s/%s/artifacts/%s" % (exp_id, run_id, rel)


def _write_tmp(data, name):
    d = tempfile.mkdtemp(prefix="warden-e2e-art-")
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


class World:
    """Objects created once per session through a Warden (owners stamped)."""


def ok_json(resp):
    assert status_of(resp) == 200, "%s %r" % (status_of(resp), body_of(resp)[:500])
    return resp.json()


def make_trace(who, exp_id, name="t"):
    """A trace in exp_id through the client (StartTraceV3 + span upload); returns its id."""
    span = who.c.start_trace(name, inputs={"q": "x"}, experiment_id=exp_id)
    who.c.end_trace(span.trace_id, outputs={"a": "y"})
    return span.trace_id


SCORER_JSON = json.dumps({"name": "probe_scorer", "builtin_scorer_class": "RelevanceToQuery",
                          "builtin_scorer_pydantic_data": {"name": "probe_scorer"}})


def object_set(owner, P, label, need=None):
    """A set of objects in a new experiment risk.credit.<P>-<label>, created by `owner` (As)
    through Warden: {kind: id} with the kinds of the route table's checks (experiment,
    experiment-name, run, artifact-path, trace, logged-model, dataset, model, prompt, issue,
    label-schema, review-queue, job, scorer, gateway-endpoint); `need` limits it to those
    kinds (and what they depend on)."""
    want = set(need) if need is not None else None

    def wanted(*kinds):
        return want is None or any(k in want for k in kinds)

    o = {}
    o["experiment-name"] = "risk.credit.%s-%s" % (P, label)
    o["experiment"] = ok_json(owner.post("/api/2.0/mlflow/experiments/create",
                                         {"name": o["experiment-name"]}))["experiment_id"]
    if wanted("run", "artifact-path", "logged-model", "model"):
        o["run"] = ok_json(owner.post("/api/2.0/mlflow/runs/create",
                                      {"experiment_id": o["experiment"]}))["run"]["info"]["run_id"]
        owner.post("/api/2.0/mlflow/runs/log-metric", {"run_id": o["run"], "key": "loss", "value": 0.5,
                                                       "timestamp": 1, "step": 0})
        o["artifact-path"] = artifact_path(o["experiment"], o["run"], "probe.txt")
        r = owner.req("PUT", "/api/2.0/mlflow-artifacts/artifacts/" + o["artifact-path"], data=SECRET)
        assert r.status_code == 200, r.text
    if wanted("trace"):
        o["trace"] = make_trace(owner, o["experiment"], label)
    if wanted("logged-model"):
        o["logged-model"] = ok_json(owner.post("/api/2.0/mlflow/logged-models", {
            "experiment_id": o["experiment"], "name": "lm",
            "source_run_id": o["run"]}))["model"]["info"]["model_id"]
    if wanted("dataset"):
        o["dataset"] = ok_json(owner.post("/api/3.0/mlflow/datasets/create", {
            "name": "%s-%s-ds" % (P, label), "experiment_ids": [o["experiment"]]}))["dataset"]["dataset_id"]
    if wanted("model"):
        o["model"] = "risk.credit.%s-%s-model" % (P, label)
        ok_json(owner.post("/api/2.0/mlflow/registered-models/create", {"name": o["model"]}))
        ok_json(owner.post("/api/2.0/mlflow/model-versions/create", {
            "name": o["model"], "source": "mlflow-artifacts:/%s/%s/artifacts" % (o["experiment"], o["run"]),
            "run_id": o["run"]}))
    if wanted("prompt", "job"):
        o["prompt"] = "risk.credit.%s-%s-prompt" % (P, label)
        owner.c.register_prompt(o["prompt"], "Hello {{name}}")
    if wanted("issue"):
        o["issue"] = ok_json(owner.post("/api/3.0/mlflow/issues", {
            "experiment_id": o["experiment"], "name": "i", "description": "d"}))["issue"]["issue_id"]
    if wanted("label-schema"):
        o["label-schema"] = ok_json(owner.post("/api/3.0/mlflow/label-schemas/create", {
            "experiment_id": o["experiment"], "name": "ls", "type": "FEEDBACK",
            "input": {"text": {}}}))["label_schema"]["schema_id"]
    if wanted("review-queue"):
        o["review-queue"] = ok_json(owner.post("/api/3.0/mlflow/review-queues/create", {
            "experiment_id": o["experiment"], "name": "rq",
            "queue_type": "CUSTOM"}))["review_queue"]["queue_id"]
    if wanted("scorer", "experiment"):
        ok_json(owner.post("/api/3.0/mlflow/scorers/register", {
            "experiment_id": o["experiment"], "name": "probe_scorer", "serialized_scorer": SCORER_JSON}))
        o["scorer"] = "probe_scorer"
    if wanted("job"):
        o["job"] = ok_json(owner.post("/api/3.0/mlflow/prompt-optimization/jobs", {
            "experiment_id": o["experiment"], "source_prompt_uri": "prompts:/%s/1" % o["prompt"],
            "config": {"optimizer_type": "OPTIMIZER_TYPE_METAPROMPT",
                       "scorers": ["Correctness"]}}))["job"]["job_id"]
    o["gateway-endpoint"] = "risk.credit.%s-%s-endpoint" % (P, label)
    return o


def build_world(w):
    """Creates the shared objects; returns a World."""
    P = "e2e" + uuid.uuid4().hex[:8]
    W = World()
    W.P = P
    dave, alice, bob = As(w, "dave"), As(w, "alice"), As(w, "bob")
    # risk.credit: dave's (alice reads, bob is an outsider)
    W.exp_name = "risk.credit.%s-exp" % P
    W.exp = dave.c.create_experiment(W.exp_name)
    run = dave.c.create_run(W.exp, run_name="r")
    W.run = run.info.run_id
    for s in range(3):
        dave.c.log_metric(W.run, "loss", 1.0 / (s + 1), step=s)
    dave.c.log_param(W.run, "lr", "0.1")
    dave.c.set_tag(W.run, "team", "credit")
    dave.c.log_artifact(W.run, _write_tmp(SECRET, "secret.txt"))
    W.secret_path = artifact_path(W.exp, W.run, "secret.txt")
    W.trace = make_trace(dave, W.exp, "credit-trace")
    lm = dave.c.create_logged_model(W.exp, name="lm", source_run_id=W.run)
    W.logged_model = lm.model_id
    W.model_name = "risk.credit.%s-model" % P
    dave.c.create_registered_model(W.model_name)
    mv = dave.c.create_model_version(W.model_name, "mlflow-artifacts:/%s/%s/artifacts" % (W.exp, W.run),
                                     run_id=W.run)
    W.model_version = mv.version
    dave.c.set_registered_model_alias(W.model_name, "champion", mv.version)
    W.prompt_name = "risk.credit.%s-prompt" % P
    W.prompt_version = dave.c.register_prompt(W.prompt_name, "Hello {{name}}").version
    ds = dave.c.create_dataset("%s-ds" % P, experiment_id=[W.exp])
    W.dataset = ds.dataset_id
    # one of everything else, in its own experiment (the route sweeps' targets)
    W.ids = object_set(dave, P, "world")
    # risk.fraud: alice's
    W.aexp_name = "risk.fraud.%s-alice" % P
    W.aexp = alice.c.create_experiment(W.aexp_name)
    W.arun = alice.c.create_run(W.aexp).info.run_id
    alice.c.log_artifact(W.arun, _write_tmp(b"alice's own bytes\n", "mine.txt"))
    W.amodel_name = "risk.fraud.%s-amodel" % P
    alice.c.create_registered_model(W.amodel_name)
    # marketing.campaigns: bob's
    W.mexp_name = "marketing.campaigns.%s-exp" % P
    W.mexp = bob.c.create_experiment(W.mexp_name)
    W.mrun = bob.c.create_run(W.mexp).info.run_id
    bob.c.log_artifact(W.mrun, _write_tmp(MSECRET, "m.txt"))
    W.msecret_path = artifact_path(W.mexp, W.mrun, "m.txt")
    W.mtrace = make_trace(bob, W.mexp, "marketing-trace")
    W.mmodel_name = "marketing.campaigns.%s-model" % P
    bob.c.create_registered_model(W.mmodel_name)
    return W


@pytest.fixture(scope="session")
def world(mlflow_server):
    w = start_warden(mlflow_server.url)
    try:
        W = build_world(w)
        W.builder = w
        yield W
    finally:
        stop_warden(w)


# --- misc -----------------------------------------------------------------------------------------
def wait_for(pred, timeout=10.0, interval=0.05):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p
