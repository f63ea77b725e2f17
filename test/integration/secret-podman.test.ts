// The podman source against the real Podman service: plain secrets, the kube-play JSON shape, a
// missing secret. Secrets are created with the podman CLI and removed afterwards.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { formatError, type ClawpodError } from '../../src/errors.js';
import { redactor } from '../../src/secrets/redact.js';
import { resolveRef } from '../../src/secrets/resolve.js';
import { CONF, podman, uniquePrefix } from '../helpers/cli.js';

const prefix = uniquePrefix('sec');
const PLAIN = `${prefix}-plain`;
const NEWLINE = `${prefix}-newline`;
const KUBE = `${prefix}-kube`;
const VALUE = `podman-secret-${prefix}-Zx9`;
const created: string[] = [];
const config = loadConfig();
const ctx = { specDir: '/', config };

function createSecret(name: string, data: string): void {
  // as a user would: `printf %s VALUE | podman secret create NAME -`. Podman 4.3 wants a real pipe on
  // stdin, and Node's child stdio is a socketpair, so the shell makes the pipe; the value travels in env.
  const r = spawnSync('sh', ['-c', 'printf %s "$SECRET_DATA" | podman secret create "$1" -', 'sh', name], {
    encoding: 'utf8',
    env: { ...process.env, CONTAINERS_CONF: CONF, SECRET_DATA: data },
  });
  if (r.status !== 0) throw new Error(`podman secret create ${name}: ${r.stderr}`);
  created.push(name);
}

beforeAll(() => {
  createSecret(PLAIN, VALUE);
  createSecret(NEWLINE, `${VALUE}\n`);
  createSecret(KUBE, JSON.stringify({ password: Buffer.from(VALUE).toString('base64'), user: Buffer.from('bob').toString('base64'), plain: 'not base64!' }));
});

afterAll(() => {
  if (created.length) podman(['secret', 'rm', ...created]);
});

describe('podman source', () => {
  it('reads a Podman secret’s value and registers it with the redactor', async () => {
    expect(await resolveRef('podman', { name: PLAIN }, 'spec.secrets[0] (DB_PASSWORD)', ctx)).toBe(VALUE);
    expect(redactor.redact(`pw=${VALUE}`)).toBe('pw=[REDACTED:DB_PASSWORD]');
  });

  it('drops one trailing newline, like the file source', async () => {
    expect(await resolveRef('podman', { name: NEWLINE }, 'spec.secrets[0] (X)', ctx)).toBe(VALUE);
  });

  it('with secretRef.key, reads one base64 field of the JSON map podman kube play uses', async () => {
    expect(await resolveRef('podman', { name: KUBE, key: 'password' }, 'spec.secrets[0] (X)', ctx)).toBe(VALUE);
    expect(await resolveRef('podman', { name: KUBE, key: 'user' }, 'spec.secrets[1] (Y)', ctx)).toBe('bob');
    await expect(resolveRef('podman', { name: KUBE, key: 'nope' }, 'spec.secrets[0] (X)', ctx)).rejects.toMatchObject({
      code: 'SECRET_MISSING',
      message: expect.stringContaining('(keys: password, user, plain)'),
    });
    await expect(resolveRef('podman', { name: KUBE, key: 'plain' }, 'spec.secrets[0] (X)', ctx)).rejects.toMatchObject({ code: 'SECRET_INVALID', message: expect.stringContaining('not a base64 string') });
    await expect(resolveRef('podman', { name: PLAIN, key: 'password' }, 'spec.secrets[0] (X)', ctx)).rejects.toMatchObject({ code: 'SECRET_INVALID', message: expect.stringContaining('not a JSON object') });
  });

  it('a missing secret is SECRET_MISSING with the command that creates it', async () => {
    const name = `${prefix}-absent`;
    const err = await resolveRef('podman', { name }, 'spec.secrets[2] (API_TOKEN)', ctx).then(() => undefined, (e: ClawpodError) => e);
    expect(err?.code).toBe('SECRET_MISSING');
    expect(err?.message).toBe(`spec.secrets[2] (API_TOKEN) (podman ${name}): Podman has no secret named ${name}`);
    expect(formatError(err!)).toContain(`fix: printf %s VALUE | podman secret create ${name} -`);
  });
});
