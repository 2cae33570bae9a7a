"""Hypothesis on POST /report: any body gets 400/401 with a message, never a 500, and a
refused report never burns its code."""

from __future__ import annotations

import importlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server_stub import codes

importlib.import_module("robert.report")

json_scalars = st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(
    allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=8), inner, max_size=4), max_leaves=20)
b64ish = st.sampled_from(["AAAAAAAAAAA=", "AA==", "AAAAAAA=", "", "=", "AAAA", "!!!!!!!!!!!="])
hello = st.fixed_dictionaries({
    "timeCollectedOnDevice": st.integers(-5, 2**33) | json_scalars,
    "timeFromHelloMessage": st.integers(-5, 2**17) | json_scalars,
    "mac": b64ish | json_scalars,
    "rssiCalibrated": st.integers(-300, 300) | json_scalars})
contact = st.fixed_dictionaries({"ebid": b64ish | json_scalars, "ecc": b64ish | json_scalars,
                                 "ids": st.lists(hello, max_size=3) | json_values})
report_like = st.fixed_dictionaries(
    {"contacts": st.lists(contact, max_size=3) | json_values},
    optional={"extra": json_values})


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=report_like | json_values)
def test_any_report_body_is_refused_cleanly_without_burning_the_code(world, body):
    code = codes.new_code(world.store, world.now())
    if isinstance(body, dict) and "contacts" in body:
        body = {**body, "token": code}
    r = world.http.post("/api/v6/report", json=body)
    assert r.status_code in (200, 400, 401), r.text
    assert isinstance(r.json()["message"], str) and r.json()["message"]
    if r.status_code != 200:
        assert world.store.code_valid(code, world.now())
    else:
        assert not world.store.code_valid(code, world.now())
