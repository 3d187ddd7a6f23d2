"""Given code the lessons call: small, finished helpers a student uses but does not write.

What the lessons (and their reference solutions) call of the course's own code lives here, so
that a lesson depends on nothing that reaches up into the pipelines, the CLI or the plots of
``bam``. Everything here is pure: it imports torch and the standard library (SAM's
helpers take a transformers ``SamModel``), never ``bam``, ``lessons``, ``solutions`` or
``checks``.

- ``given.detection``: batching and normalising images, checking targets (lessons 9 and 10).
- ``given.rpn_layout``: the RPN head's outputs in anchor order (lesson 9).
- ``given.sam``: images and box prompts as ``SamModel`` inputs (lesson 4).

The lessons and their solutions import these modules directly (``from given.detection import
...``); nothing in ``bam`` re-exports them.
"""
