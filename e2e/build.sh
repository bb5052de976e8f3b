#!/usr/bin/env bash
# Builds every binary the e2e runs from the pinned wrapper modules under e2e/tools/, cached outside
# the clone. Each binary is rebuilt only when its wrapper (go.mod, go.sum, sources), the build
# flags or the Go version change. Prints one "name=/abs/path" line per binary on stdout; logs and
# timings go to stderr and $CACHE/logs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools="$here/tools"
cache="${GITOPS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitops-platform-e2e}"

die() { echo "e2e build: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 ||
  die "Go not found on PATH. Install Go 1.26 (https://go.dev/dl/, or the golang-1.26 package) and retry."
command -v git >/dev/null 2>&1 ||
  die "git not found on PATH (the Git server shells out to git-upload-pack). Install it: apt-get install -y git"
gover=$(go env GOVERSION)
case "$gover" in
  go1.2[6-9]* | go1.[3-9][0-9]*) ;;
  *) die "Go $gover is too old: the wrappers need Go 1.26 or later (go.mod 'go' lines)." ;;
esac

mkdir -p "$cache/bin" "$cache/logs" "$cache/src"
# One build at a time per cache: two e2e runs (two checkouts, CI beside a developer) would write the
# same binaries. The second waits for the first, at most an hour.
command -v flock >/dev/null 2>&1 || die "flock not found on PATH (util-linux). Install it: apt-get install -y util-linux"
exec 9>"$cache/.build.lock"
flock -w 3600 9 || die "another e2e build held $cache/.build.lock for an hour"
export GOMODCACHE="$cache/gomod" GOCACHE="$cache/gobuild" GOTOOLCHAIN=local
# go.sum in each wrapper pins every module; never rewrite it while building.
export GOFLAGS="-mod=readonly -trimpath -buildvcs=false" CGO_ENABLED=0

k8s_ldflags="-X k8s.io/component-base/version.gitVersion=v1.34.4 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34"

# key NAME FLAGS...: hash of the wrapper's files, the flags and the Go version.
key() {
  local dir="$tools/$1"; shift
  { (cd "$dir" && find . -type f | LC_ALL=C sort | xargs sha256sum); echo "$gover $*"; } |
    sha256sum | cut -c1-16
}

# build NAME WRAPPER PKG [LDFLAGS] [ENV...]: go build PKG inside the wrapper module.
build() {
  local name=$1 wrapper=$2 pkg=$3 ldflags=${4:-}
  shift 4 || shift $#
  local k out log start
  k=$(key "$wrapper" "$pkg" "$ldflags" "$*")
  out="$cache/bin/$name-$k/$name"
  log="$cache/logs/build-$name.log"
  if [[ ! -x $out ]]; then
    echo "e2e build: $name (cold build; log: $log)" >&2
    start=$(date +%s)
    mkdir -p "$(dirname "$out")"
    if ! (cd "$tools/$wrapper" && env "$@" go build -ldflags "$ldflags" -o "$out.tmp" "$pkg") >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      die "building $name failed (full log: $log)"
    fi
    mv "$out.tmp" "$out"
    echo "e2e build: $name built in $(($(date +%s) - start))s" | tee -a "$cache/logs/timings.log" >&2
  fi
  echo "$name=$out"
}

build etcd etcd go.etcd.io/etcd/server/v3 ""
build kube-apiserver kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
build kubectl kube-apiserver k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags"
build source-controller source-controller github.com/fluxcd/source-controller ""
build kustomize-controller kustomize-controller github.com/fluxcd/kustomize-controller ""
build gitserver gitserver . ""
# sops (v3.11.0) and age-keygen: SOPS-encrypted app Secrets, an age key standing in for KMS.
build sops sops github.com/getsops/sops/v3/cmd/sops ""
build age-keygen sops filippo.io/age/cmd/age-keygen ""

# Flux Operator v0.58.1: its module zip lacks web/dist (gitignored, //go:embed dist/* in web/) and
# the operator refuses to run without FIPS 140 mode (cmd/operator/main.go; upstream Makefile builds
# with GOFIPS140=latest). It also requires go-containerregistry/pkg/authn/kubernetes at a
# pseudo-version the Go module proxy refuses (403); tools/flux-operator/go.mod pins the served one
# used instead. Built from a writable copy with a stub page and that replace.
op_dir=$(cd "$tools/flux-operator" && go mod download -json github.com/controlplaneio-fluxcd/flux-operator |
  sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -d $op_dir ]] || die "flux-operator module not downloaded"
op_key=$(key flux-operator op)
op_src="$cache/src/flux-operator-v0.58.1"
if [[ ! -f $op_src/.prepared-$op_key ]]; then
  authn=github.com/google/go-containerregistry/pkg/authn/kubernetes
  authn_ver=$(sed -n "s|^[[:space:]]*$authn \(v[^ ]*\)$|\1|p" "$tools/flux-operator/go.mod")
  [[ -n $authn_ver ]] || die "tools/flux-operator/go.mod: no version for $authn"
  rm -rf "$op_src"
  cp -r "$op_dir" "$op_src"
  chmod -R u+w "$op_src"
  mkdir -p "$op_src/web/dist"
  echo '<!doctype html><title>flux-operator</title>' >"$op_src/web/dist/index.html"
  (cd "$op_src" && go mod edit -replace "$authn=$authn@$authn_ver")
  grep "^$authn $authn_ver" "$tools/flux-operator/go.sum" >>"$op_src/go.sum"
  touch "$op_src/.prepared-$op_key"
fi
op_out="$cache/bin/flux-operator-$op_key/flux-operator"
if [[ ! -x $op_out ]]; then
  echo "e2e build: flux-operator (cold build; log: $cache/logs/build-flux-operator.log)" >&2
  start=$(date +%s)
  mkdir -p "$(dirname "$op_out")"
  if ! (cd "$op_src" && GOFIPS140=latest go build -o "$op_out.tmp" ./cmd/operator) >"$cache/logs/build-flux-operator.log" 2>&1; then
    tail -n 30 "$cache/logs/build-flux-operator.log" >&2
    die "building flux-operator failed (full log: $cache/logs/build-flux-operator.log)"
  fi
  mv "$op_out.tmp" "$op_out"
  echo "e2e build: flux-operator built in $(($(date +%s) - start))s" | tee -a "$cache/logs/timings.log" >&2
fi
echo "flux-operator=$op_out"
echo "flux-operator-data=$op_dir/config/data"
echo "flux-operator-crds=$op_dir/config/crd/bases"

# Pulumi CLI v3.274.1 for the Pulumi CLI check (e2e/pulumi-cli.ts; tools/pulumi/go.mod says why
# not the workflows' 3.270.0, and why no Node.js language host). Flags as upstream's release build
# (pulumi/pulumi .goreleaser.yml at tag v3.259.0, build "pulumi": -trimpath, -w -s, the version
# stamped into sdk/v3/go/common/version, tags osusergo and grpcnotrace).
pulumi_version=v3.274.1
build pulumi pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
  "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version" \
  GOFLAGS="$GOFLAGS -tags=osusergo,grpcnotrace"
