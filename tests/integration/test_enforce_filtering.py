"""Filtered searches (issue 5, Build item 6 and Tests): a search answers only what the caller
may see, across pages, with page sizes honoured and page tokens bound to the caller and query.

The set-up creates 500 experiments (in parallel, as root and bob) of which bob (group marketing,
a data scientist) may see exactly 37: 20 in marketing.campaigns, 10 in shared.features, 7 in
his home /Users/bob@acme.example/. The other 463 are in risk.fraud, risk.credit,
marketing.churn (no USE SCHEMA for marketing), main.default and alice's home.
"""

import concurrent.futures
import time
import uuid

import pytest
from mlflow.exceptions import MlflowException

import conftest as base
import enforcekit as kit
from enforcekit import As, warden, world  # noqa: F401 - fixtures

VISIBLE = [("marketing.campaigns.{q}-mc-{i:03d}", 20, "root"),
           ("shared.features.{q}-sf-{i:03d}", 10, "root"),
           ("/Users/bob@acme.example/{q}-home-{i:03d}", 7, "bob")]
HIDDEN = [("risk.fraud.{q}-rf-{i:03d}", 100, "root"),
          ("risk.credit.{q}-rc-{i:03d}", 100, "root"),
          ("marketing.churn.{q}-ch-{i:03d}", 50, "root"),
          ("{q}-plain-{i:03d}", 150, "root"),
          ("/Users/alice@acme.example/{q}-ah-{i:03d}", 63, "alice")]


@pytest.fixture(scope="module")
def many(warden):
    q = "flt" + uuid.uuid4().hex[:6]
    jobs = []
    for groups, visible in ((VISIBLE, True), (HIDDEN, False)):
        for tmpl, n, who in groups:
            for i in range(n):
                jobs.append((tmpl.format(q=q, i=i), who, visible))
    assert len(jobs) == 500 and sum(v for _, _, v in jobs) == 37
    users = {n: As(warden, n) for n in ("root", "bob", "alice")}

    def create(job):
        name, who, _ = job
        r = users[who].post("/api/2.0/mlflow/experiments/create", {"name": name})
        assert r.status_code == 200, (name, r.status_code, r.text)
        return r.json()["experiment_id"]

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(12) as ex:
        ids = list(ex.map(create, jobs))
    base.record_figure("enforce e2e: 500 experiments created through Warden in %.1f s"
                       % (time.monotonic() - t0))

    class M:
        pass

    m = M()
    m.q = q
    m.visible = {name for (name, _, v) in jobs if v}
    m.hidden = {name for (name, _, v) in jobs if not v}
    m.ids = dict(zip([j[0] for j in jobs], ids))
    m.filter = "name LIKE '%%%s%%'" % q
    return m


def pages(who, filter_string, max_results, order_by=None):
    out, tok = [], None
    while True:
        page = who.c.search_experiments(filter_string=filter_string, max_results=max_results,
                                        page_token=tok, order_by=order_by)
        out.append([e.name for e in page])
        tok = page.token
        if not tok:
            return out
        assert len(out) <= 600, "pagination does not end"


def test_bob_sees_exactly_his_37_across_pages(warden, many):
    bob = As(warden, "bob")
    t0 = time.monotonic()
    ps = pages(bob, many.filter, 5, order_by=["name ASC"])
    dt = time.monotonic() - t0
    got = [n for p in ps for n in p]
    assert len(got) == len(set(got)), "duplicates across pages"
    assert set(got) == many.visible, (sorted(set(got) - many.visible)[:5], sorted(many.visible - set(got))[:5])
    assert len(got) == 37
    assert got == sorted(got)
    assert all(len(p) <= 5 for p in ps)
    base.record_figure("enforce e2e: bob's 37 of 500 in %d pages of <=5 in %.2f s" % (len(ps), dt))


def test_page_sizes_honoured(warden, many):
    """Every page but the last is full: Warden refills from further upstream pages."""
    ps = pages(As(warden, "bob"), many.filter, 5)
    assert [len(p) for p in ps] == [5] * 7 + [2]


def test_one_big_page(warden, many):
    got = [e.name for e in As(warden, "bob").c.search_experiments(filter_string=many.filter, max_results=1000)]
    assert sorted(got) == sorted(many.visible)


