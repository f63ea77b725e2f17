// clawpod's own reference runner (src/agent) in the agent image (images/agent): the default payload.
import { join } from 'node:path';
import { DEFAULTS } from '../spec/defaults.js';
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
    contextFiles: (root) => [{ to: 'clawpod-agent.mjs', candidates: [join(root, 'dist', 'agent', 'clawpod-agent.mjs')], hint: `run npm run build in ${root}, then build the image again`, mode: 0o755 }],
  },
  specDefaults: (v) => ({ image: reference.image.tag(v) }),
  portStep: DEFAULTS.portStep,
};
