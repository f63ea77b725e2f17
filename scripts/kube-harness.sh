#!/usr/bin/env bash
# A real Kubernetes API server for the tests, envtest-style: etcd + kube-apiserver (and, on
# request, kube-controller-manager) on loopback, with a throw-away CA, token users and RBAC.
#
#   scripts/kube-harness.sh build         build the binaries into the cache (once; minutes)
#   scripts/kube-harness.sh etcd          make sure an etcd binary is there (Debian etcd-server)
#   scripts/kube-harness.sh ensure        build + etcd
#   scripts/kube-harness.sh start DIR [--controller-manager] [--nodes]
#                                         start etcd + kube-apiserver (+ kube-controller-manager;
#                                         --nodes: + kube-scheduler, containerd and a kubelet, so
#                                         Pods really run), wait for /readyz (and the node), write
#                                         DIR/kubeconfig and DIR/env
#   scripts/kube-harness.sh start DIR --nodes --netpol
#                                         + NetworkPolicies enforced on the node (kube-router,
#                                         firewall only; built once from its Go module)
#   scripts/kube-harness.sh netpol DIR start|stop
#                                         turn that enforcement on or off on DIR's running node
#   scripts/kube-harness.sh stop DIR      stop them and remove what start wrote into DIR
#   scripts/kube-harness.sh import DIR IMAGE...
#                                         import images from Podman into DIR's running node (those
#                                         already imported at the same image id are skipped)
#   scripts/kube-harness.sh paths         print where the binaries are (or would be)
#   scripts/kube-harness.sh kubectl       print the path of the harness's kubectl, building it first if needed
#   scripts/kube-harness.sh go            print the path of a Go toolchain new enough to build (fetching it if needed)
#
# The binaries are built from the k8s.io/kubernetes Go module (through the Go module proxy) with
# replace directives pinning every k8s.io/* staging module to the published v0.X.Y of the same
# release. They go into a cache outside the checkout that survives between runs:
#   ${CLAWPOD_KUBE_CACHE:-$HOME/.cache/clawpod-kube}/bin/<version>/
# Nothing is vendored into the repo. See docs/kubernetes-harness.md.
#
# Environment:
#   CLAWPOD_KUBE_CACHE       cache folder (default $HOME/.cache/clawpod-kube)
#   CLAWPOD_KUBE_VERSION     Kubernetes release to build (default v1.37.2)
#   CLAWPOD_GO_TOOLCHAIN     Go release used when the Go on PATH is older than 1.26 (default go1.26.8),
#                            fetched as the golang.org/toolchain module into $CACHE/go/
#   CLAWPOD_KUBE_COMPONENTS  what `build` builds (default "kube-apiserver kube-controller-manager kubectl";
#                            CLAWPOD_KUBE_NODES=1 adds kube-scheduler kubelet); `start` builds all
#                            four in one go when one it needs is missing, unless this is set
#   CLAWPOD_KUBE_KEEP_GOCACHE=1  keep the Go build cache after a build (default: removed, ~GBs)
#   CLAWPOD_KUBE_CONTROLLER_MANAGER=1  `start` also runs kube-controller-manager (Jobs get Pods)
#   CLAWPOD_KUBE_NODES=1     `start` also runs a node (as --nodes; root, containerd, Podman's images)
#   CLAWPOD_KUBE_NETPOL=1    `start` also enforces NetworkPolicies on the node (as --netpol)
#   CLAWPOD_KUBE_NETPOL_VERSION  kube-router release built for that (default v2.1.0)
#   CLAWPOD_KUBE_NODE_IMAGES images imported from Podman into the node (default localhost/clawpod-agent:latest)
#   CLAWPOD_KUBE_READY_TIMEOUT  seconds `start` waits for /readyz (default 120)
#   CLAWPOD_KUBE_NO_APT=1    never apt-get install etcd-server; fail instead
#   CLAWPOD_KUBE_ETCD        etcd binary to use (default: $BIN/etcd if present, else etcd on PATH)
#   CLAWPOD_KUBE_KEEP_LOGS=1 `stop` keeps DIR/*.log
set -euo pipefail

