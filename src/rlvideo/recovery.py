"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo.io.recovery`."""

from rlvideo.io.recovery import (
    Outcome as Outcome,
)
from rlvideo.io.recovery import (
    cut_to_complete_fragments as cut_to_complete_fragments,
)
from rlvideo.io.recovery import (
    cut_to_complete_gif_frames as cut_to_complete_gif_frames,
)
from rlvideo.io.recovery import (
    cut_to_gap_free_frames as cut_to_gap_free_frames,
)
from rlvideo.io.recovery import (
    find_partials as find_partials,
)
from rlvideo.io.recovery import (
    is_leftover_name as is_leftover_name,
)
from rlvideo.io.recovery import (
    recover as recover,
)
from rlvideo.io.recovery import (
    recover_folder as recover_folder,
)
from rlvideo.io.recovery import (
    recover_tracks as recover_tracks,
)
from rlvideo.io.recovery import (
    remux as remux,
)
from rlvideo.io.recovery import (
    salvage as salvage,
)

__all__ = [
    "Outcome",
    "cut_to_complete_fragments",
    "cut_to_complete_gif_frames",
    "cut_to_gap_free_frames",
    "find_partials",
    "is_leftover_name",
    "recover",
    "recover_folder",
    "recover_tracks",
    "remux",
    "salvage",
]
