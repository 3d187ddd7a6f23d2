"""No ReLU after the 3x3 conv: the head is one linear map."""

from solutions.rpn import RPNHead as _Reference

EXERCISE = "rpn.RPNHead"


class RPNHead(_Reference):
    def forward(self, features):
        hidden = self.conv(features)
        return self.cls_logits(hidden), self.bbox_pred(hidden)
