// What an agent prints of its own secrets is redacted by `clawpod logs` and `clawpod exec`,
// raw and base64-encoded.
import { afterAll, expect, it } from 'vitest';
import { agentYaml, cleanup, clawpod, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';

const P = uniquePrefix('rd');
afterAll(() => cleanup(P));

it('redacts an agent\'s secrets in logs and exec output', async () => {
  const value = `tok-${P}-s3cr3t-value`;
  const env = scratchEnv({ RD_TOKEN: value });
  const spec = writeSpec(tmpDir(), 'a.yaml', agentYaml(`${P}a`, [
    'command: [sh, -c, "cat /run/secrets/TOKEN; echo; echo b64: $(base64 /run/secrets/TOKEN); sleep 600"]',
    'secrets: [{name: TOKEN, source: env, secretRef: {name: RD_TOKEN}}]',
  ].join('\n')));
  expect((await clawpod(['run', '-d', '-f', spec], { env })).code).toBe(0);
  let logs = '';
  for (let i = 0; i < 50 && !logs.includes('b64'); i++) { logs = (await clawpod(['logs', `${P}a`], { env })).stdout; await new Promise((r) => setTimeout(r, 100)); }
  expect(logs).toBe('[REDACTED:TOKEN]\nb64: [REDACTED:TOKEN]\n');
  const ex = await clawpod(['exec', `${P}a`, 'cat', '/run/secrets/TOKEN'], { env });
  expect(ex).toMatchObject({ code: 0, stdout: '[REDACTED:TOKEN]' });
  expect(ex.stdout + ex.stderr + logs).not.toContain(value);
});
