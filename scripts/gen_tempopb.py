"""Regenerate kubespan/api/tempopb/ (Tempo's `tempopb` protobuf and gRPC modules) from Tempo's source.

    python -m venv /tmp/gen && /tmp/gen/bin/pip install grpcio-tools
    /tmp/gen/bin/python scripts/gen_tempopb.py [--tempo-src /work/tempo-src]

Needs grpcio-tools at development time only: the generated modules are checked in, so installing
kubespan runs no protoc. Inputs, all from a Tempo checkout:
- `pkg/tempopb/tempo.proto`, with its gogoproto import and options removed (they change Go code, not
  the wire format);
- Tempo's OTLP copies (`common/v1`, `resource/v1`, `trace/v1`, package `tempopb.*`, so they never clash
  with `opentelemetry.proto.*`), taken from the gzipped FileDescriptorProtos in their `.pb.go` files
  (Tempo does not keep those `.proto` files in its tree).
Everything is placed under `kubespan/api/tempopb/` so the generated imports are absolute; the protobuf
and grpcio runtime version checks of the generated code are removed (kubespan supports protobuf ≥ 4.25
and grpcio ≥ 1.60, older than this protoc).
"""

from __future__ import annotations

import argparse
import gzip
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "kubespan/api/tempopb/"
OTLP_COPIES = ("common/v1/common", "resource/v1/resource", "trace/v1/trace")
_GO_BYTES = re.compile(r"var fileDescriptor_[0-9a-f]+ = \[\]byte\{(.*?)\n\}", re.S)


def otlp_descriptor(tempo_src: Path, name: str) -> descriptor_pb2.FileDescriptorProto:
    """The FileDescriptorProto compiled into Tempo's `pkg/tempopb/<name>.pb.go`, moved under PREFIX."""
    text = (tempo_src / "pkg/tempopb" / f"{name}.pb.go").read_text()
    match = _GO_BYTES.search(text)
    if match is None:
        raise SystemExit(f"no file descriptor in {name}.pb.go")
    raw = bytes(int(token, 16) for token in re.findall(r"0x[0-9a-f]{2}", match.group(1)))
    proto = descriptor_pb2.FileDescriptorProto.FromString(gzip.decompress(raw))
    proto.name = PREFIX + proto.name
    proto.dependency[:] = [dep if dep.startswith("google/") else PREFIX + dep
                           for dep in proto.dependency if "gogo" not in dep]
    proto.options.ClearField("go_package")
    return proto


def _without_gogo_options(match: re.Match[str]) -> str:
    kept = [part.strip() for part in match.group(1).split(",") if "gogoproto" not in part and part.strip()]
    return f" [{', '.join(kept)}]" if kept else ""


def tempo_proto(tempo_src: Path) -> str:
    """tempo.proto without gogoproto, importing the OTLP copies under PREFIX."""
    text = (tempo_src / "pkg/tempopb/tempo.proto").read_text()
    text = re.sub(r'import "github.com/gogo/protobuf/gogoproto/gogo.proto";\n', "", text)
    text = re.sub(r"option \(gogoproto\.[^;]*;\n", "", text)
    text = re.sub(r"\s*\[([^\]]*gogoproto[^\]]*)\]", _without_gogo_options, text)
    text = re.sub(r'import "((?:common|resource|trace)/v1/\w+\.proto)";', rf'import "{PREFIX}\1";', text)
    text = re.sub(r'option go_package = [^;]*;\n', "", text)
    if "gogo" in text:
        raise SystemExit("tempo.proto still mentions gogoproto after the edit: update this script")
    return text


def _strip_version_checks(path: Path) -> None:
    text = path.read_text()
    text = re.sub(r"from google\.protobuf import runtime_version as _runtime_version\n", "", text)
    text = re.sub(r"_runtime_version\.ValidateProtobufRuntimeVersion\([^)]*\)\n", "", text)
    text = re.sub(r"\nGRPC_GENERATED_VERSION = .*?\n\n\n", "\n\n", text, flags=re.S)
    text = re.sub(r"\ntry:\n    from grpc\._utilities import first_version_is_lower.*?\n    \)\n", "\n", text,
                  flags=re.S)
    text = re.sub(r",\n\s*_registered_method=True\)", ")", text)  # grpcio >= 1.62 only
    text = re.sub(r"\n\s*server\.add_registered_method_handlers\([^)]*\)", "", text)
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tempo-src", type=Path, default=Path("/work/tempo-src"))
    args = parser.parse_args()
    from grpc_tools import protoc

    out = ROOT
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch)
        descriptor_set = descriptor_pb2.FileDescriptorSet()
        for name in OTLP_COPIES:
            descriptor_set.file.append(otlp_descriptor(args.tempo_src, name))
        (tree / "otlp.pb").write_bytes(descriptor_set.SerializeToString())
        source = tree / PREFIX / "tempo.proto"
        source.parent.mkdir(parents=True)
        source.write_text(tempo_proto(args.tempo_src))
        include = str(Path(protoc.__file__).parent / "_proto")
        files = [PREFIX + name + ".proto" for name in OTLP_COPIES]
        command = ["protoc", f"--descriptor_set_in={tree / 'otlp.pb'}", f"--python_out={out}",
                   f"--pyi_out={out}", *files]
        if protoc.main(command) != 0:
            raise SystemExit("protoc failed on the OTLP copies")
        command = ["protoc", f"-I{tree}", f"-I{include}", f"--descriptor_set_in={tree / 'otlp.pb'}",
                   f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", PREFIX + "tempo.proto"]
        if protoc.main(command) != 0:
            raise SystemExit("protoc failed on tempo.proto")
    package = out / PREFIX
    for path in package.rglob("*_pb2*.py"):
        _strip_version_checks(path)
    for directory in [package, *(p for p in package.rglob("*") if p.is_dir())]:
        (directory / "__init__.py").touch()
    (package / "__init__.py").write_text('"""Tempo\'s `tempopb` protobuf and gRPC modules, generated by '
                                         'scripts/gen_tempopb.py from Tempo\'s tempo.proto."""\n')
    print(f"wrote {sorted(p.relative_to(out).as_posix() for p in package.rglob('*.py*'))}", file=sys.stderr)
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(out)!r}); "
                    "import kubespan.api.tempopb.tempo_pb2_grpc"], check=True)


if __name__ == "__main__":
    main()
