// clawpod export / import end to end with real tools: `kubectl kustomize` builds the Kustomize
// export; the podman export runs under Podman 4.3's `podman kube play` (a Pod with a PVC starts
// from the agent image, writes to its volume, reads a Podman secret, answers on its host port);
// `clawpod import` of that file gives the spec back, and `clawpod run -d` of it runs locally.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentYaml, cleanup, clawpod, podman, ROOT, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { kubectlBin } from '../helpers/kube.js';

const P = uniquePrefix('kx');
const name = `${P}a`;
const dir = tmpDir();
const TOKEN = 'kube-play-token-value';
let hostPort = 0;
let spec = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

async function get(url: string, tries = 50): Promise<string> {
  for (let i = 0; ; i++) {
    try { return await (await fetch(url)).text(); } catch (e) {
      if (i >= tries) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function kubectl(args: string[]) {
  const r = spawnSync(kubectlBin(), args, { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  hostPort = await freePort();
  spec = writeSpec(dir, 'agent.yaml', agentYaml(name, [
    'image: localhost/clawpod-agent:latest',
    // write to the workspace, then serve like the demo agent
    `command: [sh, -c, 'echo "written in $WORKSPACE by $(id -u)" > /workspace/proof && exec node /opt/clawpod/hello-agent.mjs']`,
    'env: [{name: GREETING, value: from-kube-play}]',
    'secrets: [{name: TOKEN, source: env, secretRef: {name: KX_TOKEN}, exposeAs: env}]',
    `ports: [{containerPort: 8080, hostPort: ${hostPort}}]`,
    'network: bridge',
    'resources: {cpu: 500m, memory: 128Mi, pids: 64}',
    'labels: {team: qa}',
  ].join('\n')));
});

afterAll(() => {
  podman(['kube', 'down', join(dir, 'play.yaml')]);
  podman(['pod', 'rm', '-f', name]);
  podman(['volume', 'rm', '-f', `${name}-workspace`]);
  podman(['secret', 'rm', `${name}-secrets`]);
  cleanup(P);
});

describe('clawpod export --format kustomize', () => {
  it('builds with kubectl kustomize, base and overlay', async () => {
    const out = join(dir, 'kustomize');
    const r = await clawpod(['export', '-f', join(ROOT, 'examples/hello.yaml'), '--format', 'kustomize', '-o', out, '--namespace', 'team', '--mode', 'persistent']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^note: hello: /m);
    expect(readdirSync(join(out, 'base')).sort()).toEqual(['kustomization.yaml', 'networkpolicy-hello.yaml', 'service-hello.yaml', 'serviceaccount-hello.yaml', 'statefulset-hello.yaml']);

    const base = kubectl(['kustomize', join(out, 'base')]);
    expect(base.code, base.stderr).toBe(0);
    const overlay = kubectl(['kustomize', join(out, 'overlays/team')]);
    expect(overlay.code, overlay.stderr).toBe(0);
    const docs = parseAllDocuments(overlay.stdout).map((d) => d.toJS() as { kind: string; metadata: { namespace?: string; labels: Record<string, string> }; spec?: { selector?: { matchLabels?: Record<string, string> }; template?: { metadata: { labels: Record<string, string> } } } });
    expect(docs.map((d) => d.kind).sort()).toEqual(['NetworkPolicy', 'Service', 'ServiceAccount', 'StatefulSet']);
    for (const d of docs) {
      expect(d.metadata.namespace).toBe('team');
      expect(d.metadata.labels['clawpod.dev/overlay']).toBe('team');
    }
    const sts = docs.find((d) => d.kind === 'StatefulSet')!;
    expect(sts.spec!.template!.metadata.labels['clawpod.dev/overlay']).toBe('team');
    expect(sts.spec!.selector!.matchLabels).toEqual({ 'app.kubernetes.io/name': 'clawpod-agent', 'app.kubernetes.io/instance': 'hello' });

    // what Kustomize built imports back to the spec, without a warning
    const built = writeSpec(dir, 'built.yaml', overlay.stdout);
    const back = await clawpod(['--json', 'import', built]);
    expect(back.code, back.stderr).toBe(0);
    const hello = JSON.parse((await clawpod(['--json', 'validate', join(ROOT, 'examples/hello.yaml')])).stdout) as { agents: { spec: unknown }[] };
    expect(JSON.parse(back.stdout)).toEqual({ agents: [hello.agents[0]!.spec], warnings: [] });
  });

  it('builds for OpenShift with a Route, and a session Job with its PVC', async () => {
    const published = writeSpec(dir, 'pub.yaml', agentYaml(`${P}p`, 'ports: [{containerPort: 8080, hostIP: 0.0.0.0}]\nnetwork: bridge'));
    for (const extra of [['--openshift', '--mode', 'persistent'], ['--mode', 'session']]) {
      const out = join(dir, `k-${extra.join('')}`);
      const r = await clawpod(['export', '-f', published, '--format', 'kustomize', '-o', out, ...extra]);
      expect(r.code, r.stderr).toBe(0);
      const built = kubectl(['kustomize', join(out, 'overlays/default')]);
      expect(built.code, built.stderr).toBe(0);
      const kinds = parseAllDocuments(built.stdout).map((d) => (d.toJS() as { kind: string }).kind);
      expect(kinds).toContain(extra.includes('--openshift') ? 'Route' : 'Ingress');
      if (!extra.includes('--openshift')) expect(kinds).toEqual(expect.arrayContaining(['Job', 'PersistentVolumeClaim']));
    }
  });

  it('refuses kustomize without -o, with the fix', async () => {
    const r = await clawpod(['export', '-f', join(ROOT, 'examples/hello.yaml'), '--format', 'kustomize']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('fix: add -o DIR');
  });
});

describe('clawpod export --format podman, then import and run', () => {
  const play = () => join(dir, 'play.yaml');

  it('runs under podman kube play: the Pod starts, writes to its PVC volume, reads the Podman secret, serves on its host port', async () => {
    const r = await clawpod(['export', '-f', spec, '--format', 'podman', '-o', play()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Podman secret ${name}-secrets must hold the keys TOKEN`);
    // the documented way to give kube play a secretKeyRef: a JSON map of base64 values
    // (from a file: podman secret create - wants a FIFO on stdin, and Node's pipes are sockets)
    const secretFile = join(dir, 'secret.json');
    writeFileSync(secretFile, JSON.stringify({ TOKEN: Buffer.from(TOKEN).toString('base64') }), { mode: 0o600 });
    const created = podman(['secret', 'create', `${name}-secrets`, secretFile]);
    rmSync(secretFile);
    expect(created.code, created.stderr).toBe(0);

    const t0 = Date.now();
    const up = podman(['kube', 'play', play()]);
    expect(up.code, up.stderr).toBe(0);
    expect(await get(`http://127.0.0.1:${hostPort}/`)).toBeTruthy();
    process.stderr.write(`kube play → answering on :${hostPort} in ${Date.now() - t0} ms\n`);

    const ctr = `${name}-agent`;
    expect(podman(['exec', ctr, 'cat', '/workspace/proof']).stdout).toBe('written in /workspace by 1000\n');
    expect(podman(['exec', ctr, 'sh', '-c', 'echo "$GREETING $TOKEN"']).stdout).toBe(`from-kube-play ${TOKEN}\n`);
    // the hardening travelled: read-only root, no capabilities, no new privileges
    expect(podman(['exec', ctr, 'sh', '-c', 'touch /x 2>&1; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status']).stdout)
      .toMatch(/Read-only file system[\s\S]*CapEff:\s+0+\n[\s\S]*NoNewPrivs:\s+1/);
    // the PVC is a named volume holding what the agent wrote
    const mountpoint = podman(['volume', 'inspect', `${name}-workspace`, '--format', '{{.Mountpoint}}']).stdout.trim();
    expect(readFileSync(join(mountpoint, 'proof'), 'utf8')).toBe('written in /workspace by 1000\n');

    const down = podman(['kube', 'down', play()]);
    expect(down.code, down.stderr).toBe(0);
    expect(podman(['volume', 'rm', `${name}-workspace`]).code).toBe(0);
  });

  it('imports back to the same spec, which clawpod run -d runs locally', async () => {
    const imported = join(dir, 'imported.yaml');
    const r = await clawpod(['import', play(), '-o', imported]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const original = (await clawpod(['--json', 'validate', spec])).stdout;
    const again = (await clawpod(['--json', 'validate', imported])).stdout;
    expect((JSON.parse(again) as { agents: { spec: unknown }[] }).agents[0]!.spec).toEqual((JSON.parse(original) as { agents: { spec: unknown }[] }).agents[0]!.spec);
    expect(parse(readFileSync(imported, 'utf8'))).toMatchObject({ kind: 'Agent', metadata: { name } });

    const env = scratchEnv({ KX_TOKEN: TOKEN });
    const run = await clawpod(['run', '-d', '-f', imported], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(await get(`http://127.0.0.1:${hostPort}/`)).toBeTruthy();
    expect((await clawpod(['exec', name, 'cat', '/workspace/proof'], { env })).stdout).toBe('written in /workspace by 1000\n');
    const rm = await clawpod(['rm', '-f', '--volumes', name], { env });
    expect(rm.code, rm.stderr).toBe(0);
  });
});
