"""``bam hint``: one more hint per call, remembered per exercise; clear errors for unknown names."""

from __future__ import annotations

import json
import tomllib

import pytest

from bam.cli import main
from bam.hints import reader
from tests.grading import REPO_ROOT

METRICS_HINTS = tomllib.loads((REPO_ROOT / "bam" / "hints" / "metrics.toml").read_text("utf-8"))


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("BAM_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state" / "hints.json"


def bam_hint(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["hint", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_each_call_reveals_one_more_hint_then_stays_at_the_last(state, capsys):
    levels = METRICS_HINTS["box_iou"]["hints"]
    for level in range(1, len(levels) + 2):
        code, out, _ = bam_hint(capsys, "metrics.box_iou")
        shown = min(level, len(levels))
        assert code == 0
        for number, text in enumerate(levels, start=1):
            assert (text in out) == (number <= shown), f"call {level}, hint {number}"
        assert (f"→ Hint {shown}/{len(levels)}" in out) == (level <= len(levels))
    assert "last hint" in out
    assert json.loads(state.read_text())["seen"] == {"metrics.box_iou": len(levels)}


def test_progress_is_per_exercise_and_reset_forgets_it(state, capsys):
    bam_hint(capsys, "metrics.box_iou")
    bam_hint(capsys, "metrics.box_iou")
    _, out, _ = bam_hint(capsys, "metrics.mask_iou")
    assert "Hint 1/" in out and "Hint 2/" not in out
    bam_hint(capsys, "metrics.box_iou", "--reset")
    _, out, _ = bam_hint(capsys, "metrics.box_iou")
    assert "→ Hint 1/" in out and "Hint 2/" not in out
    assert json.loads(state.read_text())["seen"] == {"metrics.box_iou": 1, "metrics.mask_iou": 1}
    bam_hint(capsys, "--reset")
    assert json.loads(state.read_text())["seen"] == {}


def test_all_shows_every_hint_and_a_bare_name_resolves(state, capsys):
    _, out, _ = bam_hint(capsys, "dice_ce_loss", "--all")
    assert all(text in out for text in METRICS_HINTS["dice_ce_loss"]["hints"])
    assert json.loads(state.read_text())["seen"]["metrics.dice_ce_loss"] == 3


def test_unknown_exercise_suggests_close_names(state, capsys):
    code, out, err = bam_hint(capsys, "metrics.box_iuo")
    assert code == 2 and not out
    assert "no hints for 'metrics.box_iuo'" in err and "Did you mean metrics.box_iou" in err
    code, _, err = bam_hint(capsys, "dice")
    assert code == 2 and "metrics.dice_coefficient" in err and "metrics.dice_ce_loss" in err
    assert not state.exists(), "an unknown name must not write state"


def test_without_exercise_lists_what_was_seen(state, capsys):
    bam_hint(capsys, "metrics.average_precision")
    _, out, _ = bam_hint(capsys)
    assert "metrics.average_precision" in out and "1/3" in out


def test_hints_are_those_of_the_toml_files_every_exercise_of_every_file(tmp_path):
    hints = reader.load_hints()
    for path in (REPO_ROOT / "bam" / "hints").glob("*.toml"):
        tables = tomllib.loads(path.read_text("utf-8"))
        for name, table in tables.items():
            assert hints[f"{path.stem}.{name}"] == [" ".join(h.split()) for h in table["hints"]]
    (tmp_path / "broken.toml").write_text('[box_iou]\nhints = "one string"\n', "utf-8")
    with pytest.raises(reader.HintError, match=r"broken.toml: \[box_iou\] needs hints"):
        reader.load_hints(tmp_path)


def test_a_corrupt_state_file_counts_as_nothing_seen(state, capsys):
    state.parent.mkdir(parents=True)
    state.write_text("{not json", "utf-8")
    code, out, _ = bam_hint(capsys, "metrics.box_iou")
    assert code == 0 and "→ Hint 1/" in out


def test_outside_a_course_it_refuses_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("BAM_STATE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    code, out, err = bam_hint(capsys, "metrics.box_iou")
    assert code == 2 and not out
    assert "not in a course folder" in err and "--state" in err
    assert not (tmp_path / ".bam").exists()


def test_inside_a_course_the_state_is_the_course_folder_s(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("BAM_STATE_DIR", raising=False)
    course = tmp_path / "course"
    (course / "lessons" / "deep").mkdir(parents=True)
    (course / "checks").mkdir()
    monkeypatch.chdir(course / "lessons" / "deep")
    code, out, _ = bam_hint(capsys, "metrics.box_iou")
    assert code == 0 and "Hint 1/" in out
    assert json.loads((course / ".bam" / "hints.json").read_text())["seen"] == {
        "metrics.box_iou": 1
    }
    assert not (course / "lessons" / "deep" / ".bam").exists()
