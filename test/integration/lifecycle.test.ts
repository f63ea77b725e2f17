// run / ps / logs / exec / stop / start / rm on real Podman, and the workspace volume that
// outlives the container until `rm --volumes`.
import { afterAll, describe, expect, it } from 'vitest';
import { agentYaml, cleanup, clawpod, leftovers, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';

const P = uniquePrefix('lc');
const env = scratchEnv();
const dir = tmpDir();
const name = `${P}a`;
const spec = writeSpec(dir, 'agent.yaml', agentYaml(name, [
  'image: localhost/clawpod-agent:latest',
  'env: [{name: GREETING, value: hi-from-test}]',
  'resources: {cpu: 250m, memory: 128Mi, pids: 64}',
  'labels: {team: qa}',
].join('\n')));

afterAll(() => cleanup(P));

const run = (...a: string[]) => clawpod(a, { env });

describe('agent lifecycle on Podman', () => {
  it('runs detached, lists, logs and execs', async () => {
    const r = await run('run', '-d', '-f', spec);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(name);
    expect(r.stdout).toContain(`clawpod-${name}-workspace`);

    const ps = await run('--json', 'ps');
    const row = (JSON.parse(ps.stdout) as { name: string; state: string; agent: string }[]).find((x) => x.name === name);
    expect(row).toMatchObject({ state: 'running', agent: name });

    // the demo agent prints its banner once listening
    let logs = '';
    for (let i = 0; i < 50 && !logs.includes('listening'); i++) {
      logs = (await run('logs', name)).stdout;
      if (!logs.includes('listening')) await new Promise((res) => setTimeout(res, 100));
    }
    expect(logs).toContain('hello-agent listening on :8080');

    const id = await run('exec', name, 'id', '-u');
    expect(id).toMatchObject({ code: 0, stdout: '1000\n' });
    const env = await run('exec', name, 'sh', '-c', 'echo $GREETING $WORKSPACE');
    expect(env.stdout).toBe('hi-from-test /workspace\n');
    const failing = await run('exec', name, 'sh', '-c', 'exit 7');
    expect(failing.code).toBe(7);
  });

  it('keeps the workspace across stop, start, rm and re-create; rm --volumes deletes it', async () => {
    expect((await run('exec', name, 'sh', '-c', 'echo kept > /workspace/note.txt')).code).toBe(0);

    expect((await run('stop', '-t', '1', name)).code).toBe(0);
    const stopped = JSON.parse((await run('--json', 'ps', '-a')).stdout) as { name: string; state: string }[];
    expect(stopped.find((x) => x.name === name)?.state).toMatch(/exited|stopped/);
    expect(JSON.parse((await run('--json', 'ps')).stdout).some((x: { name: string }) => x.name === name)).toBe(false);

    expect((await run('start', name)).code).toBe(0);
    expect((await run('exec', name, 'cat', '/workspace/note.txt')).stdout).toBe('kept\n');

    const running = await run('rm', name);
    expect(running.code).toBe(2);
    expect(running.stderr).toContain(`clawpod rm -f ${name}`);

    const rm = await run('rm', '-f', name);
    expect(rm.code).toBe(0);
    expect(rm.stderr).toContain(`kept workspace volume clawpod-${name}-workspace`);
    expect(leftovers(P)).toEqual({ containers: [], volumes: [`clawpod-${name}-workspace`] });

    const again = await run('run', '-d', '-f', spec);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`reusing workspace volume clawpod-${name}-workspace`);
    expect((await run('exec', name, 'cat', '/workspace/note.txt')).stdout).toBe('kept\n');

    expect((await run('rm', '-f', '--volumes', name)).code).toBe(0);
    expect(leftovers(P)).toEqual({ containers: [], volumes: [] });
  });

  it('runs attached: output streams and the exit code is the agent\'s', async () => {
    const s = writeSpec(dir, 'once.yaml', agentYaml(`${P}once`, [
      'command: [sh, -c, "echo out; echo err >&2; exit 3"]',
      'workspace: {enabled: false}',
    ].join('\n')));
    const r = await run('run', '--rm', '-f', s);
    expect(r).toMatchObject({ code: 3, stdout: 'out\n' });
    expect(r.stderr).toContain('err');
    expect(leftovers(`${P}once`)).toEqual({ containers: [], volumes: [] });
  });

  it('says which agent does not exist', async () => {
    const r = await run('stop', `${P}nope`);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`${P}nope`);
    expect(r.stderr).toContain('clawpod ps -a');
  });
});
