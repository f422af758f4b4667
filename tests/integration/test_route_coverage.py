"""Route coverage: Warden's route table against the MLflow the tests pin.

Warden denies every request its route table does not classify, so a route MLflow adds in a
new release is refused rather than opened; this test makes such a route visible, and keeps
the table honest in the other direction too. It enumerates

  * the Flask app's url_map (``mlflow.server.app``), every method,
  * the FastAPI routes, walking the app ``create_fastapi_app()`` builds (as ``mlflow server``
    does), in registration order,
  * the basic-auth app's routes (``mlflow.server.auth``: via ``create_app`` when Flask-WTF is
    installed, else from the path constants of ``mlflow/server/auth/routes.py``),

and asks Warden's own matcher (gateway/mlflow/routes.c, compiled into a tiny helper against
the build's libwarden_core.a) about a sample request for each route. It fails listing:

  * MLflow routes Warden does not classify, or classifies as a different route (the sample
    request must land on the Warden route with the same pattern, so precedence bugs show),
  * Warden routes MLflow does not serve (stale), other than the basic-auth routes (which
    must then exist in the basic-auth app) and /metrics (served only with
    --expose-prometheus, whose package may be absent),
  * precedence probes where Warden and MLflow pick different routes for the same request
    (static before parameter, method-aware fallback, FastAPI registration order).

Parameter syntax is normalised on both sides: Werkzeug ``<x>`` / ``<conv:x>``, Starlette
``{x}`` / ``{x:path}`` and Warden ``{x}`` / ``{x:*}`` all become ``{}`` (one segment) or
``{*}`` (rest of path). Environment: WARDEN_BUILD_DIR (default: the directory of WARDEN_BIN,
else <repo>/build) must hold libwarden_core.a.
"""

import os
import re
import shlex
import subprocess
import sys
import warnings

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HELPER_SRC = r"""
#include "mlflow/routes.h"
#include "mlflow/target.h"
#include <stdio.h>
#include <string.h>

static enum http1_method method_of(const char *s)
{
    static const char *const n[] = {"", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
                                    "OPTIONS"};
    for (int i = 1; i < 8; i++)
        if (strcmp(s, n[i]) == 0)
            return (enum http1_method)i;
    return HTTP1_M_UNKNOWN;
}

int main(int argc, char **argv)
{
    char err[256];
    if (routes_init(err, sizeof(err)) < 0) {
        fprintf(stderr, "routes_init: %s\n", err);
        return 2;
    }
    if (argc > 1 && strcmp(argv[1], "dump") == 0) {
        routes_dump_tsv(stdout);
        return 0;
    }
    static char line[8192], buf[8192];
    static struct target t;
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\n")] = 0;
        char *sp = strchr(line, ' ');
        if (!sp) {
            puts("-\tbad input");
            continue;
        }
        *sp = 0;
        const char *path = sp + 1;
        struct target_error te;
        struct route_match m;
        if (target_parse(path, strlen(path), buf, sizeof(buf), &t, &te) < 0) {
            printf("-\trefused %d %s\n", te.status, te.reason);
        } else if (routes_match(method_of(line), &t, &m) < 0) {
            puts("-\tno match");
        } else {
            printf("%s\t%s\t%s\t%s\n", http1_method_name(m.route->method), m.route->pattern,
                   m.route->action, route_access_name(m.route->access));
        }
        fflush(stdout);
    }
    routes_deinit();
    return 0;
}
"""


def _build_dir():
    d = os.environ.get("WARDEN_BUILD_DIR")
    if d:
        return d
    b = os.environ.get("WARDEN_BIN")
    if b:
        return os.path.dirname(os.path.abspath(b))
    return os.path.join(ROOT, "build")


def _cache_flag(build, name):
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith(name + ":"):
                    return line.strip().split("=", 1)[1]
    except OSError:
        pass
    return ""


@pytest.fixture(scope="module")
def helper(tmp_path_factory):
    build = _build_dir()
    lib = os.path.join(build, "libwarden_core.a")
    assert os.path.exists(lib), f"{lib} missing: build Warden first (or set WARDEN_BUILD_DIR)"
    cc = _cache_flag(build, "CMAKE_C_COMPILER") or "cc"
    flags = []
    if _cache_flag(build, "WARDEN_SANITIZE") == "ON":
        flags += ["-fsanitize=address,undefined"]
    if _cache_flag(build, "WARDEN_FUZZ") == "ON":
        pytest.skip("fuzz builds link libFuzzer instrumentation; use a normal build")
    d = tmp_path_factory.mktemp("routes_helper")
    src = d / "routes_helper.c"
    exe = d / "routes_helper"
    src.write_text(HELPER_SRC)
    libs = subprocess.run(
        ["pkg-config", "--libs", "libevent_core", "libevent_extra", "libevent_openssl",
         "libevent_pthreads", "openssl", "jansson", "libjwt", "hiredis"],
        check=True, capture_output=True, text=True).stdout.split()
    cmd = [cc, "-std=c11", "-D_GNU_SOURCE", "-I", os.path.join(ROOT, "gateway"), *flags,
           str(src), lib, *libs, "-lpthread", "-lm", "-o", str(exe)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, "helper build failed: " + shlex.join(cmd) + "\n" + r.stderr
    return str(exe)


def warden_table(helper):
    out = subprocess.run([helper, "dump"], check=True, capture_output=True, text=True).stdout
    lines = out.splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, ln.split("\t"))) for ln in lines[1:]]


