// Curated images on real Podman: a team layer on the agent image, a personal layer on the
// team image; files land read-only under /opt/clawpod and tools are on PATH.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clawpod, podman, scratchEnv, tmpDir, uniquePrefix } from '../helpers/cli.js';

const P = uniquePrefix('img');
const env = scratchEnv();
const dir = tmpDir();
const TEAM = `localhost/${P}-team:1`;
const MINE = `localhost/${P}-mine:1`;
afterAll(() => { podman(['rmi', '-f', MINE, TEAM]); });

function layer(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), body);
    if (rel.startsWith('bin/')) chmodSync(join(root, rel), 0o755);
  }
  return root;
}

describe('clawpod image build --from --add', () => {
  it('stacks a team layer and a personal layer', async () => {
    const team = layer('team', { 'skills/review.md': '# approved review skill\n', 'bin/team-tool': '#!/bin/sh\necho team tool ok\n', 'mcp/servers.json': '{"fs":{}}\n' });
    const mine = layer('mine', { 'skills/notes.md': '# my notes skill\n' });
    const t = await clawpod(['image', 'build', '--from', 'localhost/clawpod-agent:latest', '--add', team, '--tag', TEAM], { env });
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toContain(`building ${TEAM} FROM localhost/clawpod-agent:latest + team`);
    const m = await clawpod(['--json', 'image', 'build', '--from', TEAM, '--add', mine, '--tag', MINE], { env });
    expect(m.code, m.stderr).toBe(0);
    expect(JSON.parse(m.stdout)).toMatchObject({ tag: MINE, base: TEAM });

    const labels = JSON.parse(podman(['image', 'inspect', MINE, '--format', '{{json .Labels}}']).stdout);
    expect(labels['dev.clawpod.layers']).toBe('team,mine');

    const out = podman(['run', '--rm', '--user', '1000:1000', MINE, 'sh', '-c',
      'team-tool; cat /opt/clawpod/skills/review.md /opt/clawpod/skills/notes.md /opt/clawpod/mcp/servers.json; touch /opt/clawpod/skills/x 2>&1 || echo not-writable; id -u']);
    expect(out.stdout).toMatch(/^team tool ok\n# approved review skill\n# my notes skill\n\{"fs":\{\}\}\n.*\nnot-writable\n1000\n$/s);
  });

  it('refuses a layer folder with a secret in it, or with an unknown entry', async () => {
    const leaky = layer('leaky', { 'tools/.env': 'TOKEN=x\n' });
    const r = await clawpod(['image', 'build', '--from', 'localhost/clawpod-agent:latest', '--add', leaky, '--tag', `localhost/${P}-leaky:1`], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('.env');
    expect(podman(['image', 'exists', `localhost/${P}-leaky:1`]).code).not.toBe(0);

    const odd = layer('odd', { 'skill/x.md': 'x' });
    const r2 = await clawpod(['image', 'build', '--from', 'localhost/clawpod-agent:latest', '--add', odd, '--tag', `localhost/${P}-odd:1`], { env });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('did you mean "skills"');
  });

  it('names a missing --from image', async () => {
    const r = await clawpod(['image', 'build', '--from', `localhost/${P}-absent:1`, '--add', layer('x', { 'skills/a.md': 'a' }), '--tag', `localhost/${P}-y:1`], { env });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`localhost/${P}-absent:1`);
  });
});
