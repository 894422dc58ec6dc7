"""Server reflection that also serves the comments of the .proto files.

The generated modules register their descriptors without source info, so the
stock reflection service would answer with undocumented files. The codegen
script writes a FileDescriptorSet with source info beside the generated code;
this module serves those files (comments included) for tidings.v1 and the
default pool's files for everything else (health, reflection, well-known types).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection

__all__ = ["enable_reflection"]


class _DocumentedFile:
    """A file descriptor whose CopyToProto includes source info when known."""

    __slots__ = ("_documented", "_file")

    def __init__(self, file: Any, documented: Mapping[str, descriptor_pb2.FileDescriptorProto]):
        self._file = file
        self._documented = documented

    @property
    def name(self) -> str:
        return str(self._file.name)

    @property
    def dependencies(self) -> list[_DocumentedFile]:
        return [_DocumentedFile(d, self._documented) for d in self._file.dependencies]

    def CopyToProto(self, proto: descriptor_pb2.FileDescriptorProto) -> None:
        documented = self._documented.get(self.name)
        if documented is None:
            self._file.CopyToProto(proto)
        else:
            proto.CopyFrom(documented)


class _DocumentedPool:
    """The default descriptor pool, answering file lookups with _DocumentedFile."""

    def __init__(self, documented: Mapping[str, descriptor_pb2.FileDescriptorProto]) -> None:
        self._pool = descriptor_pool.Default()
        self._documented = documented

    def FindFileByName(self, name: str) -> _DocumentedFile:
        return _DocumentedFile(self._pool.FindFileByName(name), self._documented)

    def FindFileContainingSymbol(self, symbol: str) -> _DocumentedFile:
        return _DocumentedFile(self._pool.FindFileContainingSymbol(symbol), self._documented)

    def __getattr__(self, name: str) -> Any:
        # Message and extension lookups need no source info.
        return getattr(self._pool, name)


def _load_documented(descriptor_set: Path) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    documented = {}
    for file in files.file:
        if not file.package.startswith("tidings."):
            continue
        # Importing the generated module registers the file in the default pool.
        importlib.import_module(file.name.removesuffix(".proto").replace("/", ".") + "_pb2")
        documented[file.name] = file
    return documented


def enable_reflection(server: Any, service_names: Iterable[str], descriptor_set: Path) -> None:
    """Add the reflection service to a grpc.aio server, listing `service_names`."""
    names = (*service_names, reflection.SERVICE_NAME)
    pool = _DocumentedPool(_load_documented(descriptor_set))
    reflection.enable_server_reflection(names, server, pool=pool)
