"""``bam compare detectors`` end to end on a tiny budget, and its summary table."""

from __future__ import annotations

import json

from bam.cli import main
from bam.pipelines.detector_comparison import markdown, summarise


def test_summary_is_mean_and_spread_over_seeds():
    rows = [
        {"model": "yolo", "map": 0.5, "training_seconds": 10, "ips_batch_1": 4, "ips_batch_8": 8},
        {"model": "yolo", "map": 0.7, "training_seconds": 14, "ips_batch_1": 6, "ips_batch_8": 8},
    ]
    summary = summarise(rows)
    assert summary["yolo"]["map"] == [0.5, 0.7]
    table = markdown(summary, "header")
    assert "| YOLO (course, lesson 10) | 0.600 ± 0.141 | 12 ± 3 | 5.0 ± 1.4 | 8.0 ± 0.0 |" in table


def test_tiny_comparison_trains_three_models_and_reuses_them(tmp_path, capsys):
    arguments = [
        "compare", "detectors", "--impl", "solutions", "--epochs", "1", "--max-train-images",
        "4", "--max-test-images", "2", "--batch-size", "2", "--seeds", "0", "--repeats", "1",
        "--speed-images", "2", "--threads", "1", "--no-progress", "--out", str(tmp_path),
    ]  # fmt: skip
    assert main(arguments) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {row["model"] for row in summary["rows"]} == {"faster_rcnn", "yolo", "torchvision"}
    assert all(row["epochs"] == 1 and row["ips_batch_8"] > 0 for row in summary["rows"])
    assert (tmp_path / "summary.md").read_text().count("±") == 24  # 3 models x (4 + 4 recalls)
    capsys.readouterr()
    assert main(arguments) == 0  # a second run reuses the finished run folders
    assert capsys.readouterr().out.count("reusing") == 3
