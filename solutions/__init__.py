"""Reference solutions: the same modules, names, signatures and docstrings as ``lessons``."""