def warden_match(helper, requests):
    """requests: list of (method, path) -> list of (method, pattern, action, access) or None."""
    data = "".join(f"{m} {p}\n" for m, p in requests)
    out = subprocess.run([helper, "match"], input=data, check=True, capture_output=True,
                         text=True).stdout.splitlines()
    assert len(out) == len(requests)
    res = []
    for ln in out:
        f = ln.split("\t")
        res.append(None if f[0] == "-" else tuple(f[:4]))
    return res


# ---------------------------------------------------------------- pattern normalisation

_WERKZEUG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_BRACES = re.compile(r"\{(\w+)(?::([^}]*))?\}")


def norm(pattern):
    """Werkzeug, Starlette and Warden parameter syntax -> {} (segment) / {*} (rest)."""
    p = _WERKZEUG.sub(lambda m: "{*}" if m.group(1) == "path" else "{}", pattern)
    return _BRACES.sub(lambda m: "{*}" if m.group(2) in ("path", "*") else "{}", p)


def sample(pattern):
    """A concrete path for a pattern: {} -> p<i>, {*} -> a<i>/b<i> (two segments)."""
    n = norm(pattern)
    out, i = [], 0
    for part in re.split(r"(\{\*?\})", n):
        if part == "{}":
            i += 1
            out.append(f"p{i}")
        elif part == "{*}":
            i += 1
            out.append(f"a{i}/b{i}")
        else:
            out.append(part)
    return "".join(out)


# ---------------------------------------------------------------- MLflow's routes

def _import_mlflow_server():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow.server as server
        from mlflow.server import fastapi_app
    return server, fastapi_app


def _fastapi_routes(app):
    """[(full path, methods)] in registration order, for old (flat) and new (_IncludedRouter)
    FastAPI alike. Mounts end the list (everything else goes to Flask)."""
    out = []

    def walk(routes, prefix):
        for r in routes:
            if hasattr(r, "original_router"):  # FastAPI >= 0.16x: included routers stay nested
                walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif getattr(r, "methods", None) is not None and hasattr(r, "path"):
                out.append((prefix + r.path, frozenset(r.methods)))
            elif type(r).__name__ == "Mount":
                continue
            else:
                raise AssertionError(f"unexpected FastAPI route object {r!r}")

    walk(app.router.routes, "")
    return out


class MLflowRoutes:
    def __init__(self):
        server, fastapi_app = _import_mlflow_server()
        from starlette.routing import compile_path
        from werkzeug.exceptions import MethodNotAllowed, NotFound
        from werkzeug.routing import RequestRedirect

        self.flask = server.app
        self._errors = (MethodNotAllowed, NotFound, RequestRedirect)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            app = fastapi_app.create_fastapi_app()
        self.fastapi = [(p, ms, compile_path(p)[0]) for p, ms in _fastapi_routes(app)]
        self.flask_rules = [(r.rule, frozenset(r.methods - {"OPTIONS"}))
                            for r in self.flask.url_map.iter_rules()]

    def all_routes(self):
        """[(method, pattern, 'flask'|'fastapi')] without HEAD/OPTIONS."""
        out = []
        for rule, ms in self.flask_rules:
            out += [(m, rule, "flask") for m in sorted(ms - {"HEAD"})]
        for path, ms, _ in self.fastapi:
            out += [(m, path, "fastapi") for m in sorted(ms - {"HEAD"})]
        return out

    def resolve(self, method, path):
        """The route MLflow runs for (method, path): (pattern, 'fastapi'|'flask') or None."""
        for p, ms, rx in self.fastapi:
            if rx.match(path) and method in ms:
                return p, "fastapi"
        adapter = self.flask.url_map.bind("localhost")
        try:
            rule, _ = adapter.match(path, method=method, return_rule=True)
        except self._errors:
            return None
        return rule.rule, "flask"


