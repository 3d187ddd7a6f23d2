"""The hints of ``bam hint`` and the docs: one TOML file per lesson, read by ``bam.hints.reader``."""
