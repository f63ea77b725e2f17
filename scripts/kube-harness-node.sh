# One node that really runs Pods, for scripts/kube-harness.sh `start DIR --nodes` (sourced, not
# run): containerd (Debian's, private root/state/socket under DIR) as the CRI runtime, a CNI bridge
# with host-local IPAM, kube-scheduler and a kubelet registered as node "localhost", images
# imported from Podman's storage (no registry here), a default StorageClass with a pool of
# hostPath PersistentVolumes. `node_stop` undoes all of it, whatever state start left.
# docs/kubernetes-harness.md explains each choice; the ones that are not obvious say why here.

NODE_PV_COUNT=${CLAWPOD_KUBE_PV_COUNT:-16}
# stop runs under `set -e` and must get to the end whatever start left: every step there that may
# find nothing to undo ends in `|| true`.

node_packages() {
  # What a fresh Debian 12 lacks: containerd (+ runc), the CNI plugins, iptables for cleanup.
  local need=()
  command -v containerd >/dev/null || need+=(containerd)
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || need+=(containernetworking-plugins)
  command -v iptables >/dev/null || need+=(iptables)
  command -v runc >/dev/null || need+=(runc)
  # the containerd package starts a system containerd; ours runs on its own socket beside it
  ((${#need[@]})) && apt_install "a node needs ${need[*]}" "${need[@]}"
  # the kubelet and containerd need root even when everything is installed
  [[ $(id -u) == 0 ]] || unavailable "a node (kubelet, containerd) needs root"
}

node_ip() {
  # The kubelet refuses a loopback node IP; the address of the default route's interface it is.
  ip -4 -o route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p'
}

pause_image() {
  # The sandbox image: Podman's own pause image (built locally by Podman, no registry needed).
  local img
  img=$(podman images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep '^localhost/podman-pause:' | head -1)
  if [[ -z "$img" ]]; then
    local pod="clawpod-harness-pause-$$"
    { podman pod create --name "$pod" && podman pod rm -f "$pod"; } >/dev/null 2>&1 || true
    img=$(podman images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep '^localhost/podman-pause:' | head -1)
  fi
  [[ -n "$img" ]] || unavailable "no sandbox image: Podman could not build localhost/podman-pause (podman pod create failed)"
  echo "$img"
}

runsc_runtime() { # containerd-dir: the RuntimeClass gvisor's handler, when runsc is installed
  # Debian's runsc ships no containerd-shim-runsc-v1, so runc's own shim drives runsc through the
  # runc CLI it implements (as Docker does with a runtime in daemon.json). That shim cannot follow
  # runsc's Pod sandbox (a container CRI marks as a Pod's joins its pause container's sandbox, and
  # StartContainer then hangs), so the wrapper hides CRI's container-type annotation: one gVisor
  # sandbox per container, all in the Pod's network namespace. runsc says "sandbox is not running"
  # where runc says "container not running", the words runc's shim takes for "already finished"
  # (else a Pod whose process ended stays Terminating): the wrapper says it runc's way. The flags are local's
  # (scripts/setup.sh): --network=host is that namespace's stack (runsc 2022-12 refuses its own
  # netstack on a 6.x kernel; docs/runtimes.md).
  local runsc
  runsc=$(command -v runsc) || return 0
  cat >"$1/runsc" <<EOF
#!/bin/sh
prev=
for a in "\$@"; do
  if [ "\$prev" = --bundle ] && [ -f "\$a/config.json" ]; then
    sed -i 's/"io\\.kubernetes\\.cri\\.container-type"/"clawpod.harness.cri-container-type"/' "\$a/config.json"
  fi
  prev=\$a
done
case " \$* " in
  *" kill "*)
    # a sandbox that already ended: say it the way runc does, so runc's shim takes it as finished
    out=\$($runsc --ignore-cgroups --network=host "\$@" 2>&1) && exit 0
    rc=\$?
    case \$out in *"is not running"*) echo "container not running (\$out)" >&2 ;; *) echo "\$out" >&2 ;; esac
    exit \$rc ;;
esac
exec $runsc --ignore-cgroups --network=host "\$@"
EOF
  chmod +x "$1/runsc"
  cat <<EOF
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc.options]
        BinaryName = "$1/runsc"
        Root = "$1/runsc-root"
EOF
}

make_runtime_class() { # RuntimeClass gvisor (handler runsc), as a cluster with gVisor has it
  command -v runsc >/dev/null || return 0
  printf 'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: gvisor}\nhandler: runsc\n' |
    kube apply -f - >/dev/null || die "creating the RuntimeClass gvisor failed"
}

