// The exec source with real scripts in a scratch folder, and the source registry through resolveRef.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { ClawpodError, formatError } from '../../src/errors.js';
import { redactor } from '../../src/secrets/redact.js';
import { resolveRef } from '../../src/secrets/resolve.js';
import { EXEC_MAX_OUTPUT_BYTES, EXEC_TIMEOUT_MS, createExecSource, execSource, parseCommand } from '../../src/secrets/sources/exec.js';
import type { SecretRef } from '../../src/secrets/sources/types.js';

const VALUE = 'exec-secret-9f8e7d6c5b4a';
let dir: string;
let config: Config;

function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

function ctx(where = 'spec.secrets[0] (TOKEN) (exec test)') {
  return { where, specDir: dir, config };
}

/** The error a source throws, as a user would read it (message, details, hint). */
async function failure(ref: SecretRef, source = execSource): Promise<{ err: ClawpodError; text: string }> {
  try {
    await source.resolve(ref, ctx());
  } catch (e) {
    if (!(e instanceof ClawpodError)) throw e;
    return { err: e, text: `${formatError(e)}${JSON.stringify(e.toJSON())}` };
  }
  throw new Error('expected the source to fail');
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawpod-exec-'));
  script('good.sh', `cat > "${'$'}0.request"; env > "${'$'}0.env"; pwd > "${'$'}0.pwd"\nprintf '{"protocolVersion":1,"values":{"value":"${VALUE}","other":"x"}}'`);
  script('byid.sh', `printf '{"protocolVersion":1,"values":{"%s":"${VALUE}-%s"}}' "${'$'}1" "${'$'}2"`);
  script('fails.sh', `printf '{"protocolVersion":1,"values":{"value":"${VALUE}"}}'\necho "vault said: token ${VALUE} rejected" >&2\nexit 3`);
  script('garbage.sh', `echo "${VALUE}"\necho "oops ${VALUE}" >&2`);
  script('noid.sh', `printf '{"protocolVersion":1,"values":{"something":"${VALUE}"}}'`);
  script('errentry.sh', `printf '{"protocolVersion":1,"values":{},"errors":{"value":{"message":"not found in vault"}}}'`);
  script('v2.sh', `printf '{"protocolVersion":2,"values":{"value":"${VALUE}"}}'`);
  script('number.sh', `printf '{"protocolVersion":1,"values":{"value":42}}'`);
  script('sleeps.sh', `echo "${VALUE}"\nsleep 30`);
  script('huge.sh', `printf '{"protocolVersion":1,"values":{"value":"'\nhead -c ${EXEC_MAX_OUTPUT_BYTES + 10} /dev/zero | tr '\\0' a`);
  script('longerr.sh', `echo "$(head -c 2000 /dev/zero | tr '\\0' e)" >&2\nexit 1`);
  writeFileSync(join(dir, 'notexec.sh'), '#!/bin/sh\necho\n');
  // the host's allowlist (outside the spec's folder) lists these scripts: an exec source runs nothing else
  const configDir = join(dir, 'host-config');
  mkdirSync(configDir);
  writeFileSync(join(configDir, 'mount-allowlist.json'), JSON.stringify({ allowedRoots: [], allowedExecCommands: readdirSync(dir).filter((n) => n.endsWith('.sh')).map((n) => join(dir, n)) }));
  config = loadConfig({ PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/nonexistent-home', CLAWPOD_CONFIG_DIR: configDir, CLAWPOD_SOME_TOKEN: 'parent-only-value' });
});

describe('exec source', () => {
  it('sends the request on stdin and returns the value for the default id "value"', async () => {
    const p = join(dir, 'good.sh');
    expect(await execSource.resolve({ name: p }, ctx())).toBe(VALUE);
    expect(JSON.parse(readFileSync(`${p}.request`, 'utf8'))).toEqual({ protocolVersion: 1, provider: 'clawpod', ids: ['value'] });
    expect(readFileSync(`${p}.pwd`, 'utf8').trim()).toBe(dir);
  });

  it('gives the command PATH and HOME only, none of clawpod’s own environment', async () => {
    const p = join(dir, 'good.sh');
    await execSource.resolve({ name: p }, ctx());
    const env = readFileSync(`${p}.env`, 'utf8');
    expect(env).toContain('PATH=/usr/local/bin:/usr/bin:/bin');
    expect(env).toContain('HOME=/nonexistent-home');
    expect(env).not.toContain('CLAWPOD_SOME_TOKEN');
    const names = env.trim().split('\n').map((l) => l.split('=')[0]);
    expect(names.filter((n) => !['PATH', 'HOME', 'PWD', 'SHLVL', 'OLDPWD', '_'].includes(n!))).toEqual([]);
  });

  it('takes args as a JSON array or split on whitespace, relative to the spec folder, and asks for secretRef.key', async () => {
    expect(await execSource.resolve({ name: '["./byid.sh", "arg with spaces", "b"]', key: 'arg with spaces' }, ctx())).toBe(`${VALUE}-b`);
    expect(await execSource.resolve({ name: './byid.sh db/password c', key: 'db/password' }, ctx())).toBe(`${VALUE}-c`);
    expect(parseCommand('["a", 1]')).toBeUndefined();
    expect(parseCommand('[]')).toBeUndefined();
    expect(parseCommand('  /bin/x  -y ')).toEqual(['/bin/x', '-y']);
  });

  it('a non-zero exit names the ref, the command and the code; stderr is shown redacted, stdout never', async () => {
    const { err, text } = await failure({ name: './fails.sh' });
    expect(err.code).toBe('SECRET_MISSING');
    expect(err.message).toContain('spec.secrets[0] (TOKEN)');
    expect(err.message).toContain(join(dir, 'fails.sh'));
    expect(err.message).toContain('exited with code 3');
    expect(err.details.join('\n')).toContain('vault said: token [REDACTED:exec stdout] rejected');
    expect(text).not.toContain(VALUE);
  });

  it('output that is not JSON is SECRET_INVALID and not shown', async () => {
    const { err, text } = await failure({ name: './garbage.sh' });
    expect(err.code).toBe('SECRET_INVALID');
    expect(err.message).toMatch(/did not print a JSON object/);
    expect(err.details.join('\n')).toContain('oops [REDACTED:exec stdout]');
    expect(text).not.toContain(VALUE);
  });

  it('a missing id lists the ids returned (names, not values)', async () => {
    const { err, text } = await failure({ name: './noid.sh' });
    expect(err.code).toBe('SECRET_MISSING');
    expect(err.message).toContain('returned no value for "value" (it returned: "something")');
    expect(err.hint).toContain('secretRef.key defaults to "value"');
    expect(text).not.toContain(VALUE);
  });

  it('an error entry for the id is reported with its message', async () => {
    const { err } = await failure({ name: './errentry.sh' });
    expect(err.code).toBe('SECRET_MISSING');
    expect(err.message).toContain('reported an error for "value": not found in vault');
  });

  it('a wrong protocol version or a non-string value is SECRET_INVALID', async () => {
    for (const name of ['./v2.sh', './number.sh']) {
      const { err, text } = await failure({ name });
      expect(err.code).toBe('SECRET_INVALID');
      expect(text).not.toContain(VALUE);
    }
  });

  it(`kills a command that outlives the time limit (default ${EXEC_TIMEOUT_MS / 1000} s), with what it started`, async () => {
    expect(EXEC_TIMEOUT_MS).toBe(10_000);
    const t0 = Date.now();
    const { err, text } = await failure({ name: './sleeps.sh' }, createExecSource({ timeoutMs: 400 }));
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(err.code).toBe('SECRET_MISSING');
    expect(err.message).toContain('did not finish within 0.4 s');
    expect(text).not.toContain(VALUE);
  });

  it('kills a command whose output passes the cap', async () => {
    const { err, text } = await failure({ name: './huge.sh' });
    expect(err.code).toBe('SECRET_INVALID');
    expect(err.message).toContain(`more than ${EXEC_MAX_OUTPUT_BYTES} bytes`);
    expect(text.length).toBeLessThan(2000);
  });

  it('cuts stderr to 300 characters', async () => {
    const { err } = await failure({ name: './longerr.sh' });
    expect(err.details[0]!.length).toBeLessThanOrEqual('stderr: '.length + 301);
  });

  it('a missing or non-executable command says so', async () => {
    expect((await failure({ name: './nope.sh' })).err).toMatchObject({ code: 'SECRET_MISSING', message: expect.stringContaining(`no command at ${join(dir, 'nope.sh')}`) });
    expect((await failure({ name: './notexec.sh' })).err).toMatchObject({ code: 'SECRET_INVALID', hint: expect.stringContaining('chmod +x') });
    expect((await failure({ name: '["a",' })).err.code).toBe('SECRET_INVALID');
  });
});

describe('the source registry (resolveRef)', () => {
  it('loads exec on first use and registers the value with the process-wide redactor under the secret’s name', async () => {
    const v = await resolveRef('exec', { name: './good.sh' }, 'spec.secrets[3] (GH_TOKEN)', { specDir: dir, config });
    expect(v).toBe(VALUE);
    expect(redactor.redact(`token ${VALUE}`)).toBe('token [REDACTED:GH_TOKEN]');
    const w = await resolveRef('exec', { name: './byid.sh k z', key: 'k' }, 'spec.models.claude.apiKey', { specDir: dir, config });
    expect(redactor.redact(w)).toBe('[REDACTED:spec.models.claude.apiKey]');
  });

  it('prefixes errors with the ref and lists the sources for an unknown one', async () => {
    await expect(resolveRef('exec', { name: './noid.sh' }, 'spec.secrets[0] (X)', { specDir: dir, config })).rejects.toThrow(/^spec\.secrets\[0\] \(X\) \(exec \.\/noid\.sh\): /);
    await expect(resolveRef('nope', { name: 'x' }, 'spec.secrets[0] (X)', { specDir: dir, config })).rejects.toMatchObject({
      code: 'SECRET_INVALID',
      hint: expect.stringMatching(/env, file.*exec.*podman/),
    });
  });
});
