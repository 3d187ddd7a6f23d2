"""FasterRCNN whose parts are torchvision's RegionProposalNetwork and RoIHeads (from scratch: 0).

It builds torchvision's RPN and RoIHeads next to the course's own parts (so its other checks
would still pass): building them is the library call the from-scratch rule gives 0 for.
"""

from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead

from solutions.detector import FasterRCNN as _Reference

EXERCISE = "detector.FasterRCNN"


class FasterRCNN(_Reference):
    def __init__(self, num_classes, *args, **kwargs):
        super().__init__(num_classes, *args, **kwargs)
        anchors = AnchorGenerator(((128, 256, 512),), ((0.5, 1.0, 2.0),))
        self.__dict__["torchvision_rpn"] = RegionProposalNetwork(
            anchors,
            RPNHead(8, 9),
            0.7,
            0.3,
            256,
            0.5,
            {"training": 1, "testing": 1},
            {"training": 1, "testing": 1},
            0.7,
        )
