"""The I/O layer: encode, read, cut and recover video files with PyAV, and write them safely.

Modules here may use the pure layer (:mod:`rlvideo._core`) and PyAV, never the recorder or an
environment:

- :mod:`rlvideo.io.writer`: :class:`~rlvideo.VideoWriter`, which streams frames into a file;
- :mod:`rlvideo.io.reader`: the one place a video is decoded back (``probe``, ``read_frames``);
- :mod:`rlvideo.io.recovery`: rescue what a crash cut off; :mod:`rlvideo.io.manifest`: the
  folder's index of videos;
- internal: ``_files`` (hidden partial names, atomic renames), ``_cutting`` (step clips cut from
  one encode), ``_preview`` (GIF previews for trackers), ``_gif`` (the one GIF palette
  pipeline) and ``_scale`` (the one downscaler).
"""
