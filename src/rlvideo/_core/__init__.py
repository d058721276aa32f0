"""The pure layer: checks, plans, names and formats, with NumPy and the standard library only.

Nothing here opens a file, imports PyAV or touches an environment, so every module loads in
milliseconds and is tested without video. The layers above (:mod:`rlvideo.io`,
:mod:`rlvideo.recording`, the integrations) import from here, never the other way round.
"""
