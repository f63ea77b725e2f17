// What a payload profile (src/profiles) adds to an agent's Kubernetes objects: the config file it
// renders, in a ConfigMap that an init container seeds onto the state claim with the spec's merge
// mode (never a live read-only mount: the payload may write its config); the profile's probes;
// the secrets it needs as keys of the agent's Secret; and the egress it needs. Pure.
import { deepMerge } from '../profiles/merge.js';
import { profileOf, renderConfig, vaultFileSecret } from '../profiles/index.js';
import type { Profile, ProfileProbes, RenderContext } from '../profiles/types.js';
import { DEFAULTS } from '../spec/defaults.js';
import type { Agent } from '../spec/schema.js';
import { SECRETS_VOLUME, WORKSPACE_VOLUME } from './defaults.js';
import { objectNames } from './names.js';
import { containerSecurityContext } from './security.js';
import type { IConfigMap, IContainer, IPodSpec } from './types.js';

export const CONFIG_VOLUME = 'payload-config';
const SECRETS_SOURCE_VOLUME = 'secrets-source';
const SECRETS_SOURCE_MOUNT = '/etc/clawpod/secrets-source';
const CONFIG_MOUNT = '/etc/clawpod/seed';
export const LLM_TOKEN_KEY = 'llm-token';

export { profileOf };

/** The agent with the Secret keys its profile needs (generated token, LLM token) listed as file secrets. */
export function withPayloadSecrets(agent: Agent): Agent {
  const profile = profileOf(agent);
  if (!profile) return agent;
  const have = new Set(agent.spec.secrets.map((s) => s.name));
  const wanted = [...(profile.generatedSecrets ?? []).map((g) => g.name), ...(llmOf(agent) ? [LLM_TOKEN_KEY] : [])].filter((n) => !have.has(n));
  return wanted.length ? { ...agent, spec: { ...agent.spec, secrets: [...agent.spec.secrets, ...wanted.map((n) => vaultFileSecret(n, n))] } } : agent;
}

/** The model wiring a cluster can use: spec.llm with url, api and model (a local control plane cannot be asked). */
function llmOf(agent: Agent): RenderContext['llm'] {
  const l = agent.spec.llm;
  if (!l || !l.url || !l.api || !l.model) return undefined;
  const base = l.url.replace(/\/+$/, '');
  return { baseUrl: l.api === 'openai' && !base.endsWith('/v1') ? `${base}/v1` : base, api: l.api, model: l.model, tokenFile: `${DEFAULTS.secretsMountPath}/${LLM_TOKEN_KEY}` };
}

/** The config file for a cluster: the model wiring comes from spec.llm (no local control plane to ask). */
export function renderedConfig(agent: Agent, profile: Profile): Record<string, unknown> | undefined {
  const llm = llmOf(agent);
  return renderConfig(profile, agent, { instance: agent.metadata.name, secretsDir: DEFAULTS.secretsMountPath, ...(llm ? { llm } : {}) });
}

export function configMap(agent: Agent, meta: (name: string) => IConfigMap['metadata']): IConfigMap | undefined {
  const profile = profileOf(agent);
  const config = profile && renderedConfig(agent, profile);
  if (!profile?.config || !config) return undefined;
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(configMapName(agent)), data: { [baseName(profile.config.file)]: `${JSON.stringify(config, null, 2)}\n` } };
}

export const configMapName = (agent: Agent) => `${objectNames(agent).workload}-config`;
const baseName = (p: string) => p.split('/').pop()!;

/**
 * The seeding step as a Node script for the init container (the payload image has Node): the same
 * deepMerge as `clawpod run`, so a cluster and a laptop seed alike. JSON only here (the local
 * path also reads JSON5 comments); a file that does not parse stops the Pod with the reason.
 */
