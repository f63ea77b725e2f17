// Several instances of one spec: names NAME, NAME-1, NAME-2 and host ports base + 10·i,
// checked against ports really in use; a clash names the holder and leaves nothing behind.
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { agentYaml, cleanup, clawpod, IDLE_COMMAND, leftovers, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';

const P = uniquePrefix('in');
const env = scratchEnv();
const dir = tmpDir();
// a base far from the demo's 18789 so a running demo does not interfere
const BASE = 28_000 + (process.pid % 500) * 10;

afterAll(() => cleanup(P));

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

describe('instances and host ports', () => {
  it('gives instances distinct names and ports base+10·i', async () => {
    const spec = writeSpec(dir, 'multi.yaml', agentYaml(`${P}m`, `${IDLE_COMMAND}\nworkspace: {enabled: false}\nnetwork: bridge\nports: [{containerPort: 8080, hostPort: ${BASE}}]`));
    const got: { name: string; ports: { hostPort: number }[] }[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await clawpod(['--json', 'run', '-d', '-f', spec], { env });
      expect(r.code, r.stderr).toBe(0);
      got.push(JSON.parse(r.stdout));
    }
    expect(got.map((g) => [g.name, g.ports[0]!.hostPort])).toEqual([[`${P}m`, BASE], [`${P}m-1`, BASE + 10], [`${P}m-2`, BASE + 20]]);

    // removing the middle one frees index 1; the next run takes it again
    expect((await clawpod(['rm', '-f', `${P}m-1`], { env })).code).toBe(0);
    const r = await clawpod(['--json', 'run', '-d', '-f', spec], { env });
    expect(JSON.parse(r.stdout)).toMatchObject({ name: `${P}m-1`, ports: [{ hostPort: BASE + 10 }] });

    // --name picks the name; the port still follows the instance index
    const named = await clawpod(['--json', 'run', '-d', '--name', `${P}named`, '-f', spec], { env });
    expect(JSON.parse(named.stdout)).toMatchObject({ name: `${P}named`, ports: [{ hostPort: BASE + 30 }] });
    cleanup(`${P}m`); cleanup(`${P}named`);
  });

  it('names a host process holding the port and leaves nothing behind', async () => {
    const port = BASE + 200;
    const holder = await listen(port);
    try {
      const spec = writeSpec(dir, 'clash.yaml', agentYaml(`${P}clash`, `${IDLE_COMMAND}\nnetwork: bridge\nports: [{containerPort: 8080, hostPort: ${port}}]`));
      const r = await clawpod(['run', '-d', '-f', spec], { env });
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(`127.0.0.1:${port}`);
      expect(r.stderr).toContain(`process ${process.pid}`);
      expect(r.stderr).toContain('fix:');
      expect(leftovers(`${P}clash`)).toEqual({ containers: [], volumes: [] });
    } finally { holder.close(); }
  });

  it('names the container holding the port', async () => {
    const port = BASE + 300;
    const a = writeSpec(dir, 'a.yaml', agentYaml(`${P}x`, `${IDLE_COMMAND}\nworkspace: {enabled: false}\nnetwork: bridge\nports: [{containerPort: 8080, hostPort: ${port}}]`));
    const b = writeSpec(dir, 'b.yaml', agentYaml(`${P}y`, `${IDLE_COMMAND}\nnetwork: bridge\nports: [{containerPort: 9090, hostPort: ${port}}]`));
    expect((await clawpod(['run', '-d', '-f', a], { env })).code).toBe(0);
    const r = await clawpod(['run', '-d', '-f', b], { env });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`container ${P}x`);
    expect(leftovers(`${P}y`)).toEqual({ containers: [], volumes: [] });
  });

  it('hostPort: auto picks a free port', async () => {
    const spec = writeSpec(dir, 'auto.yaml', agentYaml(`${P}auto`, `${IDLE_COMMAND}\nworkspace: {enabled: false}\nnetwork: bridge\nports: [{containerPort: 8080, hostPort: auto}]`));
    const r = await clawpod(['--json', 'run', '-d', '-f', spec], { env });
    expect(r.code, r.stderr).toBe(0);
    const port = (JSON.parse(r.stdout) as { ports: { hostPort: number }[] }).ports[0]!.hostPort;
    expect(port).toBeGreaterThan(1023);
  });
});
