#!/usr/bin/env bash
# Build the upstream oracles into .tools/bin (gitignored), idempotently:
#   ocm-placement   OCM's placement scheduler on a fleet file (tools/ocm-placement, our harness)
#   dryrun          config-policy-controller's dryrun CLI          (tools/dryrun, a `tool` pin)
#   dryrun-crds     the same CLI, its fake cluster able to list custom resources (tools/dryrun/dryrun-crds)
#   hubtemplates    the propagator's hub-template resolution       (tools/hubtemplates, our harness)
#   PolicyGenerator the Policy Generator kustomize plugin          (tools/policygen, a `tool` pin)
#   appset          Argo CD's ApplicationSet rendering            (tools/appset, our harness over argo-cd)
# Every version is pinned in the go.mod/go.sum of its module under tools/. A binary is rebuilt only
# when its module's files change (a stamp of their SHA-256 sits beside it).
# Without a Go toolchain it says so in one line and exits 0: the oracle tests then skip.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${FEDFLEET_TOOLS_BIN:-$root/.tools/bin}"
if [[ -n "${FEDFLEET_GO:-}" ]]; then
    go() { "$FEDFLEET_GO" "$@"; }
    [[ -x "$FEDFLEET_GO" ]] || unset -f go
else
    export PATH="$PATH:/usr/local/go/bin"
fi
if ! declare -F go >/dev/null && { [[ -n "${FEDFLEET_GO:-}" ]] || ! command -v go >/dev/null 2>&1; }; then
    echo "tools/install.sh: no Go toolchain (go on PATH, /usr/local/go/bin or FEDFLEET_GO): oracles not installed, their tests will skip"
    exit 0
fi
mkdir -p "$bin"
export GOFLAGS="-mod=readonly" # go.sum is the pin: never resolve anew
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
APPSET_TOOLCHAIN="go1.27.4"

# module dir, then the binaries it provides, then the build target
build() {
    local dir="$root/tools/$1" target="$2"; shift 2
    local stamp
    stamp="$(cd "$dir" && cat go.mod go.sum $(find . -name '*.go' | sort) | sha256sum | cut -d' ' -f1) $(go env GOVERSION)"
    local fresh=1
    for name in "$@"; do
        [[ -x "$bin/$name" && "$(cat "$bin/$name.stamp" 2>/dev/null)" == "$stamp" ]] || fresh=0
    done
    if [[ $fresh == 1 ]]; then
        echo "tools/install.sh: $* up to date"
        return
    fi
    local start=$SECONDS
    (cd "$dir" && export GOBIN="$bin" && go install "$target")
    for name in "$@"; do echo "$stamp" > "$bin/$name.stamp"; done
    echo "tools/install.sh: built $* in $((SECONDS - start)) s"
}

build ocm-placement . ocm-placement
build hubtemplates . hubtemplates
build dryrun tool dryrun
build dryrun ./dryrun-crds dryrun-crds
# dryrun's default API mappings, from the pinned module: the agreement suite adds the CRDs' to them
# (a mappings file replaces the defaults; pkg/dryrun/dryrun.go setupReconciler)
mkdir -p "$bin/../share"
cp -f "$(cd "$root/tools/dryrun" && go list -m -f '{{.Dir}}' open-cluster-management.io/config-policy-controller)/pkg/mappings/default-mappings.yaml" \
    "$bin/../share/dryrun-default-mappings.yaml"
build policygen tool PolicyGenerator
# argo-cd v3.6.1 declares go 1.27.0: Go fetches that toolchain from the module proxy (golang.org/toolchain)
# for this one build; an older release cannot be built from the proxy (v3.4/v3.5 require their in-repo
# gitops-engine at a version the proxy does not serve).
GOTOOLCHAIN="$APPSET_TOOLCHAIN" build appset . appset