write_containerd_config() { # dir pause-image bridge subnet
  local d=$1/containerd
  mkdir -p "$d" "$1/cni/net.d" "$1/cni/ipam"
  cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$2"
  # these VMs lack CAP_SYS_RESOURCE: without this every sandbox fails ("can't get final child's PID from pipe")
  restrict_oom_score_adj = true
  systemd_cgroup = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$d/runc"
$(runsc_runtime "$d")
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$1/cni/net.d"
EOF
  # no masquerade, no portmap: nothing in iptables; Pods reach the host (the gateway) directly
  cat >"$1/cni/net.d/10-clawpod.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "clawpod-harness", "plugins": [
  {"type": "bridge", "bridge": "$3", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$1/cni/ipam", "ranges": [[{"subnet": "$4"}]], "routes": [{"dst": "0.0.0.0/0"}]}}
]}
EOF
}

write_kubelet_config() { # dir port healthz-port cgroup-root
  cat >"$1/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $2
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $3
# the API server reaches logs/exec/attach here; only this machine can connect
authentication: { anonymous: { enabled: true }, webhook: { enabled: false } }
authorization: { mode: AlwaysAllow }
containerRuntimeEndpoint: unix://$1/containerd/containerd.sock
cgroupDriver: cgroupfs
# every Pod cgroup under one root of our own: stop removes exactly that
cgroupRoot: /$4
# these VMs run cgroup v1 (hybrid), which 1.37 refuses unless told
failCgroupV1: false
failSwapOn: false
# imported images cannot be pulled again: never garbage-collect them, never evict for disk
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {}
# no KUBE-FIREWALL / KUBE-MARK chains in the host's iptables
makeIPTablesUtilChains: false
registerNode: true
staticPodPath: ""
serializeImagePulls: false
EOF
}

start_bg() { # name logfile cmd... : start in the background, pid into DIR/name.pid
  local name=$1 log=$2
  shift 2
  nohup "$@" >"$log" 2>&1 </dev/null &
  echo $! >"$NODE_DIR/$name.pid"
}

wait_for() { # seconds description pidfile cmd...: poll cmd until it succeeds
  local secs=$1 what=$2 pidf=$3
  shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$(cat "$pidf")" 2>/dev/null || die "$what: the process exited; see ${pidf%.pid}.log"
    ((SECONDS < deadline)) || die "$what not ready after ${secs}s; see ${pidf%.pid}.log"
    sleep 0.2
  done
}

import_images() { # sock images...
  local sock=$1 img t0 id same
  shift
  for img in "$@"; do
    id=$(podman image inspect --format '{{.Id}}' "$img" 2>/dev/null) || { say "image $img is not in Podman's storage; not imported"; continue; }
    t0=$SECONDS
    # a tag of an image already imported (tests tag one image as versions v1, v2...): a new name in
    # containerd for the same content, instead of saving and importing it all again (6-8 s each)
    same=$(awk -v id="$id" '$2 == id { print $1; exit }' "$NODE_DIR/imported" 2>/dev/null || true)
    # (a name containerd spells otherwise than Podman does is imported in full)
    if [[ -n "$same" ]] && ctr -a "$sock" -n k8s.io images tag --force "$same" "$img" >/dev/null 2>&1; then
      say "tagged $img in the node (the image of $same, imported already)"
    else
      podman save --format docker-archive "$img" 2>/dev/null | ctr -a "$sock" -n k8s.io images import --digests - >/dev/null ||
        die "importing $img into containerd failed"
      say "imported $img into the node in $((SECONDS - t0))s"
    fi
    # what `import` checks: a tag already imported at the same image id is not imported again
    echo "$img $id" >>"$NODE_DIR/imported"
  done
}

# node_import DIR IMAGE...: images from Podman into a running node, skipping those already there
# at the same image id (a test run shares one node between test files; see test/helpers/kube.ts).
node_import() {
  NODE_DIR=${1:?usage: kube-harness.sh import DIR IMAGE...}
  shift
  local sock img id
  sock=$(sed -n 's/^CLAWPOD_KUBE_CONTAINERD=//p' "$NODE_DIR/env" 2>/dev/null)
  [[ -S "$sock" ]] || die "$NODE_DIR has no running node (no containerd socket in $NODE_DIR/env)"
  [[ -z "${CONTAINERS_CONF:-}" && -f "$HERE/../.clawpod/containers.conf" ]] && export CONTAINERS_CONF=$HERE/../.clawpod/containers.conf
  for img in "$@"; do
    id=$(podman image inspect --format '{{.Id}}' "$img" 2>/dev/null) || { say "image $img is not in Podman's storage; not imported"; continue; }
    grep -qxF "$img $id" "$NODE_DIR/imported" 2>/dev/null && continue
    import_images "$sock" "$img"
  done
}

kube() { kubectl --kubeconfig "$NODE_DIR/kubeconfig" "$@"; }

