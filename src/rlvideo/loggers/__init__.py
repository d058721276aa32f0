"""Hand finished videos to the trackers people look at: wandb, TensorBoard and MLflow.

Each logger is an ``on_video_saved`` callable, ``logger(where, meta)``: pass it to any wrapper
(:class:`rlvideo.RecordVideo`, :class:`rlvideo.wrappers.vector.RecordVideo`,
:class:`rlvideo.wrappers.sb3.VecVideoRecorder`, :class:`rlvideo.wrappers.sb3.EvalVideoCallback`, the PettingZoo
wrapper), or call it on a path that :func:`rlvideo.save_video` returned (``logger(path)``, or
``logger(path, step=...)``). Each is built with no arguments when the tracker has an active run
(``wandb.init()``, ``mlflow.start_run()``) or, for TensorBoard, a default log dir, and imports
its tracker only then, with an error naming the extra (``pip install "rlvideo[wandb]"``,
``rlvideo[tensorboard]``, ``rlvideo[mlflow]``). What each hands over:

- :class:`WandbLogger`: the finished file itself (``wandb.Video(path, format=...)``: no moviepy,
  no re-encode), with a caption (env id, episode, return) and the metadata;
- :class:`TensorBoardLogger`: a GIF image summary, which TensorBoard's Images tab plays, encoded
  by rlvideo within size and frame limits (:func:`rlvideo.io._preview.gif_preview`), written
  through a ``torch.utils.tensorboard.SummaryWriter``, a tensorboardX writer, or to a log dir
  with no torch at all; the video's path is in the summary's description and in a text summary;
- :class:`MLflowLogger`: the file as an artifact of the run under ``videos/``, named for its
  step (``step_00000042.mp4``, which MLflow's proposed video view reads), with the metadata as
  a JSON artifact beside it and run tags.

**The step**: each video is logged at the step it *started* at, ``meta.first_step``, or
``step(meta)`` for a ``step=`` callable (an SB3 training env wrapped in ``VecVideoRecorder``
counts steps of the vector env: ``step=lambda meta: meta.first_step * n_envs`` gives
``model.num_timesteps``), or an explicit ``logger(path, meta, step=...)``; never the step at
which its encoding happened to finish. Videos that finish out of order land at their own steps.

**Object stores**: with ``video_folder="s3://..."``, ``where`` is the video's URL. The wrappers
keep the uploaded local file until ``on_video_saved`` returns, and the loggers read that file
(:func:`rlvideo.storage.local_file`); a URL with no local file (one ``save_video`` returned) is
downloaded, with the logger's ``storage_options``. Trackers get the URL in the metadata.

**Off the env loop**: a logger runs once per video, when it is final, never per frame. The
TensorBoard and MLflow loggers do their work (the GIF, an artifact upload) in one background
thread of their own (``background=True``; at a lower priority on Linux, so on busy cores it
waits, not the env); :meth:`VideoLogger.flush` waits for it, and the wrappers' ``close()`` calls
it, so after ``env.close()`` everything is written. wandb copies the file and uploads it in its
own process, so :class:`WandbLogger` works in the caller's thread.

**Errors** lose no video: the video is saved before any hand-off. A tracker that raises
(a server down, a run that is gone) does not interrupt the env loop: the error is logged (logger
``rlvideo.loggers``) when it happens, and raised by :meth:`VideoLogger.flush`, so from the
wrapper's ``close()``. Only a misuse (no active run, a bad step) raises at once, and the
wrapper raises it from its next call, as for any ``on_video_saved`` that raises.

Example:
    >>> import numpy as np
    >>> from rlvideo import save_video
    >>> from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    >>> board = TensorBoardLogger("runs/demo")
    >>> for path in save_video(np.zeros((30, 64, 64, 3), np.uint8), "videos", fps=10):
    ...     board(path, step=1000)
    >>> board.close()
    >>> events = EventAccumulator("runs/demo")
    >>> _ = events.Reload()
    >>> [(image.step, image.width, image.encoded_image_string[:6]) for image in events.Images("videos")]
    [(1000, 64, b'GIF89a')]
"""  # noqa: E501 (the doctest's line)

from rlvideo.loggers.base import StepOf, VideoLogger, caption
from rlvideo.loggers.mlflow import MLflowLogger
from rlvideo.loggers.tensorboard import TensorBoardLogger
from rlvideo.loggers.wandb import WandbLogger

__all__ = ["MLflowLogger", "StepOf", "TensorBoardLogger", "VideoLogger", "WandbLogger", "caption"]
