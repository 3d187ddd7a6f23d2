"""``bam check``'s machinery: running the checks, remembering progress, the scoreboard, watch mode.

* ``bam.checking.runner``: the course on disk and the pytest child that grades it (``run_checks``);
* ``bam.checking.check_stream``: the pytest plugin the child streams its verdicts through;
* ``bam.checking.warm``: a warm checks process for watch mode (torch and pytest imported once);
* ``bam.checking.progress``: ``.bam/progress.json``, each exercise's last outcome;
* ``bam.checking.scoreboard``: the rows, the progress bar and the next step shown after a run;
* ``bam.checking.watch``: one run (``Checker``) and ``--watch``'s loop.
"""