make_storage() { # a default StorageClass and a pool of hostPath PVs under DIR/pv (no provisioner here)
  local i
  {
    printf 'apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: local\n  annotations: {storageclass.kubernetes.io/is-default-class: "true"}\nprovisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: Immediate\nreclaimPolicy: Retain\n'
    for i in $(seq 1 "$NODE_PV_COUNT"); do
      # 1777: hostPath volumes get no fsGroup, and agents run as non-root uids
      mkdir -p "$NODE_DIR/pv/pv$i" && chmod 1777 "$NODE_DIR/pv/pv$i"
      printf -- '---\napiVersion: v1\nkind: PersistentVolume\nmetadata: {name: harness-pv%s}\nspec:\n  capacity: {storage: 10Gi}\n  accessModes: [ReadWriteOnce]\n  storageClassName: local\n  persistentVolumeReclaimPolicy: Retain\n  hostPath: {path: %s, type: Directory}\n' "$i" "$NODE_DIR/pv/pv$i"
    done
  } | kube apply -f - >/dev/null || die "creating the StorageClass and PersistentVolumes failed"
}

# node_start DIR SERVER CA ADMIN_TOKEN: containerd, scheduler, kubelet; waits until the node is Ready.
node_start() {
  NODE_DIR=$1
  [[ $NODE_PV_COUNT =~ ^[0-9]+$ ]] || die "CLAWPOD_KUBE_PV_COUNT=$NODE_PV_COUNT is not a number"
  local server=$2 t0=$SECONDS
  node_packages
  command -v podman >/dev/null || unavailable "a node imports its images from Podman (scripts/setup.sh installs it)"
  # the checkout's containers.conf (runc, cgroupfs, lower ulimits: docs in ../shared/ENVIRONMENT.md) when the caller set none
  [[ -z "${CONTAINERS_CONF:-}" && -f "$HERE/../.clawpod/containers.conf" ]] && export CONTAINERS_CONF=$HERE/../.clawpod/containers.conf
  local nip pause id
  nip=$(node_ip)
  [[ -n "$nip" ]] || unavailable "no non-loopback IPv4 address for the kubelet's node IP"
  pause=$(pause_image)
  id=$(basename "$NODE_DIR" | tr -cd 'a-zA-Z0-9' | tail -c 8 | tr 'A-Z' 'a-z')
  local bridge="cpk$id" subnet="10.$((200 + RANDOM % 50)).$((RANDOM % 250)).0/24"
  # what stop must not touch: netns and iptables chains that existed before
  ls /run/netns 2>/dev/null >"$NODE_DIR/netns.before" || true
  iptables-save 2>/dev/null | grep -o '^:KUBE-[A-Z0-9-]*' >"$NODE_DIR/iptables.before" || true
  printf 'bridge=%s\ncgroup=clawpod-%s\n' "$bridge" "$id" >"$NODE_DIR/node.state"
  write_containerd_config "$NODE_DIR" "$pause" "$bridge" "$subnet"
  local sock=$NODE_DIR/containerd/containerd.sock
  start_bg containerd "$NODE_DIR/containerd.log" containerd --config "$NODE_DIR/containerd/config.toml"
  wait_for 30 containerd "$NODE_DIR/containerd.pid" ctr -a "$sock" version
  import_images "$sock" "$pause"
  # the payload images while the scheduler and kubelet start: the node takes 10-20 s to get Ready,
  # the agent image 5-8 s to import (it is only needed once a Pod is scheduled, after `start`)
  import_images "$sock" ${CLAWPOD_KUBE_NODE_IMAGES:-localhost/clawpod-agent:latest} &
  local imports=$!

  start_bg scheduler "$NODE_DIR/scheduler.log" "$BIN/kube-scheduler" \
    --kubeconfig "$NODE_DIR/kubeconfig" --authentication-kubeconfig "$NODE_DIR/kubeconfig" --authorization-kubeconfig "$NODE_DIR/kubeconfig" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port "$(free_port)" --cert-dir "$NODE_DIR/pki/scheduler"

  write_kubelet_config "$NODE_DIR" "$(free_port)" "$(free_port)" "clawpod-$id"
  # the kubelet wants its cgroup root to exist in every hierarchy
  local h
  for h in /sys/fs/cgroup/*/; do [[ -w "$h" ]] && mkdir -p "$h/clawpod-$id"; done
  # --hostname-override localhost: the API server dials the node by that name for logs/exec/attach
  start_bg kubelet "$NODE_DIR/kubelet.log" "$BIN/kubelet" \
    --config "$NODE_DIR/kubelet-config.yaml" --kubeconfig "$NODE_DIR/kubeconfig" \
    --root-dir "$NODE_DIR/kubelet" --cert-dir "$NODE_DIR/pki/kubelet" \
    --hostname-override localhost --node-ip "$nip"
  wait_for 90 "node localhost Ready" "$NODE_DIR/kubelet.pid" \
    bash -c "kubectl --kubeconfig '$NODE_DIR/kubeconfig' get node localhost -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
  make_storage
  make_runtime_class
  wait "$imports" || die "importing the node's images failed (see the lines above)"
  printf 'CLAWPOD_KUBE_NODE_IP=%s\nCLAWPOD_KUBE_CONTAINERD=%s\nCLAWPOD_KUBE_NODES=1\n' "$nip" "$sock" >>"$NODE_DIR/env.node"
  say "node localhost Ready in $((SECONDS - t0))s (node IP $nip, Pod subnet $subnet, sandbox $pause)"
}

pids_of_shims() { # the runc shims of our containerd (they outlive it), and gVisor's sandboxes and gofers under our runsc root: by pid
  local sock=$1 root=${1%/*}/runsc-root p
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -e "-address $sock " -e "--root=$root/" && echo "${p#/proc/}"
  done
}

# node_stop DIR: Pods first (so the kubelet tears down their networks), then the processes, then
# whatever they left: shims, mounts, cgroups, the bridge, netns, iptables chains.
node_stop() {
  NODE_DIR=$1
  [[ -f "$NODE_DIR/node.state" ]] || return 0
  local bridge cgroup sock=$NODE_DIR/containerd/containerd.sock
  bridge=$(sed -n 's/^bridge=//p' "$NODE_DIR/node.state")
  cgroup=$(sed -n 's/^cgroup=//p' "$NODE_DIR/node.state")
  if [[ -f "$NODE_DIR/kubelet.pid" ]] && kill -0 "$(cat "$NODE_DIR/kubelet.pid")" 2>/dev/null && [[ -f "$NODE_DIR/kubeconfig" ]]; then
    # no controller may make new Pods while the kubelet removes these
    if [[ -f "$NODE_DIR/controller-manager.pid" ]]; then kill "$(cat "$NODE_DIR/controller-manager.pid")" 2>/dev/null || true; fi
    kube delete pods --all -A --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
    local i
    for i in $(seq 1 100); do
      [[ -z "$(ctr -a "$sock" -n k8s.io tasks ls -q 2>/dev/null)" ]] && break
      sleep 0.2
    done
  fi
  local f pids=()
  for f in kubelet scheduler containerd; do
    [[ -f "$NODE_DIR/$f.pid" ]] || continue
    pids+=("$(cat "$NODE_DIR/$f.pid")")
    rm -f "$NODE_DIR/$f.pid"
  done
  if ((${#pids[@]})); then
    kill "${pids[@]}" 2>/dev/null || true
    wait_gone 50 "${pids[@]}" || { kill -9 "${pids[@]}" 2>/dev/null || true; wait_gone 20 "${pids[@]}" || true; }
  fi
  mapfile -t pids < <(pids_of_shims "$sock")
  if ((${#pids[@]})); then kill -9 "${pids[@]}" 2>/dev/null || true; wait_gone 20 "${pids[@]}" || true; fi
  # mounts under DIR (the kubelet's self bind mount, volumes, overlay rootfs, shm), deepest first
  local m
  for m in $(awk -v d="$NODE_DIR" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
  # cgroups: our root in every hierarchy, leaves first
  if [[ -n "$cgroup" ]]; then
    for m in /sys/fs/cgroup/*/"$cgroup" /sys/fs/cgroup/"$cgroup"; do
      if [[ -d "$m" ]]; then find "$m" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
    done
  fi
  # (CNI makes the bridge with the first Pod: there may be none)
  if [[ -n "$bridge" ]]; then ip link del "$bridge" 2>/dev/null || true; fi
  # network namespaces made by CNI for our Pods (cni-*, not there before start)
  for m in $(ls /run/netns 2>/dev/null | grep '^cni-'); do
    grep -qx "$m" "$NODE_DIR/netns.before" 2>/dev/null && continue
    umount "/run/netns/$m" 2>/dev/null || true
    rm -f "/run/netns/$m"
  done
  # KUBE-* chains the kubelet made despite makeIPTablesUtilChains: false
  local t c
  for t in filter nat mangle; do
    for c in $(iptables-save -t "$t" 2>/dev/null | grep -o '^:KUBE-[A-Z0-9-]*' | tr -d ':'); do
      grep -qx ":$c" "$NODE_DIR/iptables.before" 2>/dev/null && continue
      iptables -t "$t" -F "$c" 2>/dev/null || true
      iptables -t "$t" -X "$c" 2>/dev/null || true
    done
  done
  rm -rf "$NODE_DIR/containerd" "$NODE_DIR/kubelet" "$NODE_DIR/cni" "$NODE_DIR/pv" "$NODE_DIR/node.state" \
    "$NODE_DIR/netns.before" "$NODE_DIR/iptables.before" "$NODE_DIR/kubelet-config.yaml" "$NODE_DIR/env.node"
}
