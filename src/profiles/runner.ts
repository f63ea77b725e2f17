// clawpod's reference runner as a long-running chat service (`clawpod-agent serve`, src/agent/serve.ts):
// the agent image of the `reference` profile, an OpenAI-compatible endpoint on 8080 guarded by a
// gateway token generated per instance, state (config, conversation log, workspace) on the
// instance's volume, and the model behind clawpod's LLM gateway — no provider key inside.
import { reference } from './reference.js';
import type { Profile } from './types.js';

const PORT = 8080;
const HOME = '/home/agent';

const field = (key: string) => (b: unknown): boolean => typeof b === 'object' && b !== null && (b as Record<string, unknown>)[key] === true;

export const runner: Profile = {
  name: 'runner',
  summary: "clawpod's reference runner as a long-running chat service (HTTP), for tenants and fleets",
  defaultVersion: 'latest',
  // the same image as `reference`: serve mode is a subcommand of the one runner bundle
  image: reference.image,
  specDefaults: (v) => ({
    image: runner.image.tag(v),
    command: ['node', '/opt/clawpod/bin/clawpod-agent', 'serve'],
    network: 'bridge',
    ports: [{ name: 'http', containerPort: PORT }],
    // HOME: the runner reads .clawpod/runner.json and appends .clawpod/conversations.jsonl here
    workspace: { mountPath: HOME, size: '1Gi' },
    resources: { cpu: '1', memory: '256Mi', pids: 256 },
  }),
  portStep: 10,
  probes: {
    port: PORT,
    health: { path: '/healthz', ok: field('ok') },
    // ready only once the model is wired: a runner without one answers every chat with 503
    ready: { path: '/readyz', ok: field('ready') },
  },
  startupBudget: '1m',
  config: {
    file: '.clawpod/runner.json',
    // llm.baseUrl is containerGatewayUrl's (src/ops/payload.ts): no /v1 for anthropic (the runner's
    // client posts to BASE/v1/messages), with /v1 for openai (it posts to BASE/chat/completions)
    render: (ctx) => ({
      port: PORT,
      gatewayTokenFile: `${ctx.secretsDir}/gateway-token`,
      ...(ctx.llm ? { llm: { baseUrl: ctx.llm.baseUrl, api: ctx.llm.api, model: ctx.llm.model, tokenFile: ctx.llm.tokenFile } } : {}),
      ...(ctx.shell ? { shell: ctx.shell } : {}),
    }),
  },
  generatedSecrets: [{ name: 'gateway-token', vaultName: (i) => `runner-${i}-gateway-token`, label: 'gateway token' }],
  service: true,
  // the model endpoint, its token file and the service's own token and port: clawpod's to set
  // shell: spec.tools.shell.ssh, so config.values cannot point bash at another host than the spec names
  forcedConfig: ['llm', 'gatewayTokenFile', 'port', 'shell'],
  egress: 'https',
};
