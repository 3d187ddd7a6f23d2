"""tools/benchmark.py's JSON-writing path and its report, on a tiny run (not a timed test)."""

from __future__ import annotations

import json

from tools import benchmark
from tools.benchmark_report import report


def test_detector_json_and_report(tmp_path):
    tiny = ["--override", "epochs=1", "--override", "max_train_images=4",
            "--override", "max_test_images=2"]  # fmt: skip
    args = ["detector", "--seeds", "0", *tiny, "--runs", str(tmp_path / "runs")]
    assert benchmark.main([*args, "--out", str(tmp_path / "bench")]) == 0
    payload = json.loads((tmp_path / "bench" / "detector.json").read_text())
    row = payload["rows"][0]
    assert row["seed"] == 0 and row["epochs"] == 1 and 0 <= row["map"] <= 1
    assert row["train_cpu_seconds"] > 0 and row["train_seconds"] > 0
    assert row["config"]["max_train_images"] == 4
    for key in ("cpu", "cores", "torch", "torch_threads"):
        assert key in payload["machine"]
    assert payload["commit"] and len(payload["load_before"]) == 3
    report(tmp_path / "bench", tmp_path)
    table = (tmp_path / "compare-detector.md").read_text()
    assert f"{row['map']:.3f}" in table and "CPU time" in table
    assert not (tmp_path / "compare-detectors.md").exists()  # no YOLO JSON: left as it is
