// The SSH sandbox's pure parts: known_hosts matching and verdicts, the remote command line, the
// StartDoc check, the spec's rules and the StartDoc the control plane derives from a spec.
// The real client against a real sshd: test/integration/ssh-sandbox.test.ts.
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BadInput, parseStartDoc } from '../../src/agent/start-doc.js';
import { checkHostKey, fingerprint, hostKeyAlgorithms, keysFor, knownHostsName } from '../../src/agent/tools/known-hosts.js';
import { remoteCommand } from '../../src/agent/tools/ssh.js';
import { ClawpodError } from '../../src/errors.js';
import { runnerShell } from '../../src/profiles/reference.js';
import { parseAgents } from '../../src/spec/parse.js';

/** A key blob as a server sends it: string type, then key material. */
function blob(type: string): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, randomBytes(36)]);
}
const A = blob('ssh-ed25519');
const B = blob('ssh-ed25519');
const R = blob('ssh-rsa');
const line = (hosts: string, b: Buffer, marker = ''): string => `${marker}${marker ? ' ' : ''}${hosts} ${b.subarray(4, 4 + b.readUInt32BE(0)).toString()} ${b.toString('base64')}`;
const hashed = (name: string): string => {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
};

describe('known_hosts', () => {
  it('names hosts as ssh does and matches plain, hashed, wildcard and negated patterns', () => {
    expect(knownHostsName('h.example', 22)).toBe('h.example');
    expect(knownHostsName('10.0.0.5', 2222)).toBe('[10.0.0.5]:2222');
    const text = [
      '# comment', '',
      line('h.example,other', A),
      line(hashed('[10.0.0.5]:2222'), B),
      line('*.lab,!secret.lab', R),
      'garbage line',
    ].join('\n');
    expect(keysFor(text, 'h.example').map((k) => k.blob)).toEqual([A]);
    expect(keysFor(text, 'H.EXAMPLE').map((k) => k.blob)).toEqual([A]);
    expect(keysFor(text, '[10.0.0.5]:2222').map((k) => k.blob)).toEqual([B]);
    expect(keysFor(text, '10.0.0.5')).toEqual([]);
    expect(keysFor(text, 'gpu.lab').map((k) => k.type)).toEqual(['ssh-rsa']);
    expect(keysFor(text, 'secret.lab')).toEqual([]);
    // a dot in a pattern is a dot, not "any character"
    expect(keysFor(line('h.example', A), 'hXexample')).toEqual([]);
  });

  it('accepts only a listed key; unknown, changed and revoked keys are refused with host and fingerprint', () => {
    const known = keysFor(`${line('h', A)}\n${line('h', B, '@revoked')}\n${line('h', A, '@cert-authority')}`, 'h');
    expect(known).toHaveLength(2);
    expect(checkHostKey(known, A, 'h', 'KH')).toEqual({ ok: true });
    const changed = checkHostKey(known, R, 'h', 'KH');
    expect(changed).toMatchObject({ ok: false, reason: expect.stringContaining(`the host key of h does not match KH: it showed ssh-rsa ${fingerprint(R)}, known_hosts has ssh-ed25519 ${fingerprint(A)}; nothing was run`) });
    expect(checkHostKey(known, B, 'h', 'KH')).toMatchObject({ ok: false, reason: expect.stringContaining('is marked @revoked in KH') });
    expect(checkHostKey([], A, '[h]:2222', 'KH')).toMatchObject({ ok: false, reason: expect.stringMatching(/^host \[h\]:2222 is not in KH .*ssh-keyscan -p 2222 HOST/) });
    expect(fingerprint(A)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('offers the host key algorithms of the known keys', () => {
    expect(hostKeyAlgorithms(keysFor(`${line('h', A)}\n${line('h', R)}`, 'h'))).toEqual(['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  });
});

describe('the remote command', () => {
  it('quotes the workdir and the command for any POSIX login shell', () => {
    expect(remoteCommand(`echo 'hi' $HOME`, "/srv/it's")).toBe(`cd '/srv/it'\\''s' || exit 126; exec /bin/sh -c 'echo '\\''hi'\\'' $HOME'`);
    expect(remoteCommand('true', undefined)).toBe(`exec /bin/sh -c 'true'`);
  });
});

const doc = (ssh: unknown): string => JSON.stringify({
  type: 'start', protocol: 1, sessionId: 's', nonce: 'n', message: { id: 'm', text: 't' }, model: { provider: 'openai', model: 'm' },
  workspace: '/workspace', input: { mode: 'stdin' }, tools: { shell: { ssh } },
});

describe('StartDoc tools.shell.ssh', () => {
  it('takes a target and lists every bad field', () => {
    expect(parseStartDoc(doc({ host: 'h', user: 'u', keyFile: '/k', knownHostsFile: '/kh' })).tools?.shell?.ssh?.host).toBe('h');
    expect(() => parseStartDoc(doc({ host: '', port: 70000, user: 'u', keyFile: 'k', knownHostsFile: '/kh', workdir: 'rel' }))).toThrow(BadInput);
    try { parseStartDoc(doc({ host: '', port: 70000, user: 'u', keyFile: 'k', knownHostsFile: '/kh', workdir: 'rel' })); } catch (e) {
      const m = (e as Error).message;
      for (const f of ['tools.shell.ssh.host', 'tools.shell.ssh.port', 'tools.shell.ssh.keyFile', 'tools.shell.ssh.workdir']) expect(m).toContain(f);
      expect(m).not.toContain('tools.shell.ssh.knownHostsFile');
    }
  });
});

const spec = (extra: string, network = 'bridge', exposeAs = 'file'): string => `apiVersion: clawpod.dev/v1alpha1
kind: Agent
metadata: {name: demo}
spec:
  network: ${network}
  secrets:
    - {name: ssh-key, source: vault, secretRef: {name: k}, exposeAs: ${exposeAs}}
    - {name: kh, source: vault, secretRef: {name: kh}}
  tools:
    shell:
      ssh: {host: build.example.com, user: agent, key: ssh-key, knownHosts: ${extra}}
`;

function problems(yaml: string): string[] {
  try { parseAgents(yaml, 'agent.yaml'); } catch (e) {
    expect(e).toBeInstanceOf(ClawpodError);
    return [...(e as ClawpodError).details];
  }
  throw new Error('expected the spec to be rejected');
}

describe('spec.tools.shell.ssh', () => {
  it('becomes the StartDoc target with the secrets\' file paths', () => {
    const [a] = parseAgents(spec('kh'), 'agent.yaml');
    expect(runnerShell(a!.agent.spec)).toEqual({ ssh: { host: 'build.example.com', port: 22, user: 'agent', keyFile: '/run/secrets/ssh-key', knownHostsFile: '/run/secrets/kh' } });
  });

  it('refuses network none, an unknown secret and a key in env, naming path, value and fix', () => {
    expect(problems(spec('kh', 'none')).join('\n')).toMatch(/spec\.network: got "none", expected "bridge" when spec\.tools\.shell\.ssh is set: the agent reaches build\.example\.com:22 over the network \(set network: bridge\)/);
    expect(problems(spec('nope')).join('\n')).toMatch(/spec\.tools\.shell\.ssh\.knownHosts: got "nope", expected the name of a spec\.secrets entry; add \{ name: nope/);
    expect(problems(spec('kh', 'bridge', 'env')).join('\n')).toMatch(/spec\.tools\.shell\.ssh\.key: got "ssh-key", expected a secret delivered as a file: .*exposeAs: env, which inspect shows/);
  });
});
