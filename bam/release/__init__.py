"""Releasing the course: the student copy, its stubs, and the two graders' files.

* ``bam.release.stubs``: the committed lesson stubs a release hands out (and ``ReleaseError``);
* ``bam.release.student``: the student copy (``bam release student``);
* ``bam.release.gradescope``: the Gradescope autograder zip and its ``run_autograder`` steps;
* ``bam.release.classroom``: one GitHub Classroom grading step (``python -m bam.release.classroom``).
"""
