// clawpod's own reference runner (src/agent) in the agent image (images/agent): the default payload.
import { join } from 'node:path';
import type { StartDoc } from '../agent/protocol.js';
import { DEFAULTS } from '../spec/defaults.js';
import type { Agent } from '../spec/schema.js';
import type { Profile } from './types.js';

export const reference: Profile = {
  name: 'reference',
  summary: "clawpod's reference runner (clawpod-agent) and the hello agent",
  defaultVersion: 'latest',
  image: {
    dir: 'agent',
    nodeMajor: 20,
    tag: (v) => (v === 'latest' ? DEFAULTS.image : DEFAULTS.image.replace(/:latest$/, `:${v}`)),
    buildArgs: () => ({}),
    // the reference runner is built (npm run build), not checked in; COPY keeps the mode (`--chmod` needs BuildKit)
    contextFiles: (root) => [
      { to: 'clawpod-agent.mjs', candidates: [join(root, 'dist', 'agent', 'clawpod-agent.mjs')], hint: `run npm run build in ${root}, then build the image again`, mode: 0o755 },
      // the egress proxy (docs/egress.md) runs from the same image
      { to: 'clawpod-egress.mjs', candidates: [join(root, 'dist', 'egress', 'clawpod-egress.mjs')], hint: `run npm run build in ${root}, then build the image again`, mode: 0o755 },
    ],
  },
  specDefaults: (v) => ({ image: reference.image.tag(v) }),
  portStep: DEFAULTS.portStep,
};

/**
 * StartDoc `tools.shell` for a spec with spec.tools.shell.ssh: the runner gets the files its key and
 * known_hosts secrets are delivered to (/run/secrets/NAME), never their contents.
 */
export function runnerShell(spec: Agent['spec']): NonNullable<StartDoc['tools']>['shell'] | undefined {
  const ssh = spec.tools?.shell?.ssh;
  if (!ssh) return undefined;
  const file = (name: string): string => `${DEFAULTS.secretsMountPath}/${name}`;
  return { ssh: { host: ssh.host, port: ssh.port, user: ssh.user, keyFile: file(ssh.key), knownHostsFile: file(ssh.knownHosts), ...(ssh.workdir ? { workdir: ssh.workdir } : {}) } };
}