VERSION=${CLAWPOD_KUBE_VERSION:-v1.37.2}
CACHE=${CLAWPOD_KUBE_CACHE:-$HOME/.cache/clawpod-kube}
BIN=$CACHE/bin/$VERSION
SRC=$CACHE/src/$VERSION
NODE_COMPONENTS="kube-scheduler kubelet"
# kubectl comes from the same module and build as the servers: the tests use it, not whatever is on PATH
if [[ "${CLAWPOD_KUBE_NODES:-0}" == 1 ]]; then DEFAULT_COMPONENTS="kube-apiserver kube-controller-manager kubectl $NODE_COMPONENTS"; else DEFAULT_COMPONENTS="kube-apiserver kube-controller-manager kubectl"; fi
COMPONENTS=${CLAWPOD_KUBE_COMPONENTS:-$DEFAULT_COMPONENTS}
ALL_COMPONENTS="kube-apiserver kube-controller-manager kubectl $NODE_COMPONENTS"
# The generated go.mod says `go 1.26.0`; an older Go on PATH only fetches this one (see ensure_go).
GO_MIN_MINOR=26
GO_TOOLCHAIN=${CLAWPOD_GO_TOOLCHAIN:-go1.26.8}
GO=go
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HARNESS=kube-harness
# shellcheck source=harness-lib.sh
source "$HERE/harness-lib.sh"
# shellcheck source=kube-harness-node.sh
source "$HERE/kube-harness-node.sh"
# shellcheck source=kube-harness-netpol.sh
source "$HERE/kube-harness-netpol.sh"


# ---------------------------------------------------------------------------------------------
# Go toolchain


