"""Data at rest is the service's alone: its directories 0700, its files 0600.

A data directory holds live session ids, TOTP seeds, pseudonym indexes, ID-card holders'
private keys and the service's own keys, so no other local user may read any of it. Three layers:

- the entry points (``citygate serve``, ``citygate up``) set the umask to 0o077, so whatever a
  library creates later (log files, SQLite's ``-wal``/``-shm``/``-journal``) comes out private;
- the files citygate creates itself are opened 0600 explicitly, whatever the umask (keys, the
  launcher's logs, and the SQLite database file, created before SQLite opens it: SQLite gives its
  ``-wal``/``-shm``/``-journal`` files the mode of the database file);
- at start, a data directory that an older version left readable is tightened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
PRIVATE_DIRECTORY_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def restrict_new_files() -> None:
    """For process entry points only: the umask is per process, not per service app."""
    os.umask(PRIVATE_UMASK)


class SharedDirectory(RuntimeError):
    """A world-writable directory (``/tmp``) named as a data directory: never made private, nor
    its contents, since it is everybody's; the service needs a directory of its own."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path} is writable by every user, so it cannot hold a service's data; "
            f"name a directory of its own, such as {path / 'citygate'}"
        )


def private_directory(path: Path) -> Path:
    """Create ``path`` (and missing parents) if needed and make ``path`` itself 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIRECTORY_MODE)
    if path.stat().st_mode & stat.S_IWOTH:
        raise SharedDirectory(path)
    _set_mode(path, PRIVATE_DIRECTORY_MODE)
    return path


def tighten_tree(root: Path) -> None:
    """``root`` and every directory under it 0700, every file 0600; symbolic links are neither
    followed nor changed (chmod on a link would change what it points to)."""
    private_directory(root)
    for directory, subdirectories, files in os.walk(root):
        for name in subdirectories:
            if not os.path.islink(os.path.join(directory, name)):
                _set_mode(Path(directory) / name, PRIVATE_DIRECTORY_MODE)
        for name in files:
            if not os.path.islink(os.path.join(directory, name)):
                _set_mode(Path(directory) / name, PRIVATE_FILE_MODE)


def private_file(path: Path, flags: int = os.O_RDWR) -> int:
    """Open (creating if missing) ``path`` as a 0600 file, whatever the umask; returns the descriptor."""
    fd = os.open(path, flags | os.O_CREAT, PRIVATE_FILE_MODE)
    if stat.S_IMODE(os.fstat(fd).st_mode) != PRIVATE_FILE_MODE:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    return fd


def _set_mode(path: Path, mode: int) -> None:
    if stat.S_IMODE(path.stat().st_mode) != mode:
        path.chmod(mode)
