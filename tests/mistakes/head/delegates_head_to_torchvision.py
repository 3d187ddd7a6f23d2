"""FastRCNNHead built on torchvision's TwoMLPHead and FastRCNNPredictor (from-scratch: 0)."""

from torch import nn
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead

EXERCISE = "head.FastRCNNHead"


class FastRCNNHead(nn.Module):
    def __init__(self, in_features, num_classes, hidden=4096):
        super().__init__()
        mlp = TwoMLPHead(in_features, hidden)
        predictor = FastRCNNPredictor(hidden, num_classes)
        self.fc6, self.fc7 = mlp.fc6, mlp.fc7
        self.class_logits, self.box_deltas = predictor.cls_score, predictor.bbox_pred

    def forward(self, pooled):
        x = self.fc7(self.fc6(pooled.flatten(start_dim=1)).relu()).relu()
        return self.class_logits(x), self.box_deltas(x)
