"""Files read and written safely: regular files only, sizes bounded, every write atomic.

Reading: :func:`check_regular` stats a path (through links) and refuses what is not a
regular file — a device such as /dev/zero, a FIFO that would block for ever, a socket, a
folder — and files over a size limit, before a byte is read. :func:`read_bytes` opens
without blocking and checks the opened file again, so a file swapped between the check and
the open is caught too. :func:`check_npz` reads an .npz's zip directory and refuses members
that would inflate past a limit.

Writing: :func:`atomic_write` hands out a temporary path in the target's own folder; the
caller writes it, and only a complete, flushed and synced file is renamed over the target.
A failure leaves the old file as it was and no temporary behind. Temporary names carry
:data:`TEMP_PREFIX` and the writer's process id, so that temporaries of a killed process are
recognised and removed by the next write into that folder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
import time
import zipfile
from collections.abc import Iterator

from .errors import InputError

__all__ = [
    "TEMP_PREFIX", "check_regular", "read_bytes", "check_npz", "atomic_write", "check_writable", "same_file",
    "clean_stale_temporaries", "fallback_path",
]

TEMP_PREFIX = ".flowscope-tmp-"
STALE_SECONDS = 24 * 3600  # a temporary this old is stale even if its pid was reused by a live process


def _fail(path: str, problem: str) -> InputError:
    return InputError(f"{path}: {problem}")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe, not a regular file; refused"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file; refused"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file; refused"
    return "is not a regular file; refused"


def check_regular(path: str, limit: int | None = None, what: str = "file") -> int:
    """The size of ``path`` in bytes, after checking it is a regular file of at most ``limit`` bytes."""
    try:
        st = os.stat(path)  # follows links: a link to /dev/zero is a device
    except FileNotFoundError:
        raise _fail(path, f"no such {what}") from None
    except OSError as e:
        raise _fail(path, f"cannot be read ({e.strerror or e})") from None
    if not stat.S_ISREG(st.st_mode):
        raise _fail(path, _kind(st.st_mode))
    if limit is not None and st.st_size > limit:
        raise _fail(path, f"{what} is too large ({st.st_size / 2**20:,.1f} MB; the limit is {limit / 2**20:,.0f} MB)")
    return int(st.st_size)


def read_bytes(path: str, limit: int, what: str = "file") -> bytes:
    """The whole of a regular file of at most ``limit`` bytes (never blocks on a pipe, never reads past the limit)."""
    check_regular(path, limit, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise _fail(path, f"cannot be read ({e.strerror or e})") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):  # swapped for something else since the check
            raise _fail(path, _kind(st.st_mode))
        try:
            data = fh.read(limit + 1)
        except OSError as e:
            raise _fail(path, f"cannot be read ({e.strerror or e})") from None
    if len(data) > limit:
        raise _fail(path, f"{what} is too large (over {limit / 2**20:,.0f} MB)")
    return data


def check_npz(path: str, source: str | object, limit: int) -> None:
    """Refuse an .npz whose members would inflate past ``limit`` bytes, from its zip directory alone.

    ``source`` is a path or a binary file object (as :class:`zipfile.ZipFile` takes).
    """
    try:
        with zipfile.ZipFile(source) as z:  # type: ignore[arg-type]
            total = sum(max(info.file_size, 0) for info in z.infolist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise _fail(path, f"is not a readable NumPy .npz file ({type(e).__name__})") from None
    if total > limit:
        raise _fail(path, f"its arrays would take {total / 2**20:,.0f} MB once unpacked; the limit is "
                    f"{limit / 2**20:,.0f} MB")


def same_file(a: str, b: str) -> bool:
    """Whether two paths name the same file (links and hard links included); False when either is missing."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clean_stale_temporaries(folder: str) -> int:
    """Remove temporaries left in ``folder`` by writers that no longer run (or older than a day); how many."""
    removed = 0
    now = time.time()
    try:
        names = [n for n in os.listdir(folder) if n.startswith(TEMP_PREFIX)]
    except OSError:
        return 0
    for name in names:
        pid_text = name[len(TEMP_PREFIX):].split("-", 1)[0]
        full = os.path.join(folder, name)
        try:
            old = now - os.lstat(full).st_mtime > STALE_SECONDS
            if old or not pid_text.isdigit() or (int(pid_text) != os.getpid() and not _pid_alive(int(pid_text))):
                os.remove(full)
                removed += 1
        except OSError:
            continue
    return removed


def _temp_name(folder: str, path: str) -> str:
    ext = os.path.splitext(path)[1]  # writers choose the format by the extension (and numpy adds its own)
    return os.path.join(folder, f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{ext}")


def _sync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(folder: str) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _check_target(path: str) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise _fail(path, f"cannot write ({e.strerror or e})") from None
    if not stat.S_ISREG(st.st_mode):
        raise _fail(path, f"cannot write: it {_kind(st.st_mode).removesuffix('; refused')}")


@contextlib.contextmanager
def atomic_write(path: str) -> Iterator[str]:
    """A temporary path to write; on a clean exit it is synced and renamed over ``path``.

    On any error the temporary is removed and ``path`` is left as it was; an ``OSError``
    (full disk, no permission) comes out as an :class:`InputError` naming ``path``.

    Example:
        >>> with atomic_write("out.npy") as tmp:  # doctest: +SKIP
        ...     np.save(tmp, x)
    """
    _check_target(path)
    target = os.path.realpath(path)  # replace what a link points to, not the link
    folder = os.path.dirname(target) or "."
    clean_stale_temporaries(folder)
    tmp = _temp_name(folder, target)
    try:
        yield tmp
        if not os.path.isfile(tmp):
            raise OSError(f"the writer produced no file at {tmp}")
        _sync(tmp)
        os.replace(tmp, target)
        _sync_folder(folder)
    except OSError as e:
        raise _fail(path, f"cannot write ({e.strerror or e})") from None
    finally:
        with contextlib.suppress(OSError):
            if os.path.lexists(tmp):
                os.remove(tmp)


def check_writable(path: str) -> None:
    """InputError unless a file can be written at ``path`` (its folder exists and takes a probe file)."""
    _check_target(path)
    folder = os.path.dirname(os.path.realpath(path)) or "."
    if not os.path.isdir(folder):
        raise _fail(path, f"the folder {os.path.dirname(os.path.abspath(path))} does not exist")
    try:
        fd, probe = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=folder)
    except OSError as e:
        raise _fail(path, f"cannot write in its folder ({e.strerror or e})") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.remove(probe)


def fallback_path(path: str) -> str:
    """Where a file that could not be written at ``path`` goes instead: the system's temporary folder."""
    base = os.path.basename(path) or "flowscope-output"
    stem, ext = os.path.splitext(base)
    return os.path.join(tempfile.gettempdir(), f"flowscope-rescued-{stem}-{os.getpid()}{ext}")
