"""Packs pyhost's test extensions into .tgz files in npm pack's layout (one top directory,
package/, holding package.json), their dependencies bundled in package/node_modules as
AirDC++ wants (it installs nothing itself).

The dependencies are the official AirDC++ libraries, installed once in tests/extensions by
`npm ci` from the committed package-lock.json (.ci/run does it). Usage:

    python tests/extensions/pack.py OUT_DIR [NAME ...]     # all extensions by default
"""
from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"


def extension_names() -> list[str]:
    return sorted(p.name for p in HERE.iterdir()
                  if p.is_dir() and p.name.startswith("airdcpp-") and
                  (p / "package.json").is_file())


def needs_node_modules(source: Path) -> bool:
    manifest = json.loads((source / "package.json").read_text())
    return bool(manifest.get("dependencies"))


def _add_tree(tar: tarfile.TarFile, root: Path, prefix: str) -> None:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_symlink() or ".bin" in rel.parts or "__pycache__" in rel.parts:
            continue  # npm pack leaves the .bin links out too
        info = tar.gettarinfo(str(path), arcname=f"{prefix}/{rel.as_posix()}")
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        if path.is_file():
            with open(path, "rb") as f:
                tar.addfile(info, f)
        elif path.is_dir():
            tar.addfile(info)


def pack(name: str, out_dir: Path) -> Path:
    source = HERE / name
    if needs_node_modules(source) and not (NODE_MODULES / "airdcpp-extension").is_dir():
        raise SystemExit(f"{NODE_MODULES} is missing: run `npm ci` in {HERE}")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.tgz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        _add_tree(tar, source, "package")
        if needs_node_modules(source):
            _add_tree(tar, NODE_MODULES, "package/node_modules")
    target.write_bytes(buffer.getvalue())
    return target


def pack_all(out_dir: Path, names: list[str] | None = None) -> dict[str, Path]:
    return {name: pack(name, out_dir) for name in (names or extension_names())}


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for name, path in pack_all(Path(sys.argv[1]), sys.argv[2:] or None).items():
        print(path)