export function seedScript(): string {
  return [
    `const fs = require('fs'), path = require('path');`,
    `const deepMerge = ${deepMerge.toString()};`,
    `const [src, dst, mode, secretsSrc, secretsDst] = process.argv.slice(1);`,
    // the kubelet writes Secret files as root:fsGroup; OpenClaw takes only files its own uid owns, mode 0600 or less
    `if (secretsSrc) for (const f of fs.readdirSync(secretsSrc)) {`,
    `  if (f.startsWith('..') || !fs.statSync(path.join(secretsSrc, f)).isFile()) continue;`,
    `  fs.rmSync(path.join(secretsDst, f), { force: true });`,
    `  fs.writeFileSync(path.join(secretsDst, f), fs.readFileSync(path.join(secretsSrc, f)), { mode: 0o400 });`,
    `}`,
    `const next = JSON.parse(fs.readFileSync(src, 'utf8'));`,
    `let out = next, action = 'created';`,
    `if (fs.existsSync(dst)) {`,
    `  if (mode === 'seedOnly') { console.log(dst + ': kept (seedOnly)'); process.exit(0); }`,
    `  if (mode === 'merge') {`,
    `    let cur; try { cur = JSON.parse(fs.readFileSync(dst, 'utf8')); } catch (e) { console.error(dst + ' is not JSON, so it cannot be merged (' + e.message + '); fix it or set spec.config.mode: overwrite'); process.exit(1); }`,
    `    out = deepMerge(cur, next); action = 'merged';`,
    `  } else action = 'overwritten';`,
    `}`,
    `fs.mkdirSync(path.dirname(dst), { recursive: true });`,
    `fs.writeFileSync(dst + '.clawpod-tmp', JSON.stringify(out, null, 2) + '\\n', { mode: 0o600 });`,
    `fs.renameSync(dst + '.clawpod-tmp', dst);`,
    `console.log(dst + ': ' + action);`,
  ].join('\n');
}

function probeFields(p: ProfileProbes, portName: string): Pick<IContainer, 'startupProbe' | 'livenessProbe' | 'readinessProbe'> {
  const get = (path: string) => ({ httpGet: { path, port: portName } });
  return {
    // the startup budget (5 min): 60 × 5 s; liveness and readiness only start after it
    ...(p.startup ? { startupProbe: { ...get(p.startup.path), periodSeconds: 5, failureThreshold: 60, timeoutSeconds: 3 } } : {}),
    livenessProbe: { ...get(p.health.path), periodSeconds: 30, failureThreshold: 3, timeoutSeconds: 5 },
    // every 2 s: a new Pod is Ready (and a rollout moves on) within 2 s of its payload listening, not 10
    readinessProbe: { ...get((p.ready ?? p.health).path), periodSeconds: 2, failureThreshold: 5, timeoutSeconds: 2 },
  };
}

/** The Pod spec with the profile's probes, and its config seeded by an init container. */
export function withPayload(agent: Agent, spec: IPodSpec, portNameOf: (containerPort: number) => string | undefined): IPodSpec {
  const profile = profileOf(agent);
  if (!profile) return spec;
  const main = spec.containers[0]!;
  const probePort = profile.probes ? portNameOf(profile.probes.port) : undefined;
  const container: IContainer = { ...main, ...(profile.probes && probePort ? probeFields(profile.probes, probePort) : {}) };
  const cm = profile.config && agent.spec.workspace.enabled ? configMapName(agent) : undefined;
  if (!cm || !profile.config) return { ...spec, containers: [container] };
  const file = baseName(profile.config.file);
  // Secret files are copied by the init step into a memory volume at the same path, owned by the agent's uid
  const secretVolume = spec.volumes?.find((v) => v.name === SECRETS_VOLUME && v.secret);
  const volumes = (spec.volumes ?? []).map((v) => (v === secretVolume ? { ...v, name: SECRETS_SOURCE_VOLUME } : v));
  if (secretVolume) volumes.push({ name: SECRETS_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
  const seed: IContainer = {
    name: 'seed-config',
    image: main.image!,
    ...(main.imagePullPolicy ? { imagePullPolicy: main.imagePullPolicy } : {}),
    command: ['node', '-e', seedScript(), `${CONFIG_MOUNT}/${file}`, `${agent.spec.workspace.mountPath}/${profile.config.file}`, agent.spec.config?.mode ?? 'merge',
      ...(secretVolume ? [SECRETS_SOURCE_MOUNT, DEFAULTS.secretsMountPath] : [])],
    // the payload's own limits: an init step asking for more would raise every Pod's request (a small plan's
    // tenants would each hold 250m of a node while seeding one file)
    resources: main.resources ?? { limits: { cpu: '250m', memory: '128Mi' }, requests: { cpu: '250m', memory: '128Mi' } },
    securityContext: containerSecurityContext(),
    volumeMounts: [
      { name: WORKSPACE_VOLUME, mountPath: agent.spec.workspace.mountPath }, { name: CONFIG_VOLUME, mountPath: CONFIG_MOUNT, readOnly: true },
      ...(secretVolume ? [{ name: SECRETS_SOURCE_VOLUME, mountPath: SECRETS_SOURCE_MOUNT, readOnly: true }, { name: SECRETS_VOLUME, mountPath: DEFAULTS.secretsMountPath }] : []),
    ],
  };
  return {
    ...spec,
    initContainers: [seed],
    containers: [container],
    volumes: [...volumes, { name: CONFIG_VOLUME, configMap: { name: cm, items: [{ key: file, path: file }] } }],
  };
}

