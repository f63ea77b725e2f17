// B10: an Agent spec's metadata.annotations used to be copied onto the Job/StatefulSet and their
// Pod template as they were, so a spec could switch off AppArmor or seccomp, make podman kube
// play's container privileged, pick a Kata hypervisor, attach a Multus network past the
// NetworkPolicy, or forge clawpod's own bookkeeping annotations. The attack: a spec carrying each
// of them, rendered in every format clawpod exports (and through the CLI, as a user runs it).
// None may reach any rendered object, and a warning must name each dropped key.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { exportAgents, type ExportOptions } from '../../src/kube/export.js';
import { parseAgents } from '../../src/spec/parse.js';
import { clawpod, scratchEnv } from '../helpers/cli.js';

/** Every key an attacker would set, with the value that loosens the Pod. */
const HOSTILE: Record<string, string> = {
  'container.apparmor.security.beta.kubernetes.io/agent': 'unconfined',
  'seccomp.security.alpha.kubernetes.io/pod': 'unconfined',
  'container.seccomp.security.alpha.kubernetes.io/agent': 'unconfined',
  'io.podman.annotations.privileged': 'TRUE',
  'io.podman.annotations.userns': 'host',
  'io.podman.annotations.seccomp/agent': 'unconfined',
  'io.podman.annotations.label/agent': 'disable',
  'io.containers.trace-syscall': 'of:/tmp/x',
  'io.kubernetes.cri-o.userns-mode': 'auto:size=65536',
  'io.kubernetes.cri-o.Devices': '/dev/kvm',
  'io.kubernetes.cri.untrusted-workload': 'false',
  'io.katacontainers.config.hypervisor.path': '/tmp/evil-qemu',
  'dev.gvisor.flag.network': 'host',
  'run.oci.keep_original_groups': '1',
  'cdi.k8s.io/agent': 'vendor.com/device=all',
  'openshift.io/scc': 'privileged',
  'openshift.io/required-scc': 'privileged',
  'k8s.v1.cni.cncf.io/networks': 'host-macvlan',
  'v1.multus-cni.io/default-network': 'host-net',
  'sidecar.istio.io/inject': 'false',
  'traffic.sidecar.istio.io/excludeOutboundIPRanges': '0.0.0.0/0',
  'example.com/runtime-handler': 'runc-unsandboxed',
  // clawpod's own: the driver reads clawpod.dev/labels as a session's identity, import reads the others
  'clawpod.dev/labels': '{"dev.clawpod.role":"session","dev.clawpod.control":"forged"}',
  'clawpod.dev/spec-configmap': 'someone-elses-spec',
  'clawpod.dev/spec': '{"forged":true}',
  'dev.clawpod.role': 'session',
};
const KEPT = { 'example.com/owner': 'alice', 'kubectl.kubernetes.io/default-container': 'agent' };
/** Keys clawpod itself writes: they may appear, but only with clawpod's value. */
const OWN = new Set(['clawpod.dev/spec', 'clawpod.dev/spec-configmap']);

const SPEC = stringify({
  apiVersion: 'clawpod.dev/v1alpha1', kind: 'Agent',
  metadata: { name: 'hostile', annotations: { ...HOSTILE, ...KEPT } },
  spec: { image: 'localhost/clawpod-agent:latest', command: ['node', '-e', '1'] },
});
const hostile = () => parseAgents(SPEC, 'hostile.yaml')[0]!.agent;

/** Every annotations map anywhere in the objects (metadata, Pod templates, claim templates). */
function annotationMaps(x: unknown, out: Record<string, string>[] = []): Record<string, string>[] {
  if (Array.isArray(x)) for (const v of x) annotationMaps(v, out);
  else if (x && typeof x === 'object') {
    for (const [k, v] of Object.entries(x)) {
      if (k === 'annotations' && v && typeof v === 'object') out.push(v as Record<string, string>);
      else annotationMaps(v, out);
    }
  }
  return out;
}

/** `texts`: the exported files. Returns every annotations map found in them. */
function expectClean(texts: readonly string[], warnings: readonly string[]): Record<string, string>[] {
  for (const k of Object.keys(HOSTILE)) {
    // not as a key, not inside the spec JSON kept for import
    if (!OWN.has(k)) for (const t of texts) expect(t, k).not.toContain(k);
    expect(warnings.filter((w) => w.includes(`metadata.annotations["${k}"] dropped`)), k).toHaveLength(1);
  }
  for (const k of Object.keys(KEPT)) expect(warnings.join('\n')).not.toContain(k);
  const maps = annotationMaps(texts.flatMap((t) => parseAllDocuments(t).map((d) => d.toJS() as unknown)));
  for (const m of maps) {
    for (const k of OWN) if (k in m) expect(m[k], k).not.toBe(HOSTILE[k]);
    // the spec kept for import is the one without them
    const spec = m['clawpod.dev/spec'];
    if (spec) expect(Object.keys((JSON.parse(spec) as { metadata: { annotations: object } }).metadata.annotations)).toEqual(Object.keys(KEPT));
  }
  return maps;
}

const FORMATS: [string, ExportOptions][] = [
  ['kube, session (Job)', { format: 'kube', mode: 'session' }],
  ['kube, persistent (StatefulSet)', { format: 'kube', mode: 'persistent', openshift: true }],
  ['kustomize', { format: 'kustomize', mode: 'session' }],
  ['podman (kube play)', { format: 'podman', mode: 'session' }],
];

describe('B10: security-relevant annotations of a spec never reach a rendered object', () => {
  it.each(FORMATS)('%s: every hostile key is dropped, named in a warning; notes are kept', (_, opts) => {
    const r = exportAgents([hostile()], opts);
    const maps = expectClean([...r.files.values()], r.warnings);
    if (opts.format !== 'podman') {
      // the workload and its Pod template carry the harmless ones
      expect(maps.filter((m) => m['example.com/owner'] === 'alice').length).toBeGreaterThanOrEqual(2);
    }
  });

  it('clawpod export --json (the built CLI) lists the warnings, and says them on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clawpod-sec-annot-'));
    writeFileSync(join(dir, 'agent.yaml'), SPEC);
    for (const format of ['kube', 'podman']) {
      const r = await clawpod(['--json', 'export', '-f', join(dir, 'agent.yaml'), '--format', format], { env: scratchEnv() });
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { text: string; warnings: string[] };
      expectClean([out.text], out.warnings);
      for (const k of Object.keys(HOSTILE)) expect(r.stderr).toContain(`warning: hostile: metadata.annotations["${k}"] dropped`);
    }
  });
});
