"""The course's pipelines: what ``bam train``, ``bam pretrain``, ``bam compare`` and ``bam predict`` run.

* ``bam.pipelines.detector``: train, evaluate and predict with the Faster R-CNN, or lesson 10's
  YOLO (``TrainConfig.model = "yolo"``), into a run folder;
* ``bam.pipelines.torchvision_twin``: torchvision's Faster R-CNN with the course's settings;
* ``bam.pipelines.sam``: fine-tune SAM with box prompts, and compare it with the pretrained one;
* ``bam.pipelines.instances``: lesson 11, a detector's boxes prompting a SAM, measured;
* ``bam.pipelines.sam_pretraining`` and ``bam.pipelines.backbone_pretraining``: the bundled
  pretrained tiny SAM and VGG16 backbone, pretrained on synthetic shapes.

Their settings are the torch-free dataclasses of ``bam.configs``.
"""
