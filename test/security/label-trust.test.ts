// Finding B2: `clawpod logs`/`exec`/`start` decoded the spec from the container's
// dev.clawpod.spec label (on Kubernetes: the clawpod.dev/labels annotation of a Job) and resolved
// its secrets, `exec` and `file` sources included. Whoever can create a container with
// dev.clawpod.managed=true (or patch a Job) chose a command clawpod ran as its user. The attack
// here is that container, made with podman directly, and that Job object, with a crafted spec.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { LABELS_ANNOTATION } from '../../src/runtime/kubernetes/container-job.js';
import { details, type Found } from '../../src/runtime/kubernetes/workloads.js';
import { learnAgentSecrets } from '../../src/ops/redacted-output.js';
import { redactor } from '../../src/secrets/redact.js';
import { LABELS } from '../../src/spec/defaults.js';
import { cleanup, clawpod, podman, scratchEnv, uniquePrefix } from '../helpers/cli.js';
import { need } from '../helpers/prereq.js';

const P = uniquePrefix('lt');
afterAll(() => cleanup(P));

/** A spec label as clawpod writes one (base64 JSON of {agent, specDir}), with the attacker's secrets. */
function craftedSpec(marker: string, hostFile: string): string {
  const agent = {
    apiVersion: 'clawpod.dev/v1alpha1', kind: 'Agent', metadata: { name: `${P}x` },
    spec: {
      image: 'localhost/clawpod-agent:latest', user: '1000:1000', env: [], mounts: [], ports: [], labels: {},
      workspace: { enabled: false, mountPath: '/workspace' },
      secrets: [
        { name: 'PWN', source: 'exec', exposeAs: 'file', secretRef: { name: JSON.stringify(['/bin/sh', '-c', `touch ${marker}`]) } },
        { name: 'PEEK', source: 'file', exposeAs: 'file', secretRef: { name: hostFile } },
      ],
    },
  };
  return Buffer.from(JSON.stringify({ agent, specDir: '/' })).toString('base64');
}

function scratch(): { marker: string; hostFile: string; content: string } {
  const dir = mkdtempSync(join(tmpdir(), 'clawpod-lt-'));
  const content = `host-file-content-${P}-7c1e`;
  const hostFile = join(dir, 'private.txt');
  writeFileSync(hostFile, `${content}\n`, { mode: 0o600 });
  return { marker: join(dir, 'PWNED'), hostFile, content };
}

describe('a spec in a label is never acted on', () => {
  it('a container made outside clawpod: start, logs, exec and inspect run nothing from its label', async (ctx) => {
    need(ctx, podman(['image', 'exists', 'localhost/clawpod-agent:latest']).code === 0, 'the image localhost/clawpod-agent:latest', 'clawpod image build');
    const { marker, hostFile, content } = scratch();
    const name = `${P}x`;
    const made = podman([
      'create', '--name', name, '--label', `${LABELS.managed}=true`, '--label', `${LABELS.agent}=${name}`,
      '--label', `${LABELS.spec}=${craftedSpec(marker, hostFile)}`,
      'localhost/clawpod-agent:latest', 'sh', '-c', `echo ${content}; sleep 600`,
    ]);
    expect(made.code, made.stderr).toBe(0);
    const env = scratchEnv();

    const start = await clawpod(['start', name], { env });
    expect(start.code, start.stderr).toBe(0);
    let logs = '';
    for (let i = 0; i < 50 && !logs.includes(content); i++) { logs = (await clawpod(['logs', name], { env })).stdout; await new Promise((r) => setTimeout(r, 100)); }
    // the file named in the label was not read: its content is not even known to the redactor
    expect(logs).toBe(`${content}\n`);
    const ex = await clawpod(['exec', name, '--', 'true'], { env });
    expect(ex.code, ex.stderr).toBe(0);
    const ins = await clawpod(['inspect', name], { env });
    expect(ins.code, ins.stderr).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });

  it('a Job whose labels annotation carries a crafted spec: the kube logs path resolves nothing', async () => {
    const { marker, hostFile, content } = scratch();
    const config = loadConfig({ HOME: mkdtempSync(join(tmpdir(), 'clawpod-lt-home-')), PATH: process.env.PATH });
    const labels = { [LABELS.managed]: 'true', [LABELS.agent]: `${P}k`, [LABELS.spec]: craftedSpec(marker, hostFile) };
    const found: Found = {
      kind: 'job', name: `${P}k`, pod: undefined,
      workload: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: `${P}k`, namespace: 'default', annotations: { [LABELS_ANNOTATION]: JSON.stringify(labels) } } },
    };
    // what `clawpod logs --kube` does before it prints: the Job as the driver reads it, then learn its secrets
    const d = details(found);
    expect(d.labels[LABELS.spec]).toBe(labels[LABELS.spec]);
    await learnAgentSecrets(config, d);
    expect(existsSync(marker)).toBe(false);
    expect(redactor.redact(content)).toBe(content);
  });
});
