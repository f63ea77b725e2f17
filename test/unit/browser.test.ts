// spec.browser without a runtime: the sidecar's planned container (hardening, the agent's network
// namespace, restart, the egress proxy), the Kubernetes Pod (a native sidecar; a second container
// for podman kube play), OpenClaw's rendered browser config, the schema's refusals and the tool's URL check.
import { describe, expect, it } from 'vitest';
import { parseAgents } from '../../src/spec/parse.js';
import type { Agent } from '../../src/spec/schema.js';
import { planContainer } from '../../src/plan/plan.js';
import { planSidecar, chromiumArgs } from '../../src/browser/sidecar.js';
import { contentHash } from '../../src/browser/files.js';
import { renderAgent } from '../../src/kube/render.js';
import { renderPodman } from '../../src/kube/podman.js';
import { withBrowser } from '../../src/browser/kube.js';
import { renderConfig } from '../../src/profiles/index.js';
import { openclaw } from '../../src/profiles/openclaw.js';
import { checkUrl } from '../../src/agent/tools/browser.js';
import type { IPodSpec, KubeObject } from '../../src/kube/types.js';
import { modelsValidate } from '../helpers/kube-schema.js';
import { isClawpodError } from '../../src/errors.js';

const spec = (body: string): string => `apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: { name: web }\nspec:\n${body.replace(/^/gm, '  ')}\n`;
const agent = (body: string): Agent => parseAgents(spec(body), 'web.yaml')[0]!.agent;

function planned(a: Agent) {
  return planContainer(a, { instanceName: 'web', index: 0, ports: [], mounts: [], secretEnv: {}, secretsHostDir: undefined, specDir: '/tmp', now: new Date(0) });
}

const podOf = (objects: readonly KubeObject[]): IPodSpec => {
  const w = objects.find((o) => o.kind === 'StatefulSet' || o.kind === 'Job' || o.kind === 'Pod') as { kind: string; spec: { template?: { spec: IPodSpec } } & IPodSpec };
  return w.kind === 'Pod' ? w.spec : w.spec.template!.spec;
};

describe('browser sidecar plan', () => {
  it('joins the agent\'s network namespace, hardened, restarted on a crash; the agent learns where CDP is', () => {
    const a = agent('network: bridge\nbrowser: { enabled: true, memory: 768Mi }');
    const ag = planned(a);
    expect(ag.env.CLAWPOD_BROWSER_CDP).toBe('http://127.0.0.1:9222');
    const s = planSidecar(ag, { image: 'localhost/clawpod-browser:abc', memoryBytes: 768 * 1_048_576, pids: 512 });
    expect(s).toMatchObject({
      name: 'web-browser', networkOf: 'web', restart: 'always', user: '1000:1000', ports: [],
      security: { readOnlyRootfs: true, dropAllCapabilities: true, noNewPrivileges: true, userNamespace: true },
      resources: { memoryBytes: 768 * 1_048_576, pids: 512 },
      labels: { 'dev.clawpod.browser-of': 'web', 'dev.clawpod.role': 'browser' },
    });
    // a sidecar is no agent: `clawpod ps`, gc and the pools never take it for one
    expect(s.labels['dev.clawpod.managed']).toBeUndefined();
    expect(s.mounts).toEqual([{ kind: 'tmpfs', target: '/tmp', sizeBytes: 256 * 1_048_576 }]);
    expect(s.command).toContain('--remote-debugging-port=9222');
    expect(s.command!.some((x) => x.startsWith('--proxy-server'))).toBe(false);
    expect(s.command!.some((x) => x.startsWith('--remote-debugging-address'))).toBe(false); // Chromium's default: 127.0.0.1
  });

  it('uses the agent\'s egress proxy (HTTPS_PROXY in its plan)', () => {
    const ag = planned(agent('network: bridge\nenv: [{ name: HTTPS_PROXY, value: "http://10.89.0.2:3128" }]\nbrowser: { enabled: true }'));
    const s = planSidecar(ag, { image: 'i', memoryBytes: 1, pids: 64 });
    expect(s.command).toContain('--proxy-server=http://10.89.0.2:3128');
    expect(chromiumArgs(undefined)).toContain('--no-sandbox');
  });

  it('no browser: nothing in the agent\'s env', () => {
    expect(planned(agent('network: bridge')).env.CLAWPOD_BROWSER_CDP).toBeUndefined();
  });

  it('the schema refuses a browser beside a gVisor agent (its loopback is inside its own kernel), and bad limits', () => {
    const bad = (body: string) => { try { agent(body); return ''; } catch (e) { return isClawpodError(e) ? `${e.message} ${(e.details ?? []).join(' ')}` : String(e); } };
    expect(bad('isolation: gvisor\nbrowser: { enabled: true }')).toMatch(/spec\.browser\.enabled.*isolation: runc/s);
    expect(bad('browser: { enabled: true, pids: 10 }')).toMatch(/spec\.browser\.pids/);
    expect(bad('browser: { enabled: true, cdp: 1 }')).toMatch(/cdp/);
  });

  it('the image tag follows the files: a changed size or mtime is a new tag', () => {
    const f = [{ path: '/usr/lib/chromium/chromium', host: '/x', size: 10, mtimeMs: 1, mode: 0o755 }];
    expect(contentHash(f, 'b/1')).toBe(contentHash([...f], 'b/1'));
    expect(contentHash(f, 'b/1')).not.toBe(contentHash([{ ...f[0]!, size: 11 }], 'b/1'));
    expect(contentHash(f, 'b/1')).not.toBe(contentHash(f, 'b/2'));
  });
});

