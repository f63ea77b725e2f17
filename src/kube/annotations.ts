// Which of an Agent spec's metadata.annotations may travel onto the objects it renders to. An
// annotation on a Pod is not just a note: kubelets, container runtimes, `podman kube play`,
// sandboxes, CNI plugins and service meshes read some of them as settings, and several of those
// settings undo the hardening the renderer writes (an AppArmor profile "unconfined", a privileged
// podman container, a Kata hypervisor path, a second network interface past the NetworkPolicy).
// A spec is often someone else's file, so such keys are dropped, each named in a warning, and the
// spec kept in the clawpod.dev/spec annotation is the one without them. A deny-list, not an
// allow-list: user annotations are free-form notes (example.com/owner), and what reads them is
// open-ended; the list names whole families by prefix, plus words that mark a security setting
// under any prefix. Pure.
import { RESERVED_LABEL_PREFIXES } from '../spec/defaults.js';
import type { Agent } from '../spec/schema.js';

interface Rule { readonly prefixes?: readonly string[]; readonly words?: readonly string[]; readonly why: string }

/** Compared lowercased: runtimes differ in how strictly they match, so the match is the loose one. */
const DENIED: readonly Rule[] = [
  // clawpod.dev/spec, clawpod.dev/labels (the driver's session labels, which the control plane trusts), ...
  { prefixes: RESERVED_LABEL_PREFIXES, why: "the prefix is reserved for clawpod's own bookkeeping" },
  { prefixes: ['container.apparmor.security.beta.kubernetes.io/', 'seccomp.security.alpha.kubernetes.io/', 'container.seccomp.security.alpha.kubernetes.io/'], why: 'it sets the AppArmor or seccomp profile of the Pod (the kubelet and podman kube play honour it)' },
  { prefixes: ['io.podman.annotations.', 'io.containers.'], why: 'podman kube play turns it into a container option (privileged, userns, seccomp, SELinux label, init, volumes-from)' },
  { prefixes: ['io.kubernetes.', 'io.containerd.', 'run.oci.', 'org.opencontainers.', 'cdi.k8s.io/'], why: 'a container runtime (CRI-O, containerd, crun, CDI) reads it as a runtime option: devices, user namespaces, cgroups, the untrusted-workload runtime' },
  { prefixes: ['io.katacontainers.', 'dev.gvisor.'], why: 'it configures the sandbox runtime (Kata hypervisor and kernel, gVisor flags)' },
  { prefixes: ['openshift.io/', 'security.openshift.io/'], why: 'it selects the OpenShift SecurityContextConstraints (openshift.io/required-scc)' },
  { prefixes: ['k8s.v1.cni.cncf.io/', 'v1.multus-cni.io/', 'k8s.ovn.org/', 'cni.projectcalico.org/'], why: 'it attaches networks or addresses the NetworkPolicy does not cover' },
  { prefixes: ['sidecar.istio.io/', 'traffic.sidecar.istio.io/', 'proxy.istio.io/', 'linkerd.io/', 'config.linkerd.io/', 'config.alpha.linkerd.io/'], why: 'it opts out of the service mesh or its egress rules' },
  // under any prefix: a word that only a security setting uses
  { words: ['apparmor', 'seccomp', 'selinux', 'kata', 'gvisor', 'userns', 'privileged', 'capabilit', 'runtime-handler', 'runtimeclass', 'runtime-class', 'untrusted-workload'], why: 'it names a security or sandbox setting' },
];
// Kept on purpose: kubectl.kubernetes.io/default-container (an agent Pod has one container; it
// only picks the default of kubectl logs/exec), and every other key, as a free-form note.

/** Why `key` may not be set from a spec, or undefined when it may. */
export function deniedAnnotation(key: string): string | undefined {
  const k = key.toLowerCase();
  return DENIED.find((r) => r.prefixes?.some((p) => k.startsWith(p)) || r.words?.some((w) => k.includes(w)))?.why;
}

export interface SafeAgent {
  /** The agent without the denied annotations (the same object when none was). */
  readonly agent: Agent;
  /** One line per dropped key, naming it and why. */
  readonly warnings: string[];
}

export function withSafeAnnotations(agent: Agent): SafeAgent {
  const all = agent.metadata.annotations;
  if (!all) return { agent, warnings: [] };
  const kept: Record<string, string> = {};
  const warnings: string[] = [];
  for (const [k, v] of Object.entries(all)) {
    const why = deniedAnnotation(k);
    if (why) warnings.push(`metadata.annotations["${k}"] dropped: ${why}`);
    else kept[k] = v;
  }
  if (warnings.length === 0) return { agent, warnings };
  const { annotations: _dropped, ...rest } = agent.metadata;
  return { agent: { ...agent, metadata: { ...rest, ...(Object.keys(kept).length ? { annotations: kept } : {}) } }, warnings };
}
