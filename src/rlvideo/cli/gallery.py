"""``rlvideo gallery``: FOLDER/index.html, every video with a poster, playback and its metadata."""

from __future__ import annotations

import click

from rlvideo.cli._errors import user_errors
from rlvideo.cli._options import parse_storage_options
from rlvideo.storage import is_url, open_destination

__all__ = ["gallery"]


@click.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--title", default=None, help="Page title (default: the folder's name).")
@click.option(
    "--storage-options",
    default=None,
    metavar="JSON",
    help="fsspec options when FOLDER is a URL (s3://bucket/prefix).",
)
def gallery(folder: str, title: str | None, storage_options: str | None) -> None:
    """Build FOLDER/index.html: every video with a poster, playback and its metadata.

    FOLDER may hold run folders (runs/ppo, runs/hand, runs/sweep/lr-3: any depth), as
    TensorBoard's --logdir does: each is a run, named by its path from FOLDER, with a colour
    of its own, and the same-seed compare pairs videos across runs. Every link is relative:
    move FOLDER, zip it or serve it from anywhere. FOLDER may be an fsspec URL (its videos,
    not its sub-folders): the videos are downloaded to a temporary folder, and the page
    and its posters are uploaded beside them.
    """
    with user_errors():
        from rlvideo.gallery import build_gallery, build_remote_gallery

        options = parse_storage_options(storage_options)
        destination = open_destination(folder, options)
        if destination.remote:
            url = build_remote_gallery(folder, storage_options=options, title=title)
            click.echo(f"gallery: {url}")
            return
        page = build_gallery(destination.location if is_url(folder) else folder, title=title)
    click.echo(f"gallery: {page}\nopen file://{page.absolute()}")
