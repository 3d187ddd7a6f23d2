"""The scoreboard of a run: one row per exercise, the course's progress bar, and the next step."""

from __future__ import annotations

from pathlib import Path

from bam.checking.progress import exercise_outcome
from bam.checking.runner import (
    NO_FREE_POINTS,
    SPEED,
    WRONG_RESULT,
    Run,
    Verdict,
    course_order,
    exercise_of,
    exercises_of,
    is_speed,
)

BAR_WIDTH = 30


class Style:
    """ANSI colours when writing to a terminal (and ``NO_COLOR`` is not set), plain text otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled else text


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """``▕██████░░░░▏ 12/47 exercises (26%)``."""
    filled = round(width * done / total) if total else 0
    percent = round(100 * done / total) if total else 0
    return f"▕{'█' * filled}{'░' * (width - filled)}▏ {done}/{total} exercises ({percent}%)"


def course_progress_line(course: Path, progress: dict[str, str], style: Style) -> str:
    every = [name for lesson in course_order(course) for name in exercises_of(course, lesson)]
    done = sum(progress.get(name) == "passed" for name in every)
    return style("Course ", "1") + progress_bar(done, len(every))


def _row(style: Style, label: str, verdicts: list[Verdict], speed: bool = False) -> str:
    outcome = exercise_outcome(verdicts)
    got = sum(v.points for v in verdicts if v.outcome == "passed")
    worth = sum(v.points for v in verdicts)
    if speed:
        status = {"passed": "fast enough", "failed": "too slow"}.get(outcome, outcome)
        if any(WRONG_RESULT in v.message for v in verdicts if v.outcome == "failed"):
            status = "waits for a right result"
        mark = style("⏱", "32" if outcome == "passed" else "31")
    else:
        status = "done" if outcome == "passed" else outcome
        mark = style("✓", "32") if outcome == "passed" else style("✗", "31")
    colour = {"passed": "32", "failed": "31"}.get(outcome, "33")
    return f"  {mark} {label:<36} {got:>3}/{worth:<3} {style(status, colour)}"


def scoreboard(run: Run, course: Path, style: Style) -> list[str]:
    """One line per exercise (its speed check, if any, on the line below), a line per lesson.

    A speed check (``lesson.exercise.speed``) has its own points but is not an exercise of its
    own: the lesson's "done" count is about correctness.
    """
    order = course_order(course)
    lessons: dict[str, dict[str, list[Verdict]]] = {}
    for exercise, verdicts in run.by_exercise().items():
        lessons.setdefault(exercise.split(".", 1)[0], {})[exercise] = verdicts
    lines = []
    for lesson in sorted(lessons, key=lambda name: order.index(name) if name in order else 99):
        exercises = lessons[lesson]
        number = order.index(lesson) + 1 if lesson in order else "?"
        names = list(dict.fromkeys(exercise_of(name) for name in exercises))
        done = points = maximum = 0
        rows = []
        for name in names:
            for label, key, speed in ((name, name, False), ("speed", name + SPEED, True)):
                verdicts = exercises.get(key)
                if not verdicts:
                    continue
                points += sum(v.points for v in verdicts if v.outcome == "passed")
                maximum += sum(v.points for v in verdicts)
                done += not speed and exercise_outcome(verdicts) == "passed"
                shown = f"  {label}" if speed and name in exercises else key
                rows.append(_row(style, shown, verdicts, speed=speed))
        counted = sum(name in exercises for name in names)
        title = f"Lesson {number} {lesson}"
        lines.append(
            style(f"{title:<22} {done}/{counted} exercises  {points}/{maximum} points", "1")
        )
        lines += rows
    return lines


def first_unfinished(run: Run) -> tuple[str, Verdict] | None:
    """The first exercise (in run order) with a check that did not pass, and that check;
    speed checks only once every correctness check passes."""
    exercises = run.by_exercise()
    for speed in (False, True):
        for exercise, verdicts in exercises.items():
            if is_speed(exercise) != speed:
                continue
            unfinished = [verdict for verdict in verdicts if verdict.outcome != "passed"]
            # a property that holds but waits for the exercise to do its job says least
            telling = [v for v in unfinished if not v.message.startswith(NO_FREE_POINTS)]
            if unfinished:
                return exercise, (telling or unfinished)[0]
    return None


def _remaining(course: Path, run: Run, progress: dict[str, str]) -> tuple[list[str], str | None]:
    """Exercises of the run's lessons not done yet (by ``progress``), and the next lesson."""
    order = course_order(course)
    ran = set(run.by_exercise())
    lessons = sorted(
        {name.split(".", 1)[0] for name in ran},
        key=lambda lesson: order.index(lesson) if lesson in order else len(order),
    )
    left = [
        name
        for lesson in lessons
        for name in exercises_of(course, lesson)
        if name not in ran and progress.get(name) != "passed"
    ]
    last = max((order.index(lesson) for lesson in lessons if lesson in order), default=-1)
    later = [
        lesson
        for lesson in order[last + 1 :]
        if any(progress.get(name) != "passed" for name in exercises_of(course, lesson))
    ]
    return left, (later[0] if later else None)


