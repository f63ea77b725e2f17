# NetworkPolicy enforcement for the harness node (sourced by scripts/kube-harness.sh, not run):
# kube-router in firewall-only mode (`--run-firewall`, no router, no service proxy), built from its
# Go module through the module proxy and cached beside the Kubernetes binaries, run as a host
# process of the node like the kubelet. It turns NetworkPolicies into iptables chains and ipsets
# (iptables-nft through nft_compat on this kernel). Why not sigs.k8s.io/kube-network-policies: it
# hands packets to userspace with nftables' `queue` statement, and these kernels lack nft_queue
# (CONFIG_NFT_QUEUE unset); docs/kubernetes-harness.md, "NetworkPolicy enforcement".
#
# Needs from the caller: CACHE, HERE, say/die/unavailable (harness-lib.sh), apt_install, ensure_go,
# free_port, wait_gone.

NETPOL_VERSION=${CLAWPOD_KUBE_NETPOL_VERSION:-v2.1.0}
NETPOL_MODULE=github.com/cloudnativelabs/kube-router/v2
NETPOL_BIN=$CACHE/bin/kube-router-$NETPOL_VERSION/kube-router
# what kube-router makes (v2.1.0, pkg/controllers/netpol): the chains and ipsets stop removes
NETPOL_CHAINS='^(KUBE-ROUTER-(INPUT|FORWARD|OUTPUT)|KUBE-POD-FW-|KUBE-NWPLCY-)'
NETPOL_SETS='^(inet6:)?KUBE-(SRC|DST)-'

netpol_packages() {
  # ipset: kube-router runs the ipset binary; br_netfilter's sysctl: Pods on one bridge reach each
  # other by bridging, which iptables sees only with bridge-nf-call-iptables=1
  command -v ipset >/dev/null || apt_install "NetworkPolicy enforcement needs ipset" ipset
  local s=/proc/sys/net/bridge/bridge-nf-call-iptables
  [[ -e $s ]] || modprobe br_netfilter 2>/dev/null || true
  [[ -e $s ]] || unavailable "NetworkPolicy enforcement needs br_netfilter (no $s)"
  [[ $(cat "$s") == 1 ]] || echo 1 >"$s" || unavailable "cannot set net.bridge.bridge-nf-call-iptables=1"
}

# netpol_build: kube-router into the cache, once (go install of the tagged module; minutes on 2 cores).
netpol_build() {
  [[ -x $NETPOL_BIN ]] && return 0
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.build-netpol.lock"
  if ! flock -n 8; then say "another build of kube-router holds the lock; waiting for it"; flock 8; fi
  if [[ -x $NETPOL_BIN ]]; then exec 8>&-; return 0; fi
  ensure_go
  local log=$CACHE/src/kube-router-$NETPOL_VERSION.log tc=$SECONDS out
  out=$(dirname "$NETPOL_BIN")/.build-$$
  mkdir -p "$CACHE/src" "$out"
  say "go install $NETPOL_MODULE/cmd/kube-router@$NETPOL_VERSION (one-time; minutes on 2 cores; log: $log)"
  (GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOCACHE=$CACHE/go-build-netpol GOBIN=$out \
    "$GO" install -trimpath -ldflags "-s -w -X $NETPOL_MODULE/pkg/version.Version=$NETPOL_VERSION" \
    "$NETPOL_MODULE/cmd/kube-router@$NETPOL_VERSION") >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30
    kill -0 "$pid" 2>/dev/null && say "  ... $((SECONDS - tc))s"
  done
  if ! wait "$pid"; then
    rm -rf "$out"
    if grep -q 'not available\|403\|404\|dial tcp' "$log"; then unavailable "the Go module proxy did not serve $NETPOL_MODULE@$NETPOL_VERSION: $(tail -2 "$log" | tr '\n' ' ')"; fi
    die "building kube-router failed; see $log: $(tail -5 "$log" | tr '\n' ' ')"
  fi
  mv "$out/kube-router" "$NETPOL_BIN"
  rmdir "$out"
  say "built kube-router $NETPOL_VERSION in $((SECONDS - tc))s ($(du -h "$NETPOL_BIN" | cut -f1))"
  if [[ "${CLAWPOD_KUBE_KEEP_GOCACHE:-0}" != 1 ]]; then rm -rf "$CACHE/go-build-netpol"; fi
  exec 8>&-
}

