"""The I/O layer: encode, read, cut and recover video files with PyAV, and write them safely.

Modules here may use the pure layer (:mod:`rlvideo._core`) and PyAV, never the recorder or an
environment: :mod:`rlvideo.io.writer` streams frames into a file, :mod:`rlvideo.io.reader`
decodes one back, :mod:`rlvideo.io.recovery` rescues one a crash cut off.
"""
