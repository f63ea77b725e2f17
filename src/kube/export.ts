// Rendered objects → the text of an export: `kube` (multi-document YAML), `kustomize` (a base
// with one file per object and an overlay setting namespace and a label), `podman` (what
// `podman kube play` runs). Pure: the CLI writes what these return.
import { stringify } from 'yaml';
import type { Agent } from '../spec/schema.js';
import { KUBE_DEFAULTS } from './defaults.js';
import { renderPodman } from './podman.js';
import { renderAgent } from './render.js';
import type { KubeObject, Rendered, RenderOptions } from './types.js';

export const EXPORT_FORMATS = ['kube', 'kustomize', 'podman'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions extends RenderOptions {
  readonly format: ExportFormat;
  /** Kustomize overlay folder name (default: the namespace, else "default"). */
  readonly overlay?: string;
}

export interface Exported {
  /** Relative path → file text. kube and podman: one file, "" (the CLI prints it or writes it to -o). */
  readonly files: ReadonlyMap<string, string>;
  readonly notes: string[];
  /** Spec settings dropped because they would loosen security, "AGENT: what and why" (stderr, and --json). */
  readonly warnings: string[];
}

/**
 * One YAML document; long lines (the spec annotation) stay on one line. Written as YAML 1.1, which
 * quotes strings such as "off", "yes" and "on": kubectl reads YAML 1.1, where they are booleans, and
 * refuses a boolean env value (OpenClaw under gVisor gets OPENCLAW_FS_SAFE_NATIVE_MODE=off).
 */
export function toYaml(obj: unknown): string {
  return stringify(obj, { lineWidth: 0, version: '1.1' });
}

export function multiDoc(objects: readonly KubeObject[], header: string): string {
  return `${header}${objects.map(toYaml).join('---\n')}`;
}

function fileName(o: KubeObject): string {
  return `${o.kind.toLowerCase()}-${o.metadata!.name!}.yaml`;
}

export function exportAgents(agents: readonly Agent[], opts: ExportOptions): Exported {
  const notes: string[] = [];
  const warnings: string[] = [];
  const objects: KubeObject[] = [];
  const collect = (a: Agent, r: Rendered) => {
    objects.push(...r.objects);
    notes.push(...r.notes.map((n) => `${a.metadata.name}: ${n}`));
    warnings.push(...r.warnings.map((w) => `${a.metadata.name}: ${w}`));
  };
  const who = agents.map((a) => a.metadata.name).join(', ');
  if (opts.format === 'podman') {
    for (const a of agents) collect(a, renderPodman(a, { mode: opts.mode }));
    const header = `# clawpod export --format podman (${opts.mode}) of ${who}: podman kube play FILE; podman kube down FILE\n`;
    return { files: new Map([['', multiDoc(objects, header)]]), notes, warnings };
  }
  // Kustomize sets the namespace in the overlay: the base stays namespace-free and reusable
  const renderOpts: RenderOptions = { ...opts, ...(opts.format === 'kustomize' ? { namespace: undefined } : {}) };
  for (const a of agents) collect(a, renderAgent(a, renderOpts));
  if (opts.format === 'kube') {
    const header = `# clawpod export --format kube (${opts.mode}${opts.openshift ? ', OpenShift' : ''}) of ${who}: kubectl apply -f FILE\n`;
    return { files: new Map([['', multiDoc(objects, header)]]), notes, warnings };
  }
  const files = new Map<string, string>();
  for (const o of objects) files.set(`base/${fileName(o)}`, toYaml(o));
  files.set('base/kustomization.yaml', toYaml({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: objects.map(fileName) }));
  const overlay = opts.overlay ?? opts.namespace ?? KUBE_DEFAULTS.overlay;
  files.set(`overlays/${overlay}/kustomization.yaml`, toYaml({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: ['../../base'],
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    // not on selectors: a StatefulSet's selector cannot change once applied
    labels: [{ pairs: { 'clawpod.dev/overlay': overlay }, includeSelectors: false, includeTemplates: true }],
  }));
  return { files, notes, warnings };
}