# netpol_start DIR: kube-router on DIR's running node; returns once its chains are in iptables.
netpol_start() {
  local dir=$1
  [[ -f "$dir/node.state" ]] || die "$dir has no running node: start it with --nodes"
  if [[ -f "$dir/netpol.pid" ]] && kill -0 "$(cat "$dir/netpol.pid")" 2>/dev/null; then return 0; fi
  netpol_packages
  netpol_build
  local t0=$SECONDS
  # chains and sets that exist already (another harness on this machine) are not ours to remove
  # one enforcer per machine: each kube-router owns KUBE-ROUTER-FORWARD and rewrites it with its
  # own Pods only, so a second one silently un-enforces the first one's node
  if iptables -S KUBE-ROUTER-FORWARD >/dev/null 2>&1; then
    die "another NetworkPolicy enforcer runs on this machine (chain KUBE-ROUTER-FORWARD exists): stop that harness (scripts/kube-harness.sh netpol ITS-DIR stop); if none runs, it is left over: iptables -D FORWARD/INPUT/OUTPUT jumps to KUBE-ROUTER-*, then iptables -F/-X them"
  fi
  iptables-save -t filter 2>/dev/null | sed -n 's/^:\([^ ]*\).*/\1/p' | grep -E "$NETPOL_CHAINS" >"$dir/netpol.chains.before" || true
  # the node-port range is narrowed to one unused pair: kube-router lets Pods reach every local
  # port in it, and the tests' servers on this host must be subject to the policies
  nohup "$NETPOL_BIN" --kubeconfig "$dir/kubeconfig" --hostname-override localhost \
    --run-firewall=true --run-router=false --run-service-proxy=false \
    --service-cluster-ip-range 10.0.0.0/24 --service-node-port-range 30000-30001 \
    --health-port "$(free_port)" --metrics-port 0 --iptables-sync-period 1m \
    >"$dir/netpol.log" 2>&1 </dev/null &
  echo $! >"$dir/netpol.pid"
  local deadline=$((SECONDS + 60))
  until iptables -S KUBE-ROUTER-FORWARD 2>/dev/null | grep -q 'ACCEPT'; do
    kill -0 "$(cat "$dir/netpol.pid")" 2>/dev/null || { tail -20 "$dir/netpol.log" >&2; die "kube-router exited; see $dir/netpol.log"; }
    ((SECONDS < deadline)) || die "kube-router made no chains in 60s; see $dir/netpol.log"
    sleep 0.2
  done
  grep -q '^CLAWPOD_KUBE_NETPOL=' "$dir/env" 2>/dev/null || echo "CLAWPOD_KUBE_NETPOL=kube-router-$NETPOL_VERSION" >>"$dir/env"
  say "NetworkPolicies enforced by kube-router $NETPOL_VERSION (firewall only) in $((SECONDS - t0))s"
}

# netpol_stop DIR: kube-router stopped, then its jumps, chains and ipsets removed (it leaves them,
# and a stale KUBE-ROUTER-FORWARD would keep filtering the next node's Pods). Safe to run twice.
netpol_stop() {
  local dir=$1 pid c s
  if [[ -f "$dir/netpol.pid" ]]; then
    pid=$(cat "$dir/netpol.pid")
    kill "$pid" 2>/dev/null || true
    wait_gone 50 "$pid" || { kill -9 "$pid" 2>/dev/null || true; wait_gone 20 "$pid" || true; }
    rm -f "$dir/netpol.pid"
  elif [[ ! -f "$dir/netpol.chains.before" ]]; then
    return 0
  fi
  local ours
  ours=$(iptables-save -t filter 2>/dev/null | sed -n 's/^:\([^ ]*\).*/\1/p' | grep -E "$NETPOL_CHAINS" | grep -vxFf "$dir/netpol.chains.before" 2>/dev/null || true)
  # jumps from the built-in chains first (they hold references), then flush all, then delete all
  local rule
  for c in INPUT FORWARD OUTPUT; do
    while read -r rule; do
      for s in $ours; do
        [[ $rule =~ -j\ $s( |$) ]] && { eval "iptables -t filter ${rule/-A /-D }" 2>/dev/null || true; }
      done
    done < <(iptables -t filter -S "$c" 2>/dev/null)
  done
  for c in $ours; do iptables -t filter -F "$c" 2>/dev/null || true; done
  for c in $ours; do iptables -t filter -X "$c" 2>/dev/null || true; done
  if command -v ipset >/dev/null; then
    for s in $(ipset list -n 2>/dev/null | grep -E "$NETPOL_SETS"); do ipset destroy "$s" 2>/dev/null || true; done
  fi
  sed -i '/^CLAWPOD_KUBE_NETPOL=/d' "$dir/env" 2>/dev/null || true
  rm -f "$dir/netpol.chains.before"
}