def test_other_users_see_their_share(warden, many):
    alice = {n for p in pages(As(warden, "alice"), many.filter, 50) for n in p}
    # alice: risk (catalog READ), shared.features, her home; not marketing, not main.default
    want = {n for n in many.visible | many.hidden
            if n.startswith(("risk.", "shared.features.", "/Users/alice@acme.example/"))}
    assert alice == want
    assert {n for p in pages(As(warden, "mallory"), many.filter, 50) for n in p} == set()
    root = {n for p in pages(As(warden, "root"), many.filter, 100) for n in p}
    assert root == many.visible | many.hidden


def test_unfiltered_search_shows_only_visible(warden, many, world):
    """No filter: the whole server (other modules' objects too); bob sees nothing outside the
    schemas he may browse."""
    got = {n for p in pages(As(warden, "bob"), None, 100) for n in p}
    assert many.visible <= got
    assert world.mexp_name in got
    allowed_prefixes = ("marketing.campaigns.", "shared.features.", "shared.sandbox.", "/Users/bob@acme.example/",
                        "/Users/alice@acme.example/churn/baseline")
    assert [n for n in got if not n.startswith(allowed_prefixes)] == []


def test_get_search_filtered_too(warden, many):
    bob = As(warden, "bob")
    names, tok = [], None
    while True:
        params = {"filter": many.filter, "max_results": "7"}
        if tok:
            params["page_token"] = tok
        r = bob.get("/api/2.0/mlflow/experiments/search", params)
        j = kit.ok_json(r)
        names += [e["name"] for e in j.get("experiments", [])]
        tok = j.get("next_page_token")
        if not tok:
            break
    assert sorted(names) == sorted(many.visible)


def _first_token(who, many, n=5):
    page = who.c.search_experiments(filter_string=many.filter, max_results=n)
    assert page.token
    return page.token


def test_page_token_bound_to_caller(warden, many):
    bob, alice, erin = As(warden, "bob"), As(warden, "alice"), As(warden, "erin")
    tok = _first_token(bob, many)
    # bob continues fine (the page's size is test_page_sizes_honoured's business)
    bob.c.search_experiments(filter_string=many.filter, max_results=5, page_token=tok)
    # another user replaying bob's token, even one who could see the same rows (erin is in marketing)
    for other in (alice, erin):
        with pytest.raises(MlflowException) as ei:
            other.c.search_experiments(filter_string=many.filter, max_results=5, page_token=tok)
        assert ei.value.error_code == "INVALID_PARAMETER_VALUE", ei.value.message


def test_page_token_bound_to_query(warden, many):
    bob = As(warden, "bob")
    tok = _first_token(bob, many)
    with pytest.raises(MlflowException) as ei:
        bob.c.search_experiments(filter_string="name LIKE '%%'", max_results=5, page_token=tok)
    assert ei.value.error_code == "INVALID_PARAMETER_VALUE"
    # a token forged from scratch or tampered with
    for bad in (tok[:-2] + ("AA" if not tok.endswith("AA") else "BB"), "eyJvZmZzZXQiOiA1MH0=", "x" * 40):
        r = bob.post("/api/2.0/mlflow/experiments/search", {"filter": many.filter, "max_results": 5,
                                                            "page_token": bad})
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", (bad, r.text)


def test_search_runs_over_many_experiments(warden, many):
    """SearchRuns with several experiment ids: READ on each, one unreadable one refuses all."""
    bob = As(warden, "bob")
    mine = [many.ids[n] for n in sorted(many.visible)[:20]]
    kit.assert_allowed(bob.post("/api/2.0/mlflow/runs/search", {"experiment_ids": mine}))
    hidden = many.ids[sorted(many.hidden)[0]]
    r = bob.post("/api/2.0/mlflow/runs/search", {"experiment_ids": mine + [hidden]})
    kit.assert_denied(r, "bob", "READ", "experiment", hidden)


def test_registered_model_search_filtered_across_pages(warden, many):
    root, bob = As(warden, "root"), As(warden, "bob")
    names = ["marketing.campaigns.%s-m%02d" % (many.q, i) for i in range(6)] + \
            ["risk.fraud.%s-m%02d" % (many.q, i) for i in range(30)] + \
            ["%s-plain-m%02d" % (many.q, i) for i in range(14)]
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda n: kit.ok_json(root.post("/api/2.0/mlflow/registered-models/create", {"name": n})),
                    names))
    got, tok = [], None
    while True:
        page = bob.c.search_registered_models(filter_string="name LIKE '%%%s-%%m%%'" % many.q, max_results=2,
                                              page_token=tok)
        assert len(page) <= 2
        got += [m.name for m in page]
        tok = page.token
        if not tok:
            break
    assert sorted(got) == sorted(names[:6])
