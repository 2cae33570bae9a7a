"""Station and kiosk basics that run on every bench, simulated or real."""

from __future__ import annotations

from gateway import flows


def test_provision_status_and_report_on_two_tokens(bench):
    a, b = bench.tokens(2)
    for tok in (a, b):
        out = bench.provision(tok)
        assert "RT-" in out
        view = flows.token_view(bench.info(tok))
        assert view.state == "ok" and view.serial.startswith("RT-")
    bench.advance(2)  # real seconds on hardware
    status = bench.status(b)
    assert status.risk_level == 0 and status.token.headline == "Not at risk"
    assert abs(status.clock_correction) < 10
    result = bench.report(a)
    assert result.delivered and result.acknowledged
