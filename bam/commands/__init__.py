"""One module per ``bam`` command; see ``bam.cli`` for the contract."""
