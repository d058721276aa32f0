"""The recording layer: videos encoded off the environment's thread, under every wrapper.

:mod:`rlvideo.recording._recorder` holds the per-video state the wrappers drive;
:mod:`rlvideo.recording._worker` encodes in a background process. Internal: users reach it through
:mod:`rlvideo.wrappers`.
"""
