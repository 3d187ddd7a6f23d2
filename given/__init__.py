"""Given code the lessons call: small, finished helpers a student uses but does not write.

What the lessons (and their reference solutions) call of the course's own code lives here, so
that a lesson depends on nothing that reaches up into the pipelines, the CLI or the plots of
``bam``. Everything here is pure: it imports torch and the standard library (SAM's
helpers take a transformers ``SamModel``), never ``bam``, ``lessons``, ``solutions`` or
``checks``.

- ``given.detection``: batching and normalising images, checking targets (lessons 9 and 10).
- ``given.rpn_layout``: the RPN head's outputs in anchor order (lesson 9).
- ``given.sam``: images and box prompts as ``SamModel`` inputs (lesson 4).

``bam.detection``, ``bam.rpn_layout`` and ``bam.sam_model`` re-export these names (and nothing
more: the first two are nothing but the re-export), so a lesson that imports them from ``bam``
still loads only this package's code and torch.
"""