def next_step(
    run: Run,
    course: Path,
    style: Style,
    package: str = "lessons",
    progress: dict[str, str] | None = None,
) -> list[str]:
    """What to do next: the first failing check's property and message, the next exercise of
    the lesson (when what ran passes but the lesson is not finished), or the next lesson."""
    found = first_unfinished(run)
    if found is None:
        left, next_lesson = _remaining(course, run, progress or {})
        ran = [name for name in run.by_exercise() if not is_speed(name)]
        what = ", ".join(ran) if 0 < len(ran) <= 3 else "these exercises"
        if left:
            return [
                style(f"✓ All checks of {what} pass. ", "32")
                + f"Next: {left[0]} ({len(left)} left in this lesson) — bam check {left[0]}"
            ]
        if next_lesson is not None:
            order = course_order(course)
            return [
                style("All checks pass: the lesson is done. ", "32")
                + f"On to lesson {order.index(next_lesson) + 1}, {next_lesson}:"
                f" bam check {next_lesson}"
            ]
        return [style("All checks pass. ", "32") + "Every exercise of the course is done!"]
    exercise, verdict = found
    lesson = exercise.split(".", 1)[0]
    if verdict.outcome == "not implemented":
        return [
            style(f"Next: {exercise_of(exercise)}", "1;33")
            + f" is not implemented yet ({package}/{lesson}.py)",
            f"  Stuck? bam hint {exercise_of(exercise)}",
        ]
    message = verdict.message.strip().splitlines() or ["(no message)"]
    title = (
        style(f"⏱ {exercise_of(exercise)} is correct but too slow:", "1;31")
        if is_speed(exercise)
        else style(f"✗ {exercise} fails:", "1;31")
    )
    return [
        f"{title} {verdict.description}",
        *(f"  {line}" for line in message[:40]),
        *(["  ..."] if len(message) > 40 else []),
        f"  Stuck? bam hint {exercise_of(exercise)}",
    ]


def broken_run_lines(run: Run) -> list[str]:
    if not run.broke:
        return []
    return [
        f"The checks stopped early (pytest exit status {run.exit_code});"
        f" {len(run.verdicts)} check(s) reported. The end of its output:",
        *("  " + line for line in run.output_tail.strip().splitlines()[-30:]),
    ]


def render(run: Run, course: Path, progress: dict[str, str], style: Style, package: str) -> str:
    lines = scoreboard(run, course, style)
    if not run.verdicts and not run.broke:
        lines.append("No checks were selected.")
    lines += ["", *next_step(run, course, style, package, progress)] if run.verdicts else []
    lines += broken_run_lines(run)
    lines += ["", course_progress_line(course, progress, style)]
    return "\n".join(lines)