# ensure_go: sets GO to a Go new enough for the build. The Go on PATH when it is; otherwise the Go
# release published as the module golang.org/toolchain, which any Go >= 1.17 (Debian 12's
# golang-go is 1.19, installed when there is none) downloads through the module proxy. Module zips
# keep no file modes, so the executables are made executable again after the copy.
ensure_go() {
  if command -v go >/dev/null && (($(go_minor go) >= GO_MIN_MINOR)); then GO=$(command -v go); return 0; fi
  local dest=$CACHE/go/$GO_TOOLCHAIN
  if [[ -x $dest/bin/go ]]; then GO=$dest/bin/go; return 0; fi
  command -v go >/dev/null || apt_install "no Go toolchain on PATH (needed once to fetch $GO_TOOLCHAIN)" golang-go
  local goos goarch
  goos=$(go env GOOS) goarch=$(go env GOARCH)
  local mod="golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.$goos-$goarch"
  say "$(go version | awk '{print $3}') on PATH is older than go1.$GO_MIN_MINOR; fetching $mod through the module proxy"
  mkdir -p "$CACHE/go"
  local tmp=$CACHE/go/.modcache-$$ dir
  dir=$(cd "$CACHE/go" && GOMODCACHE=$tmp GO111MODULE=on GOFLAGS=-mod=mod go mod download -json "$mod" 2>"$CACHE/go/download.err" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p') || true
  if [[ -z "$dir" || ! -f "$dir/bin/go" ]]; then
    chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"
    unavailable "the Go module proxy did not serve $mod: $(tail -3 "$CACHE/go/download.err" | tr '\n' ' ')"
  fi
  rm -rf "$dest.new"
  cp -r "$dir" "$dest.new"
  chmod -R u+w "$dest.new"
  chmod +x "$dest.new"/bin/* "$dest.new"/pkg/tool/*/*
  mv "$dest.new" "$dest"
  chmod -R u+w "$tmp"; rm -rf "$tmp"
  GO=$dest/bin/go
  say "using $("$GO" version | awk '{print $3}') from $dest"
}

# ---------------------------------------------------------------------------------------------
# build

write_gomod() {
  # The release's own go.mod lists its staging modules as `replace k8s.io/X => ./staging/...`;
  # those replaces do not apply when k8s.io/kubernetes is a dependency, so we pin each one to
  # the published k8s.io/X v0.MINOR.PATCH of the same release.
  local kmod staging
  kmod=$("$GO" mod download -json "k8s.io/kubernetes@$VERSION" 2>"$SRC/download.err" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p') || true
  if [[ -z "$kmod" || ! -f "$kmod" ]]; then
    unavailable "the Go module proxy did not serve k8s.io/kubernetes@$VERSION: $(tail -3 "$SRC/download.err" | tr '\n' ' ')"
  fi
  staging=$(sed -n '/^replace (/,/^)/p' "$kmod" | awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}')
  [[ -n "$staging" ]] || die "no staging replace directives found in $kmod"
  local pub=v0.${VERSION#v1.}
  {
    echo "// Generated by scripts/kube-harness.sh; builds the Kubernetes $VERSION control plane."
    echo "module clawpod.local/kube-harness"
    echo
    echo "go 1.26.0"
    echo
    echo "require k8s.io/kubernetes $VERSION"
    echo
    # every component, so go.sum covers whichever is built later
    echo "tool ("
    for c in $ALL_COMPONENTS; do echo "	k8s.io/kubernetes/cmd/$c"; done
    echo ")"
    echo
    echo "replace ("
    for m in $staging; do echo "	$m => $m $pub"; done
    echo ")"
  } > "$SRC/go.mod"
}

cmd_build() {
  local missing=()
  for c in $COMPONENTS; do [[ -x "$BIN/$c" ]] || missing+=("$c"); done
  if ((${#missing[@]} == 0)); then
    say "binaries cached in $BIN ($COMPONENTS); nothing to build"
    return 0
  fi
  mkdir -p "$SRC" "$BIN"
  # One build at a time per cache (parallel test runs, a setup script): the others wait here.
  exec 9>"$CACHE/.build.lock"
  if ! flock -n 9; then
    say "another build holds $CACHE/.build.lock; waiting for it"
    flock 9
  fi
  missing=()
  for c in $COMPONENTS; do [[ -x "$BIN/$c" ]] || missing+=("$c"); done
  if ((${#missing[@]} == 0)); then
    say "binaries built meanwhile by another run"
    exec 9>&-
    return 0
  fi
  ensure_go
  export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
  export GOCACHE=$CACHE/go-build
  local t0=$SECONDS
  say "Kubernetes $VERSION: resolving modules in $SRC"
  # a go.mod of an older harness lacks the node components: write it again, and tidy again
  local stale=0 c
  for c in "${missing[@]}"; do grep -q "cmd/$c\$" "$SRC/go.mod" 2>/dev/null || stale=1; done
  if [[ ! -f "$SRC/go.mod" || $stale == 1 ]]; then write_gomod; rm -f "$SRC/go.sum"; fi
  if [[ ! -f "$SRC/go.sum" ]] || ! grep -q "^k8s.io/kubernetes $VERSION " "$SRC/go.sum"; then
    (cd "$SRC" && "$GO" mod tidy) >"$SRC/tidy.log" 2>&1 ||
      unavailable "go mod tidy failed (module proxy?): $(tail -5 "$SRC/tidy.log" | tr '\n' ' ')"
  fi
  say "modules resolved in $((SECONDS - t0))s; building ${missing[*]} (one-time; minutes on 2 cores)"
  local pkg='k8s.io/component-base/version'
  local minor=${VERSION#v1.}; minor=${minor%%.*}
  local ld="-s -w -X $pkg.gitVersion=$VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  # One `go build` for all of them: packages shared between the binaries compile once, and both
  # cores stay busy across binaries instead of idling at each one's link step.
  local log=$SRC/build.log out=$BIN/.build-$$ pkgs=() tc=$SECONDS
  for c in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  mkdir -p "$out"
  say "go build ${missing[*]} -> $BIN (log: $log)"
  # In the background with a heartbeat, so a caller with an output time-out sees progress.
  (cd "$SRC" && "$GO" build -v -trimpath -ldflags "$ld" -o "$out/" "${pkgs[@]}") >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30
    kill -0 "$pid" 2>/dev/null && say "  ... $((SECONDS - tc))s, $(wc -l <"$log") packages compiled"
  done
  if ! wait "$pid"; then
    rm -rf "$out"
    die "go build ${missing[*]} failed; see $log: $(grep -v '^[a-z0-9./_-]*$' "$log" | tail -5 | tr '\n' ' ')"
  fi
  for c in "${missing[@]}"; do mv "$out/$c" "$BIN/$c"; done
  rmdir "$out"
  say "built ${missing[*]} in $((SECONDS - tc))s ($(cd "$BIN" && du -ch "${missing[@]}" | tail -1 | cut -f1))"
  if [[ "${CLAWPOD_KUBE_KEEP_GOCACHE:-0}" != 1 ]]; then
    say "removing the Go build cache $GOCACHE ($(du -sh "$GOCACHE" 2>/dev/null | cut -f1)); CLAWPOD_KUBE_KEEP_GOCACHE=1 keeps it"
    "$GO" clean -cache 2>/dev/null || true
    rm -rf "$GOCACHE"
  fi
  exec 9>&-
  say "build done in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------------------------------------
# etcd

etcd_bin() {
  if [[ -n "${CLAWPOD_KUBE_ETCD:-}" ]]; then echo "$CLAWPOD_KUBE_ETCD"; return; fi
  if [[ -x "$BIN/etcd" ]]; then echo "$BIN/etcd"; return; fi
  command -v etcd 2>/dev/null || true
}

# apt_install WHY PACKAGE...: Debian packages the harness needs, or "unavailable" saying why not.
apt_install() {
  local why=$1
  shift
  [[ "${CLAWPOD_KUBE_NO_APT:-0}" == 1 ]] && unavailable "$why and CLAWPOD_KUBE_NO_APT=1"
  command -v apt-get >/dev/null || unavailable "$why and there is no apt-get to install $*"
  [[ $(id -u) == 0 ]] || unavailable "$why; install it: sudo apt-get install $*"
  say "installing $* from Debian"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") >/dev/null 2>&1 ||
    unavailable "apt-get install $* failed"
}

cmd_etcd() {
  [[ -n "$(etcd_bin)" ]] && return 0
  apt_install "no etcd on PATH" etcd-server
  # Debian's package may start a system etcd on 2379; we run our own on free ports, so stop it.
  if command -v systemctl >/dev/null && systemctl is-active -q etcd 2>/dev/null; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
  [[ -n "$(etcd_bin)" ]] || unavailable "etcd-server installed but no etcd binary found"
}

# ---------------------------------------------------------------------------------------------
# start / stop

free_port() {
  # A random high port that nothing listens on now (checked again by the caller's wait).
  local used p i
  used=$(ss -Htan 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    grep -qx "$p" <<<"$used" || { echo "$p"; return; }
  done
  die "no free port found"
}

gen_pki() {
  local pki=$1
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=clawpod-test-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
      -keyout apiserver.key -out apiserver.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' > apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f apiserver.csr apiserver.ext ca.srl
  )
}

token() { openssl rand -hex 24; }

write_kubeconfig() { # file server ca user token
  local ca
  ca=$(base64 -w0 <"$3")
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: clawpod-test
  cluster:
    server: $2
    certificate-authority-data: $ca
users:
- name: $4
  user:
    token: $5
contexts:
- name: clawpod-test
  context:
    cluster: clawpod-test
    user: $4
    namespace: default
current-context: clawpod-test
EOF
  chmod 600 "$1"
}

wait_ready() { # url token pid log timeout
  local deadline=$((SECONDS + $5))
  while ((SECONDS < deadline)); do
    kill -0 "$3" 2>/dev/null || { tail -30 "$4" >&2; die "process $3 exited; see $4"; }
    if [[ "$(curl -sk --max-time 2 -H "Authorization: Bearer $2" "$1" 2>/dev/null)" == ok ]]; then return 0; fi
    sleep 0.2
  done
  tail -30 "$4" >&2
  die "$1 not ready after $5s; see $4"
}

cmd_start() {
  local dir=${1:?usage: kube-harness.sh start DIR}
  local with_kcm=${CLAWPOD_KUBE_CONTROLLER_MANAGER:-0} with_nodes=${CLAWPOD_KUBE_NODES:-0} with_netpol=${CLAWPOD_KUBE_NETPOL:-0} a
  shift
  for a in "$@"; do
    case $a in
      --controller-manager) with_kcm=1 ;;
      --nodes) with_nodes=1 ;;
      --netpol) with_netpol=1 ;;
      *) die "start: unknown option $a" ;;
    esac
  done
  # policies are enforced on a node
  [[ $with_netpol == 1 ]] && with_nodes=1
  # Pods of Jobs and StatefulSets need their controllers
  [[ $with_nodes == 1 ]] && with_kcm=1
  [[ -f "$dir/apiserver.pid" ]] && die "$dir already has a running harness; stop it first"
  # What to build when something is missing: all of them (one `go build` shares the compile work,
  # and the next start with --nodes finds them cached) unless CLAWPOD_KUBE_COMPONENTS says otherwise.
  local needed=kube-apiserver c
  [[ $with_kcm == 1 ]] && needed="$needed kube-controller-manager"
  [[ $with_nodes == 1 ]] && needed="$needed $NODE_COMPONENTS"
  COMPONENTS=$needed
  for c in $needed; do [[ -x "$BIN/$c" ]] || COMPONENTS=${CLAWPOD_KUBE_COMPONENTS:-$ALL_COMPONENTS}; done
  if [[ $with_nodes == 1 ]]; then node_packages; fi
  cmd_build
  if [[ $with_netpol == 1 ]]; then netpol_packages; netpol_build; fi
  cmd_etcd
  command -v openssl >/dev/null || unavailable "openssl is needed for the test CA"
  command -v curl >/dev/null || unavailable "curl is needed to wait for /readyz"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local t0=$SECONDS
  # On any failure from here on, stop what was started (logs stay in DIR).
  trap 'rc=$?; if ((rc != 0)); then CLAWPOD_KUBE_KEEP_LOGS=1 cmd_stop_procs "'"$dir"'"; fi' EXIT
  gen_pki "$dir/pki"

  local admin_token limited_token kcm_token
  admin_token=$(token); limited_token=$(token); kcm_token=$(token)
  # token,user,uid,"groups": the admin is in system:masters; `clawpod-limited` has no
  # permissions beyond what RBAC grants it (for forbidden-namespace tests).
  {
    echo "$admin_token,clawpod-admin,clawpod-admin,\"system:masters\""
    echo "$limited_token,clawpod-limited,clawpod-limited"
    echo "$kcm_token,system:kube-controller-manager,kcm,\"system:masters\""
  } >"$dir/pki/tokens.csv"
  chmod 600 "$dir/pki/tokens.csv"

  local etcd_port etcd_peer api_port
  etcd_port=$(free_port); etcd_peer=$(free_port); api_port=$(free_port)
  while [[ $etcd_peer == "$etcd_port" ]]; do etcd_peer=$(free_port); done
  while [[ $api_port == "$etcd_port" || $api_port == "$etcd_peer" ]]; do api_port=$(free_port); done
  local etcd
  etcd=$(etcd_bin)
  mkdir -p "$dir/etcd-data"
  nohup "$etcd" --name clawpod-test --data-dir "$dir/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "clawpod-test=http://127.0.0.1:$etcd_peer" --initial-cluster-state new \
    --snapshot-count 10000 --quota-backend-bytes $((1024 * 1024 * 1024)) \
    >"$dir/etcd.log" 2>&1 </dev/null &
  echo $! >"$dir/etcd.pid"
  local deadline=$((SECONDS + 30))
  until [[ "$(curl -s --max-time 1 "http://127.0.0.1:$etcd_port/health" 2>/dev/null)" == *'"health":"true"'* ]]; do
    kill -0 "$(cat "$dir/etcd.pid")" 2>/dev/null || { tail -20 "$dir/etcd.log" >&2; die "etcd exited; see $dir/etcd.log"; }
    ((SECONDS < deadline)) || die "etcd not healthy after 30s; see $dir/etcd.log"
    sleep 0.1
  done

  local server="https://127.0.0.1:$api_port"
  nohup "$BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \
    --client-ca-file "$dir/pki/ca.crt" \
    --token-auth-file "$dir/pki/tokens.csv" \
    --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$dir/pki/sa.pub" --service-account-signing-key-file "$dir/pki/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 \
    --endpoint-reconciler-type none \
    --allow-privileged=true \
    --cert-dir "$dir/pki" \
    >"$dir/apiserver.log" 2>&1 </dev/null &
  echo $! >"$dir/apiserver.pid"
  wait_ready "$server/readyz" "$admin_token" "$(cat "$dir/apiserver.pid")" "$dir/apiserver.log" "${CLAWPOD_KUBE_READY_TIMEOUT:-120}"

  write_kubeconfig "$dir/kubeconfig" "$server" "$dir/pki/ca.crt" clawpod-admin "$admin_token"
  write_kubeconfig "$dir/kubeconfig-limited" "$server" "$dir/pki/ca.crt" clawpod-limited "$limited_token"

  if [[ $with_kcm == 1 ]]; then
    write_kubeconfig "$dir/kubeconfig-kcm" "$server" "$dir/pki/ca.crt" kcm "$kcm_token"
    nohup "$BIN/kube-controller-manager" \
      --kubeconfig "$dir/kubeconfig-kcm" \
      --authentication-kubeconfig "$dir/kubeconfig-kcm" --authorization-kubeconfig "$dir/kubeconfig-kcm" \
      --bind-address 127.0.0.1 --secure-port "$(free_port)" --cert-dir "$dir/pki" \
      --leader-elect=false \
      --service-account-private-key-file "$dir/pki/sa.key" --root-ca-file "$dir/pki/ca.crt" \
      --cluster-signing-cert-file "$dir/pki/ca.crt" --cluster-signing-key-file "$dir/pki/ca.key" \
      --use-service-account-credentials=false --authentication-skip-lookup \
      >"$dir/controller-manager.log" 2>&1 </dev/null &
    echo $! >"$dir/controller-manager.pid"
  fi

  if [[ $with_nodes == 1 ]]; then node_start "$dir" "$server"; fi

  cat >"$dir/env" <<EOF
KUBECONFIG=$dir/kubeconfig
CLAWPOD_KUBE_SERVER=$server
CLAWPOD_KUBE_TOKEN=$admin_token
CLAWPOD_KUBE_CA=$dir/pki/ca.crt
CLAWPOD_KUBE_LIMITED_KUBECONFIG=$dir/kubeconfig-limited
CLAWPOD_KUBE_LIMITED_TOKEN=$limited_token
CLAWPOD_KUBE_VERSION=$VERSION
CLAWPOD_KUBE_CONTROLLER_MANAGER=$with_kcm
EOF
  if [[ -f "$dir/env.node" ]]; then cat "$dir/env.node" >>"$dir/env"; fi
  chmod 600 "$dir/env"
  if [[ $with_netpol == 1 ]]; then netpol_start "$dir"; fi
  trap - EXIT
  say "kube-apiserver $VERSION ready at $server in $((SECONDS - t0))s (kubeconfig: $dir/kubeconfig)"
}

cmd_stop_procs() {
  # Throw-away servers: SIGTERM all at once, SIGKILL whatever still runs after 2 s
  # (kube-apiserver's graceful shutdown would otherwise take several seconds).
  local dir=$1 f pids=()
  # the node first: its Pods are deleted through the API server, which must still run
  netpol_stop "$dir"
  node_stop "$dir"
  for f in "$dir/controller-manager.pid" "$dir/apiserver.pid" "$dir/etcd.pid"; do
    [[ -f "$f" ]] || continue
    pids+=("$(cat "$f")")
    rm -f "$f"
  done
  ((${#pids[@]})) || return 0
  kill "${pids[@]}" 2>/dev/null || true
  wait_gone 20 "${pids[@]}" && return 0
  kill -9 "${pids[@]}" 2>/dev/null || true
  wait_gone 10 "${pids[@]}" || true
}

# wait_gone TENTHS PID...: true once none of the PIDs runs, false after TENTHS × 0.1 s.
wait_gone() {
  local tenths=$1 p alive
  shift
  for _ in $(seq 1 "$tenths"); do
    alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  return 1
}

cmd_stop() {
  local dir=${1:?usage: kube-harness.sh stop DIR}
  [[ -d "$dir" ]] || return 0
  cmd_stop_procs "$dir"
  if [[ "${CLAWPOD_KUBE_KEEP_LOGS:-0}" == 1 ]]; then
    rm -rf "$dir/etcd-data" "$dir/pki"
  else
    rm -rf "$dir/etcd-data" "$dir/pki" "$dir"/*.log
  fi
  rm -f "$dir/kubeconfig" "$dir/kubeconfig-limited" "$dir/kubeconfig-kcm" "$dir/env"
  rmdir "$dir" 2>/dev/null || true
}

cmd_paths() {
  echo "cache=$CACHE"
  echo "version=$VERSION"
  for c in $ALL_COMPONENTS; do
    echo "$c=$BIN/$c$([[ -x $BIN/$c ]] || echo ' (not built)')"
  done
  echo "etcd=$(etcd_bin)"
  echo "kube-router=$NETPOL_BIN$([[ -x $NETPOL_BIN ]] || echo ' (not built)')"
}

# The harness's kubectl (same release as the API server): its path, built with the rest when missing.
cmd_kubectl() {
  if [[ ! -x "$BIN/kubectl" ]]; then
    # one go build for everything still missing, so a later start finds the servers cached too
    COMPONENTS=${CLAWPOD_KUBE_COMPONENTS:-$ALL_COMPONENTS}
    cmd_build
  fi
  [[ -x "$BIN/kubectl" ]] || die "kubectl was not built into $BIN"
  echo "$BIN/kubectl"
}

case "${1:-}" in
  build) cmd_build ;;
  etcd) cmd_etcd ;;
  ensure) cmd_build; cmd_etcd ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  import) shift; node_import "$@" ;;
  paths) cmd_paths ;;
  kubectl) cmd_kubectl ;;
  go) ensure_go; echo "$GO" ;;
  netpol)
    case "${3:-}" in
      start) netpol_start "${2:?usage: kube-harness.sh netpol DIR start|stop}" ;;
      stop) netpol_stop "${2:?usage: kube-harness.sh netpol DIR start|stop}" ;;
      build) netpol_build ;;
      *) die "usage: kube-harness.sh netpol DIR start|stop (or: netpol - build)" ;;
    esac ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