def basic_auth_routes():
    """{(method or None, path)} served only by MLflow's basic-auth app."""
    try:
        import flask_wtf  # noqa: F401
    except ImportError:
        flask_wtf = None
    if flask_wtf is not None:
        import secrets
        import tempfile

        d = tempfile.mkdtemp()
        ini = os.path.join(d, "auth.ini")
        with open(ini, "w") as f:
            f.write(f"[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{d}/a.db\n"
                    "admin_username = admin\nadmin_password = %s\n" % secrets.token_urlsafe(18) +
                    "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
        os.environ["MLFLOW_AUTH_CONFIG_PATH"] = ini
        os.environ.setdefault("MLFLOW_FLASK_SERVER_SECRET_KEY", "route-coverage")
        from flask import Flask
        from mlflow.server.auth import create_app

        app = create_app(Flask("route_coverage"))
        app = getattr(app, "url_map", None) and app
        if app is not None:
            return {(m, r.rule) for r in app.url_map.iter_rules()
                    for m in r.methods - {"HEAD", "OPTIONS"}}
    # mlflow.server.auth's package __init__ needs Flask-WTF: load routes.py on its own.
    import importlib.util

    import mlflow.server

    path = os.path.join(os.path.dirname(mlflow.server.__file__), "auth", "routes.py")
    spec = importlib.util.spec_from_file_location("_mlflow_auth_routes", path)
    auth_routes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(auth_routes)
    return {(None, v) for k, v in vars(auth_routes).items()
            if k.isupper() and isinstance(v, str) and v.startswith("/")}


@pytest.fixture(scope="module")
def mlflow_routes():
    return MLflowRoutes()


# ---------------------------------------------------------------- the checks

def test_every_mlflow_route_is_classified(helper, mlflow_routes):
    routes = mlflow_routes.all_routes()
    reqs = []
    for m, pattern, _ in routes:
        reqs.append((m, sample(pattern)))
        if m == "GET":
            reqs.append(("HEAD", sample(pattern)))
    got = warden_match(helper, reqs)
    missing, wrong = [], []
    gi = iter(got)
    for m, pattern, layer in routes:
        for meth in (m, "HEAD") if m == "GET" else (m,):
            g = next(gi)
            # The route MLflow itself runs for the sample (FastAPI can shadow a Flask rule).
            served = mlflow_routes.resolve(meth if meth != "HEAD" else "GET", sample(pattern))
            expect = norm(served[0]) if served else norm(pattern)
            if g is None:
                missing.append(f"{meth} {pattern} ({layer})")
            elif norm(g[1]) != expect or g[0] != (m if meth != "HEAD" else "GET"):
                wrong.append(f"{meth} {sample(pattern)}: MLflow runs {expect}, Warden matched "
                             f"{g[0]} {g[1]} ({g[2]})")
    assert not missing, (f"{len(missing)} MLflow route(s) not classified in "
                         "gateway/mlflow/route_table.c:\n  " + "\n  ".join(sorted(missing)))
    assert not wrong, "Warden classifies these requests as another route:\n  " + \
        "\n  ".join(wrong)


def test_no_stale_warden_routes(helper, mlflow_routes):
    table = warden_table(helper)
    auth = basic_auth_routes()
    auth_paths = {p for _, p in auth}
    try:
        import prometheus_flask_exporter  # noqa: F401
        have_prometheus = True
    except ImportError:
        have_prometheus = False
    stale, layer_mismatch = [], []
    for row in table:
        m, pattern = row["method"], row["pattern"]
        if pattern == "/metrics" and not have_prometheus:
            continue
        served = mlflow_routes.resolve(m, sample(pattern))
        if served is None or norm(served[0]) != norm(pattern):
            if row["access"] == "denied" and (
                    (m, pattern) in auth or (None, pattern) in auth or
                    (None in {a for a, _ in auth} and pattern in auth_paths)):
                continue
            stale.append(f"{m} {pattern} ({row['action']}): MLflow runs "
                         f"{served[0] if served else 'nothing'}")
            continue
        if (served[1] == "fastapi") != (row["fastapi"] == "yes"):
            layer_mismatch.append(f"{m} {pattern}: MLflow serves it from {served[1]}")
    assert not stale, "Warden routes MLflow does not serve (stale):\n  " + "\n  ".join(stale)
    assert not layer_mismatch, "fastapi flag wrong:\n  " + "\n  ".join(layer_mismatch)


def test_basic_auth_routes_are_denied(helper, mlflow_routes):
    auth = basic_auth_routes()
    main = {p for _, p, _ in mlflow_routes.all_routes()}
    only_auth = sorted({(m, p) for m, p in auth if p not in main and "<" not in p})
    table = warden_table(helper)
    by_path = {}
    for row in table:
        by_path.setdefault(row["pattern"], []).append(row)
    bad = []
    for m, p in only_auth:
        rows = [r for r in by_path.get(p, []) if m is None or r["method"] == m]
        if not rows or any(r["access"] != "denied" for r in rows):
            bad.append(f"{m or '*'} {p}")
    assert not bad, "basic-auth routes not classified as denied:\n  " + "\n  ".join(bad)


# Requests where MLflow's precedence rules decide between several candidate routes.
PRECEDENCE_PROBES = [
    ("GET", "/api/3.0/mlflow/traces/get"),                   # static beats {trace_id}
    ("GET", "/api/3.0/mlflow/traces/tr-abc"),
    ("GET", "/api/3.0/mlflow/traces/batchGet"),
    ("PATCH", "/api/2.0/mlflow/logged-models/search"),       # no PATCH on static: {model_id}
    ("POST", "/api/2.0/mlflow/logged-models/search"),
    ("GET", "/api/3.0/mlflow/datasets/create"),              # GetDataset("create")
    ("GET", "/api/3.0/mlflow/datasets/search"),
    ("DELETE", "/api/3.0/mlflow/datasets/search"),
    ("GET", "/ajax-api/3.0/jobs/search"),                    # GET {job_id} = "search"
    ("POST", "/ajax-api/3.0/jobs/search"),
    ("POST", "/ajax-api/3.0/jobs/"),                         # trailing slash required
    ("POST", "/ajax-api/3.0/jobs"),
    ("PATCH", "/ajax-api/3.0/jobs/cancel/j1"),
    ("GET", "/ajax-api/3.0/jobs/cancel"),
    ("POST", "/gateway/proxy/mlflow/invocations"),           # FastAPI registration order
    ("POST", "/gateway/mlflow/mlflow/invocations"),
    ("POST", "/gateway/proxy/ep/some/path"),
    ("POST", "/gateway/gemini/v1beta/models/ep:generateContent"),
    ("POST", "/gateway/gemini/v1beta/models/ep:streamGenerateContent"),
    ("POST", "/gateway/gemini/v1beta/models/a:streamGenerateContent:generateContent"),
    ("GET", "/api/3.0/mlflow/mcp-servers/endpoints"),
    ("GET", "/api/3.0/mlflow/mcp-servers/endpoints/x"),
    ("GET", "/api/3.0/mlflow/mcp-servers/com.example/server"),
    ("GET", "/api/3.0/mlflow/mcp-servers/a/versions/1"),
    ("GET", "/api/3.0/mlflow/mcp-servers/a/versions/b/versions/c"),
    ("DELETE", "/api/3.0/mlflow/mcp-servers/a/versions/b/tags/c/tags/d"),
    ("POST", "/api/3.0/mlflow/mcp-servers/a/b/versions/c/d/tags"),
    ("GET", "/api/3.0/mlflow/mcp-servers/a/aliases/b/aliases/c"),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model.pkl"),
    ("DELETE", "/api/2.0/mlflow-artifacts/artifacts/1/x"),
    ("POST", "/api/2.0/mlflow-artifacts/mpu/create/1/x"),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts"),
    ("GET", "/static-files/static/js/main.js"),
    ("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"),
    ("GET", "/api/2.0/mlflow/runs/get/"),                    # no trailing-slash tolerance
    ("GET", "/API/2.0/mlflow/runs/get"),                     # case-sensitive
    ("PUT", "/api/2.0/mlflow/runs/get"),                     # method not served
    ("GET", "/api/2.0/mlflow/experiments/permissions/get"),  # removed in 3.13
    ("GET", "/health"),
    ("GET", "/"),
]


@pytest.mark.parametrize("method,path", PRECEDENCE_PROBES)
def test_precedence_agrees_with_mlflow(helper, mlflow_routes, method, path):
    served = mlflow_routes.resolve(method, path)
    (got,) = warden_match(helper, [(method, path)])
    if served is None:
        assert got is None, f"MLflow serves nothing for {method} {path}; Warden matched {got}"
        return
    assert got is not None, f"MLflow runs {served[0]} for {method} {path}; Warden: no match"
    assert norm(got[1]) == norm(served[0]), \
        f"{method} {path}: MLflow runs {served[0]}, Warden matched {got[1]}"


def test_helper_sees_sample_refusals(helper):
    # Sanity of the harness itself: canonicalisation refusals reach the matcher's caller.
    got = warden_match(helper, [("GET", "/api/2.0/mlflow/runs/../experiments/get"),
                                ("GET", "/api/2.0/mlflow//runs/get"),
                                ("GET", "/api/2.0/mlflow/runs%2Fget")])
    assert got == [None, None, None]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
