"""``make bench --overlay``: an option's cost against plain SFD, timed in interleaved rounds and printed as a ratio."""

import pytest

import benchmarks.bench as bench


def test_the_overlay_is_timed_beside_the_plain_run_round_by_round(monkeypatch, capsys):
    calls = []

    def fake_fit_iterations(module, data, iterations, warmup):
        calls.append(module.robust.enabled)
        return [0.3, 0.3] if module.robust.enabled else [0.1, 0.1]  # seconds per iteration

    monkeypatch.setattr(bench, "fit_iterations", fake_fit_iterations)
    bench.main(["--overlay", "configs/overlays/robust.yaml", "--rounds", "2", "--iterations", "2"])
    assert calls == [False, True, False, True]  # interleaved: plain then overlaid, each round
    out = capsys.readouterr().out
    assert "plain SFD iteration                         100.0 ms" in out
    assert "with the overlay                            300.0 ms" in out
    assert "ratio overlay / plain: 3.00 (rounds 3.00-3.00)" in out


@pytest.mark.parametrize("other", [["--reference", "/clone"], ["--iteration-only"]])
def test_overlay_with_another_mode_is_refused(other):
    with pytest.raises(SystemExit) as err:
        bench.parse_args(["--overlay", "configs/overlays/robust.yaml", *other])
    assert err.value.code == 2
