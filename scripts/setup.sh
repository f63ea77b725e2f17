#!/usr/bin/env bash
# Installs what clawpod needs on a Debian/Ubuntu host (root), builds it, configures and starts
# the Podman API service, builds the agent image and starts a demo agent.
#   ./scripts/setup.sh            everything, ending with the demo agent running
#   ./scripts/setup.sh --no-demo  everything but the demo (used by .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO=1
[[ "${1:-}" == "--no-demo" ]] && DEMO=0
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# 1. Node 20+ (the project's engines field); Debian's own nodejs is too old, so we only check.
if ! command -v node >/dev/null || [[ $(node -p 'process.versions.node.split(".")[0]') -lt 20 ]]; then
  echo "clawpod needs Node.js >= 20.11 (found: $(node -v 2>/dev/null || echo none))." >&2
  echo "fix: install Node 20 or newer, e.g. https://github.com/nodesource/distributions, then re-run $0" >&2
  exit 1
fi

# 2. Podman + runc (and busybox for the offline base image, tini as PID 1 of payload images) from Debian when missing,
#    and what the test suite's own Kubernetes harness runs on (docs/kubernetes-harness.md).
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
[[ -x /bin/busybox ]] || need+=(busybox-static)
[[ -x /usr/bin/tini-static ]] || need+=(tini)
# catatonit: the pause binary `podman kube play` / `podman pod create` need (export tests, the harness node).
command -v catatonit >/dev/null || [[ -x /usr/libexec/podman/catatonit ]] || need+=(catatonit)
# runsc: the gVisor isolation tier (`isolation: gvisor`), registered with Podman below.
command -v runsc >/dev/null || need+=(runsc)
# the microVM tier (`isolation: microvm`): QEMU, a Debian kernel with 9p modules, socat (gateway socket forwarding), cpio (its initramfs)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
compgen -G '/lib/modules/*/kernel/fs/9p/9p.ko*' >/dev/null || need+=(linux-image-amd64)
command -v socat >/dev/null || need+=(socat)
command -v cpio >/dev/null || need+=(cpio)
# chromium: OpenClaw's control UI is tested in a real browser (playwright-core drives Debian's build).
command -v chromium >/dev/null || need+=(chromium)
# the Kubernetes harness: etcd for the API server; containerd, the CNI plugins and iptables for its node
command -v etcd >/dev/null || need+=(etcd-server)
command -v containerd >/dev/null || need+=(containerd)
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
# openssh-server: the SSH sandbox tests run the host's sshd in a container (test/helpers/sshd.ts); no system sshd is left running
[[ -x /usr/sbin/sshd ]] || need+=(openssh-server)
# ipset: the harness node's NetworkPolicy enforcer (kube-router, firewall only) runs it
command -v ipset >/dev/null || need+=(ipset)
if ((${#need[@]})); then
  say "installing ${need[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  # Debian's etcd-server and containerd start system services; the harness runs its own on free ports.
  if command -v systemctl >/dev/null; then systemctl disable --now etcd containerd >/dev/null 2>&1 || true; fi
  # and openssh-server starts sshd; Debian's units and init script skip it while this file exists
  if [[ -x /usr/sbin/sshd && -d /etc/ssh ]]; then
    touch /etc/ssh/sshd_not_to_be_run
    if command -v systemctl >/dev/null; then systemctl disable --now ssh >/dev/null 2>&1 || true; fi
  fi
fi

# 2b. A Go toolchain for the harness build (kube-apiserver, kubelet, kubectl... from k8s.io/kubernetes).
#     Debian's golang-go (1.19) is too old for the module; the harness then fetches Go itself as the
#     golang.org/toolchain module into ~/.cache/clawpod-kube/go (docs/kubernetes-harness.md).
say "checking the Go toolchain for the Kubernetes test harness"
bash scripts/kube-harness.sh go >/dev/null

# 3. A project-local containers.conf. These VMs lack CAP_SYS_RESOURCE (default rlimits fail)
#    and run hybrid cgroups v1 (crun refuses it; runc works): see docs/runtimes.md.
#    On cgroup v2 (cgroup2fs, Debian 12's default) Podman's own defaults (crun, systemd) are kept.
mkdir -p .clawpod
CONF=$ROOT/.clawpod/containers.conf
CGROUP_FS=$(stat -fc %T /sys/fs/cgroup 2>/dev/null || echo unknown)
{
  echo '[containers]'
  echo 'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]'
  echo '[engine]'
  if [[ $CGROUP_FS != cgroup2fs ]]; then
    echo 'runtime = "runc"'
    echo 'cgroup_manager = "cgroupfs"'
  fi
  if command -v runsc >/dev/null; then
    # gVisor cannot manage cgroups v1 here nor set up its own netstack (runsc 2022-12 takes every
    # netns of a 6.x kernel for the host's); --host-uds=open lets it connect to the gateway's mounted
    # socket. runsc-net: for networked gVisor agents, the host kernel's network stack inside the
    # container's own network namespace. See docs/runtimes.md (gVisor).
    printf '#!/bin/sh\nexec %s --ignore-cgroups --network=none --host-uds=open "$@"\n' "$(command -v runsc)" > .clawpod/runsc
    printf '#!/bin/sh\nexec %s --ignore-cgroups --network=host --host-uds=open "$@"\n' "$(command -v runsc)" > .clawpod/runsc-net
    chmod +x .clawpod/runsc .clawpod/runsc-net
    echo '[engine.runtimes]'
    echo "runsc = [\"$ROOT/.clawpod/runsc\"]"
    echo "runsc-net = [\"$ROOT/.clawpod/runsc-net\"]"
  fi
  # the microVM tier: its VM (kernel, initramfs, QEMU's jail) and the OCI runtime that boots it (docs/runtimes.md)
  if bash scripts/microvm/build.sh "$ROOT/.clawpod/microvm" >&2; then
    printf '#!/bin/sh\nCLAWPOD_RUNC=%s CLAWPOD_MICROVM_JAIL=%s exec %s %s "$@"\n' "$(command -v runc)" "$ROOT/.clawpod/microvm/jail" "$(command -v node)" "$ROOT/dist/src/runtime/microvm/shim.js" > .clawpod/clawpod-microvm
    chmod +x .clawpod/clawpod-microvm
    command -v runsc >/dev/null || echo '[engine.runtimes]'
    echo "clawpod-microvm = [\"$ROOT/.clawpod/clawpod-microvm\"]"
  fi
} > "$CONF.new"
mv "$CONF.new" "$CONF"
export CONTAINERS_CONF=$CONF

# 3b. Room in the kernel's key quota. runc gives every container a session keyring, charged to the
#    uid the container's root maps to; agents run in one user namespace (docs/security.md B5), so
#    they all share that uid's quota — 200 keys by default, and a removed container's key lingers
#    for gc_delay (300 s). A fleet or warm pool of ~100 then fails to start with "unable to join
#    session keyring: disk quota exceeded". Raised here (and kept in /etc/sysctl.d) where allowed.
if [[ $(cat /proc/sys/kernel/keys/maxkeys 2>/dev/null || echo 0) -lt 20000 ]]; then
  if sysctl -qw kernel.keys.maxkeys=20000 kernel.keys.maxbytes=2000000 2>/dev/null; then
    printf 'kernel.keys.maxkeys = 20000\nkernel.keys.maxbytes = 2000000\n' > /etc/sysctl.d/60-clawpod-keys.conf 2>/dev/null || true
  else
    say "warning: could not raise kernel.keys.maxkeys (200 keys per user): more than ~150 agents at once will fail to start"
  fi
fi

# 4. Node dependencies and the build.
say "installing npm dependencies and building clawpod"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build

# 5. The Podman API service on the rootful socket, (re)started so it reads our containers.conf.
SOCK=/run/podman/podman.sock
if [[ -f .clawpod/podman-service.pid ]] && kill -0 "$(cat .clawpod/podman-service.pid)" 2>/dev/null; then
  kill "$(cat .clawpod/podman-service.pid)" && sleep 0.5
fi
mkdir -p /run/podman
if ! curl -sf --unix-socket "$SOCK" http://d/version >/dev/null 2>&1; then
  say "starting the Podman API service on $SOCK"
  nohup podman system service --time=0 "unix://$SOCK" > .clawpod/podman-service.log 2>&1 &
  echo $! > .clawpod/podman-service.pid
  for _ in $(seq 50); do curl -sf --unix-socket "$SOCK" http://d/version >/dev/null 2>&1 && break; sleep 0.2; done
fi
# clawpod on PATH (like `npm link`, without reinstalling anything): a symlink to this checkout's CLI.
BINDIR=${CLAWPOD_BIN_DIR:-/usr/local/bin}
if [[ -d "$BINDIR" && -w "$BINDIR" ]]; then
  ln -sfn "$ROOT/bin/clawpod.js" "$BINDIR/clawpod"
else
  echo "note: $BINDIR is not writable; run clawpod as node $ROOT/bin/clawpod.js or set CLAWPOD_BIN_DIR" >&2
fi
node bin/clawpod.js doctor

# 6. The agent image (from an official Node image, or from the host's Node when no registry answers).
say "building the agent image"
node bin/clawpod.js image build

# 7. The demo agent.
if ((DEMO)); then
  say "starting the demo agent (examples/hello.yaml)"
  node bin/clawpod.js rm -f hello >/dev/null 2>&1 || true
  node bin/clawpod.js run -d -f examples/hello.yaml
  node bin/clawpod.js ps
fi
