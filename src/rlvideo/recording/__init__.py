"""The recording layer: videos encoded off the environment's thread, under every wrapper.

Internal: users reach it through :mod:`rlvideo.wrappers`. A frame goes down these modules:

- :mod:`rlvideo.recording._recorder`: the per-video state the wrappers drive (overlay, data
  track, metadata, keep_if, the upload and the hand-off);
- :mod:`rlvideo.recording._pool`: :class:`EncoderPool`, which spreads the videos over up to
  a few background encoders where the machine has cores for them;
- :mod:`rlvideo.recording._encoder`: :class:`BackgroundEncoder`, the caller's side, which
  converts each frame and copies it into a slot;
- :mod:`rlvideo.recording._transport`: how the slots and messages reach the worker (shared
  memory and a socket to a process, or a queue to a thread);
- :mod:`rlvideo.recording._messages`: the messages and their bytes on the wire;
- :mod:`rlvideo.recording._worker`: the worker, which owns the video writers;
- :mod:`rlvideo.recording._interrupts`: Ctrl-C held back while the hand-off changes state.
"""