describe('browser sidecar on Kubernetes', () => {
  it('a native sidecar (init container, restartPolicy Always) on the Pod\'s loopback, hardened, schema-valid', () => {
    const r = renderAgent(agent('browser: { enabled: true, image: registry.example.com/browser:156 }'), { mode: 'persistent' });
    for (const o of r.objects) modelsValidate(o);
    const pod = podOf(r.objects);
    expect(pod.containers).toHaveLength(1);
    expect(pod.containers[0]!.env).toContainEqual({ name: 'CLAWPOD_BROWSER_CDP', value: 'http://127.0.0.1:9222' });
    const b = pod.initContainers!.find((c) => c.name === 'browser')!;
    expect(b).toMatchObject({
      image: 'registry.example.com/browser:156', restartPolicy: 'Always',
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      resources: { limits: { memory: '1Gi' } },
    });
    expect(b.ports).toBeUndefined(); // nothing published: CDP stays on the Pod's loopback
    expect(b.command).toContain('--no-sandbox');
    expect(pod.volumes).toContainEqual({ name: 'browser-tmp', emptyDir: { medium: 'Memory', sizeLimit: '256Mi' } });
  });

  it('with spec.egress the browser uses the namespace\'s egress proxy, as the agent does', () => {
    const a = agent('browser: { enabled: true }');
    const withEgress = { ...a, spec: { ...a.spec, egress: { allow: ['example.com:443'], credentials: [] } } } as Agent;
    const pod = withBrowser(withEgress, { containers: [{ name: 'agent' }] }, 'kubernetes');
    expect(pod.initContainers![0]!.command).toContain('--proxy-server=http://clawpod-egress:3128');
    expect(withBrowser(a, { containers: [{ name: 'agent' }] }, 'kubernetes').initContainers![0]!.command!.some((x) => x.startsWith('--proxy-server'))).toBe(false);
  });

  it('podman kube play: a plain second container (Podman 4.3 knows no native sidecars); the default image is localhost/clawpod-browser:latest', () => {
    const pod = podOf(renderPodman(agent('browser: { enabled: true }'), { mode: 'persistent' }).objects);
    expect(pod.initContainers ?? []).toHaveLength(0);
    expect(pod.containers.map((c) => c.name)).toEqual([pod.containers[0]!.name, 'browser']);
    expect(pod.containers[1]).toMatchObject({ image: 'localhost/clawpod-browser:latest', imagePullPolicy: 'IfNotPresent' });
    expect(pod.containers[1]!.restartPolicy).toBeUndefined();
  });
});

describe('OpenClaw with spec.browser', () => {
  it('its browser tool attaches to the sidecar as a remote CDP profile', () => {
    const a = agent('profile: openclaw\nbrowser: { enabled: true }');
    const cfg = renderConfig(openclaw, a, { instance: 'web', secretsDir: '/run/secrets' }) as { browser?: Record<string, unknown> };
    expect(cfg.browser).toEqual({ enabled: true, attachOnly: true, defaultProfile: 'clawpod', profiles: { clawpod: { cdpUrl: 'http://127.0.0.1:9222' } } });
    const none = renderConfig(openclaw, agent('profile: openclaw'), { instance: 'web', secretsDir: '/run/secrets' }) as { browser?: unknown };
    expect(none.browser).toBeUndefined();
  });
});

describe('browser_open URL check', () => {
  it('opens http and https only', () => {
    expect(checkUrl('https://example.com/a').href).toBe('https://example.com/a');
    for (const u of ['file:///etc/passwd', 'chrome://settings', 'javascript:alert(1)', 'not a url']) expect(() => checkUrl(u)).toThrow();
  });
});
