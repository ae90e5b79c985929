"""``pyhost pack``: build a package from a directory holding info.xml and its files."""
from __future__ import annotations

import io
import os
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Optional, Union

from pyhost.packages.dcext import INFO_XML, Package, read_package
from pyhost.packages.manifest import parse_info
from pyhost.packages.rules import DEFAULT_LIMITS, InvalidPackageError, Limits, _show, check_path

_PACK_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same directory always packs the same bytes


def pack(directory: Union[str, os.PathLike], output: Union[str, os.PathLike, None] = None,
         *, limits: Optional[Limits] = None) -> tuple[Path, Package]:
    """Builds a package from ``directory`` (its info.xml and the files it names).

    Writes ``output`` (default: ``<directory>.dcext`` beside the directory) through a
    temporary file in the same directory that is validated exactly as ``read_package``
    would, then renamed into place; when validation fails nothing is left behind and
    InvalidPackageError is raised. Returns the output path and the package.
    """
    limits = DEFAULT_LIMITS if limits is None else limits
    directory = Path(directory)
    label = str(directory)
    if not directory.is_dir():
        raise InvalidPackageError(f"{label}: no such directory.", "pack-no-dir")
    info_path = directory / INFO_XML
    if not info_path.is_file():
        raise InvalidPackageError(f"{label}: there is no info.xml in this directory.",
                                  "no-info")
    raw_info = info_path.read_bytes()
    if len(raw_info) > limits.max_info_size:
        raise InvalidPackageError(f"{label}: info.xml is {len(raw_info)} bytes; the limit is "
                                  f"{limits.max_info_size}.", "info-size")

    def fail(code, text):
        raise InvalidPackageError(f"{label}: {text}.", code)

    info = parse_info(raw_info, fail)
    names = [path for _, path in info.plugins] + [path for path, _ in info.files]
    members: dict[str, bytes] = {}
    for path in names:
        problem = check_path(path)
        if problem:
            fail("bad-named-path", f"info.xml names {_show(path)}, which {problem}")
        source = directory / path
        if not source.is_file():
            fail("missing-file", f"info.xml names {_show(path)}, which is not a file in "
                 f"{label}")
        if path not in members:
            members[path] = source.read_bytes()

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in [(INFO_XML, raw_info)] + sorted(members.items()):
            entry = zipfile.ZipInfo(name, date_time=_PACK_DATE)
            entry.create_system = 3  # Unix: the mode below is meaningful
            entry.external_attr = (stat.S_IFREG | 0o644) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, content, compresslevel=9)
    data = buffer.getvalue()

    target = Path(output) if output is not None else \
        directory.resolve().parent / (directory.resolve().name + ".dcext")
    if not target.parent.is_dir():
        raise InvalidPackageError(f"{target}: cannot write there (no such directory).",
                                  "pack-output")
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                    suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        package = read_package(tmp, limits=limits, name=target.name)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target, package
