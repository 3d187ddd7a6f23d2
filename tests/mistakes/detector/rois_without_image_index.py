"""Gives every RoI batch index 0, so the head pools all images' RoIs from the first image's features."""

import torch

import solutions.detector as detector

EXERCISE = "detector.FasterRCNN"


class FasterRCNN(detector.FasterRCNN):
    def detection_head(self, features, proposals, image_sizes, targets=None):
        only_first = features[:1].expand_as(features)  # as if every RoI had index 0
        return super().detection_head(only_first.contiguous(), proposals, image_sizes, targets)
