"""``python -m rlvideo``: the same as the ``rlvideo`` command."""

from rlvideo.cli import main

main()
