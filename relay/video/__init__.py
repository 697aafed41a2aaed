"""Video: one camera's JPEGs decoded once, encoded once, fanned out to every viewer.

``decode`` (JPEG to 4:2:0), ``vp8`` (the encoder) and ``keyframes`` (when to make
one), ``slot`` (newest frame wins between stages), ``pipeline`` (the worker thread
that joins them), ``placeholder`` (what viewers see while the camera is away),
``fanout`` (encoded frames to every consumer), ``framecode`` (the machine-readable
stamp in the simulator's and the placeholder's frames).
"""
