"""PyTorch's default conv initialisation, not N(0, 0.01) with zero biases: large random first proposals."""

from torch import nn

EXERCISE = "rpn.RPNHead"


class RPNHead(nn.Module):
    def __init__(self, in_channels, num_anchors):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, in_channels, 3, padding=1)
        self.cls_logits = nn.Conv2d(in_channels, num_anchors, 1)
        self.bbox_pred = nn.Conv2d(in_channels, 4 * num_anchors, 1)

    def forward(self, features):
        hidden = nn.functional.relu(self.conv(features))
        return self.cls_logits(hidden), self.bbox_pred(hidden)
