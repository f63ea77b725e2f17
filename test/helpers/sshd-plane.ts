// A control plane whose session agent runs its bash over SSH on a test sshd (test/helpers/sshd.ts):
// the key and known_hosts are spec.secrets (source env, from the plane's own environment), delivered
// as /run/secrets files, and named by spec.tools.shell.ssh.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clawpod, tmpDir } from './cli.js';
import { modelServer, planeYaml, startPlane, type MessageView, type Plane } from './control.js';
import { SSHD_PORT, SSHD_USER, SSHD_WORKDIR, type Sshd } from './sshd.js';
import type { ModelServer } from '../fixtures/model-server.js';

export interface SshPlane { readonly plane: Plane; readonly model: ModelServer; close(): Promise<void> }

export interface Asked { readonly m: MessageView; readonly events: { type: string; data: Record<string, unknown> }[] }

export const KEY_VAR = 'SSH_TEST_CLIENT_KEY';

/** Builds the agent image (a no-op when current), then starts a plane with one group, GROUP, whose agent reaches `sshd`. */
export async function startSshPlane(group: string, sshd: Sshd, knownHosts: string): Promise<SshPlane> {
  const b = await clawpod(['image', 'build'], { timeoutMs: 300_000 });
  if (b.code !== 0) throw new Error(`clawpod image build failed (run npm run build first):\n${b.stderr}`);
  const model = await modelServer();
  const dir = tmpDir();
  const agent = join(dir, 'agent.yaml');
  writeFileSync(agent, [
    'apiVersion: clawpod.dev/v1alpha1', 'kind: Agent', 'metadata: {name: session}', 'spec:',
    '  command: [clawpod-agent]',
    '  network: bridge',
    '  secrets:',
    `    - {name: ssh-key, source: env, secretRef: {name: ${KEY_VAR}}}`,
    '    - {name: ssh-known-hosts, source: env, secretRef: {name: SSH_TEST_KNOWN_HOSTS}}',
    '  tools:',
    `    shell: {ssh: {host: "${sshd.ip}", port: ${SSHD_PORT}, user: ${SSHD_USER}, key: ssh-key, knownHosts: ssh-known-hosts, workdir: ${SSHD_WORKDIR}}}`,
    '',
  ].join('\n'));
  // gateway.listen: a runner-profile instance (`clawpod run`) reaches the gateway over TCP
  const plane = await startPlane(planeYaml(model, { groups: [group], extra: `  agent: ${agent}\n  gateway: {listen: "0.0.0.0:0"}` }), undefined, { [KEY_VAR]: sshd.clientKey, SSH_TEST_KNOWN_HOSTS: knownHosts });
  return { plane, model, close: async () => { await plane.stop(); await model.close(); } };
}

/** Sends TEXT to GROUP and reads its events until the message ends. */
export async function ask(plane: Plane, group: string, text: string): Promise<Asked> {
  const events: Asked['events'] = [];
  let id = '';
  for await (const e of plane.client.send(group, text)) { events.push(e); if (e.type === 'queued') id = String(e.data.id); }
  return { m: await plane.client.call<MessageView>('GET', `/v1/messages/${id}`), events };
}

/** The output of the message's (first) tool call. */
export function toolResult(a: Asked): { output: string; isError: boolean } {
  const r = a.events.find((e) => e.type === 'tool_result');
  if (!r) throw new Error(`no tool_result among ${a.events.map((e) => e.type).join(', ')}`);
  return r.data as { output: string; isError: boolean };
}
