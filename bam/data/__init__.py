"""The course's data: loading data sets from folders, and generating the synthetic ones.

* ``bam.data.datasets``: the segmentation folder and Pascal VOC detection folder loaders;
* ``bam.data.synthetic``: the bundled ``data/water`` and ``data/shapes`` sets, regenerated from a
  seed (``bam data``);
* ``bam.data.sam_shapes``: the shapes the tiny SAM is pretrained on;
* ``bam.data.backbone_shapes``: the shapes the VGG16 backbone is pretrained on;
* ``bam.data.shape_drawer``: the one shape drawer all three use (pure geometry, numpy or torch).
"""
