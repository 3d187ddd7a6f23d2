"""Re-exports ``given.rpn_layout``: the RPN head's outputs in anchor order (see ``given``)."""

from given.rpn_layout import flatten_rpn_outputs

__all__ = ["flatten_rpn_outputs"]
