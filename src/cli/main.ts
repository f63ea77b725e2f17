// clawpod's command line: podman/kubectl-like verbs, one file each, loaded on demand so
// that `clawpod run` pays only for what it uses. Loaded by entry.ts for every command line but
// the common `run` forms, which start without commander (run-args.ts).
import { Command, Option } from 'commander';
import type { GlobalOptions } from './context.js';
import { registerFleet } from './fleet-commands.js';
import { invoke, report, type Handler } from './invoke.js';
import { GLOBAL_OPTIONS, RUN_ARGUMENT, RUN_OPTIONS } from './run-args.js';

/** `connect: true` starts finding the runtime while the verb's code loads (both take ~10 ms). */
function verb(load: () => Promise<{ default: Handler }>, opts: { connect?: boolean } = {}) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const o = cmd.opts<{ kube?: boolean; context?: string; namespace?: string }>();
    await invoke(cmd.optsWithGlobals<GlobalOptions>(), Boolean(opts.connect && !o.kube && !o.context && !o.namespace), load, args.slice(0, -1));
  };
}

const program = new Command('clawpod')
  .description('Run AI agents in hardened containers, from one spec')
  .version('0.1.0');
for (const o of GLOBAL_OPTIONS) program.option(o.flags, o.description);
program
  .enablePositionalOptions()
  .showHelpAfterError()
  .configureOutput({ outputError: (s, write) => write(s) });

program.command('validate').description('check agent spec files without running them')
  .argument('<files...>').action(verb(() => import('./validate.js')));

const run = program.command('run').description('create and start an agent from a spec, or a payload profile (clawpod run openclaw --name alice)')
  .argument(RUN_ARGUMENT.name, RUN_ARGUMENT.description);
for (const o of RUN_OPTIONS) run.option(o.flags, o.description);
run.action(verb(() => import('./run.js'), { connect: true }));

program.command('ps').description('list clawpod agents')
  .option('-a, --all', 'include stopped agents').action(verb(() => import('./ps.js'), { connect: true }));

program.command('logs').description("print an agent's output")
  .argument('<name>').option('-f, --follow', 'keep streaming').option('--tail <n>', 'only the last n lines', (v) => Number(v))
  .option('--egress', "its egress proxy's events instead (refusals: time, reason, via, target); spec.egress agents run locally")
  .option('--json', 'with --egress: one JSON object per line')
  .option('--kube', "the agent is in the kubeconfig's cluster (clawpod apply); implied by --context/-n")
  .option('--context <name>', 'kubeconfig context of the cluster').option('-n, --namespace <ns>', "namespace in the cluster (default: the context's)")
  .action(verb(() => import('./logs.js'), { connect: true }));

program.command('exec').description('run a command inside a running agent')
  .argument('<name>').argument('<command...>').option('-i, --interactive', 'pass stdin to the command')
  .option('--kube', "the agent is in the kubeconfig's cluster (clawpod apply); implied by --context/-n")
  .option('--context <name>', 'kubeconfig context of the cluster').option('-n, --namespace <ns>', "namespace in the cluster (default: the context's)")
  .passThroughOptions().action(verb(() => import('./exec.js'), { connect: true }));

program.command('stop').description('stop agents (state is kept)')
  .argument('<names...>').option('-t, --time <seconds>', 'seconds to wait before killing', (v) => Number(v))
  .action(verb(() => import('./stop.js'), { connect: true }));

program.command('start').description('start stopped agents').argument('<names...>').action(verb(() => import('./start.js'), { connect: true }));

program.command('rm').description('remove agents (their workspace volumes are kept unless --volumes)')
  .argument('<names...>').option('-f, --force', 'remove running agents too').option('--volumes', 'also delete the workspace volume')
  .action(verb(() => import('./rm.js'), { connect: true }));

program.command('inspect').description("show an agent's configuration and state as JSON")
  .argument('<name>').action(verb(() => import('./inspect.js'), { connect: true }));

program.command('upgrade').description("move a service agent (openclaw) to a new version: same volume and ports, health-gated, rolled back if unhealthy")
  .argument('<name>').option('--version <version>', "the payload version (its image is built when missing)")
  .option('--image <image>', 'an image to move to instead of the profile\'s tag for --version')
  .option('--timeout <duration>', 'startup budget of the new version (default: the profile\'s, 5m)')
  .action(verb(() => import('./upgrade.js'), { connect: true }));

program.command('backup').description("write an agent's state volume to a tar archive (a running agent is paused meanwhile)")
  .argument('<name>').option('-o, --output <file>', 'archive to write (default NAME-DATE.tar)')
  .action(verb(() => import('./backup.js').then((m) => ({ default: m.backup })), { connect: true }));

program.command('restore').description("replace an agent's state volume with a backup archive (restarts it if it was running)")
  .argument('<name>').requiredOption('-i, --input <file>', 'archive written by clawpod backup')
  .action(verb(() => import('./backup.js').then((m) => ({ default: m.restore })), { connect: true }));

registerFleet(program, verb as never);

const pool = program.command('pool').description('warm pools: started, idle agents of one spec or profile that `clawpod run` claims (docs/pools.md)');
const poolVerb = (name: 'fill' | 'list' | 'drain') => verb(() => import('./pool.js').then((m) => ({ default: m[name] })), { connect: true });
pool.command('fill').description('start warm members until SIZE are ready (a changed spec drains and rebuilds the pool)').argument('[profile]', 'a profile, like --profile')
  .option('--spec <file>', 'the agent spec members are made from; its metadata.name names the pool')
  .option('--profile <name>', "a payload profile's defaults (openclaw, reference); the pool is named after it")
  .option('--pool <name>', 'refill an existing pool from the spec it was filled with')
  .option('--size <n>', "members to keep ready (default: the pool's size, else 1)").option('--version <version>', "the profile's payload version (default: the profile's)")
  .action(poolVerb('fill'));
pool.command('ls').description('list pools, or the members of POOL').argument('[pool]').action(poolVerb('list'));
pool.command('rm').description("remove POOL: its unclaimed members, their volumes and tokens; claimed ones are instances and stay").argument('<pool>').action(poolVerb('drain'));

const volume = program.command('volume').description('the workspace/state volumes clawpod made (`clawpod rm` keeps them)');
volume.command('ls').alias('list').description('list them: agent, created, containers using them').action(verb(() => import('./volume-ls.js'), { connect: true }));
volume.command('rm').description('delete volumes clawpod made (one in use is refused)').argument('<names...>')
  .option('-f, --force', 'also remove the clawpod agents using it (another tool\'s container still refuses)')
  .action(verb(() => import('./volume-rm.js'), { connect: true }));

program.command('gc').description('destroy agents whose lifecycle.ttl has passed, with their volumes, secrets and tokens (what clawpod serve does on its own)')
  .option('--kube', "tenants in the kubeconfig's cluster whose ttl has passed: their namespaces (implied by --context)").option('--context <name>', 'kubeconfig context')
  .option('--activator-namespace <ns>', "namespace of clawpod's activator (default clawpod-system)")
  .action(verb(() => import('./gc.js')));

program.command('doctor').description('check the container runtime setup and say how to fix it')
  .action(verb(() => import('./doctor.js')));

program.command('bench').description('time to first reply on this machine: clawpod against the raw engine, for each isolation tier that works here and each path (cold run, wake from pause and from stop, warm-pool claim)')
  .option('--rounds <n>', 'timed rounds of each path (default 10)')
  .option('--paths <list>', 'cold, wake, warm, comma-separated (default all)')
  .option('--tiers <list>', 'runc, gvisor, microvm, comma-separated (default: those that work here)')
  .option('--json <file>', 'also write the report as JSON to this file')
  .action(verb(() => import('./bench.js'), { connect: true }));

program.command('export').description('write an agent spec as Kubernetes objects, a Kustomize folder or a podman kube play file')
  .requiredOption('-f, --file <file>', 'agent spec (YAML); - reads stdin')
  .option('--format <format>', 'kube (multi-document YAML), kustomize (folder: base/ and overlays/) or podman (podman kube play)', 'kube')
  .option('-o, --output <path>', 'file to write (a folder for kustomize); default stdout')
  .option('--namespace <ns>', 'namespace of the objects (kustomize: of the overlay)')
  .option('--openshift', 'leave uid/gid to the SCC, expose ports with a Route')
  .option('--mode <mode>', 'session (a Job) or persistent (a StatefulSet)', 'session')
  .option('--gateway-namespace <ns>', 'namespace of the clawpod gateway, which agents without network may reach')
  .option('--overlay <name>', 'kustomize overlay folder name (default: the namespace, else "default")')
  .option('--storage-class <name>', "StorageClass of the claims (default: the cluster's default)")
  .action(verb(() => import('./export.js')));

program.command('import').description('turn Kubernetes manifests (Pod, Deployment, StatefulSet, Job) into an agent spec')
  .argument('<file>', 'manifest file (multi-document YAML); - reads stdin')
  .option('-o, --output <file>', 'write the agent spec here instead of stdout')
  .action(verb(() => import('./import.js')));

program.command('apply').description('apply an agent spec to the Kubernetes cluster of the kubeconfig and wait until it is ready')
  .requiredOption('-f, --file <file>', 'agent spec (YAML); - reads stdin')
  .option('--context <name>', 'kubeconfig context (default: the current one)')
  .option('-n, --namespace <ns>', "namespace (default: the context's, else default); it must exist")
  .option('--create-namespace', 'create the namespace when it is missing')
  .option('--dry-run [mode]', 'server: validate and admit on the server, store nothing')
  .option('--mode <mode>', 'session (a Job) or persistent (a StatefulSet)', 'session')
  .option('--openshift', 'leave uid/gid to the SCC, expose ports with a Route (default: detected from the API groups)')
  .option('--no-openshift', 'render for plain Kubernetes even on OpenShift')
  .option('--gateway-namespace <ns>', 'namespace of the clawpod gateway, which agents without network may reach')
  .option('--storage-class <name>', "StorageClass of the claims; it must exist (default: the cluster's default)")
  .option('--wait [bool]', 'wait until the agent is ready (default; --wait=false or --no-wait to return at once)')
  .option('--no-wait', 'return once the objects are applied')
  .option('--timeout <duration>', 'how long to wait for readiness', '5m')
  .action(verb(() => import('./apply.js')));

program.command('delete').description("remove an agent's objects from the cluster (its claims are kept unless --volumes)")
  .argument('[names...]', 'agent names (instead of -f)')
  .option('-f, --file <file>', 'agent spec (YAML) naming the agents')
  .option('--context <name>', 'kubeconfig context (default: the current one)')
  .option('-n, --namespace <ns>', "namespace (default: the context's, else default)")
  .option('--volumes', 'also delete the PersistentVolumeClaims (workspace and data)')
  .action(verb(() => import('./delete.js')));

const image = program.command('image').description('build agent images');
image.command('build').description("build a payload profile's image (default: the reference agent), or a curated layer on top of an image")
  .option('--profile <name>', 'payload profile: reference (default) or openclaw')
  .option('--version <version>', "the payload's version (openclaw: an npm version; default: the profile's pinned one)")
  .option('--tag <tag>', 'image to produce (default: the profile\'s, e.g. localhost/clawpod-agent:latest, localhost/clawpod-openclaw:VERSION)')
  .option('--base <image>', 'base image (default: official Node image, or one built from a Node binary when no registry answers)')
  .option('--from <image>', 'image to add layers to (a team image, or the agent image)')
  .addOption(new Option('--add <dir>', 'folder with skills/, tools/, mcp/, bin/ to add (repeatable)').argParser((v: string, prev: string[] = []) => [...prev, v]))
  .action(verb(() => import('./image-build.js')));

const secret = program.command('secret').description('the encrypted secrets vault (read by specs with source: vault)');
const secretVerb = (name: 'set' | 'get' | 'list' | 'rm' | 'rotate') => verb(() => import('./secret.js').then((m) => ({ default: m[name] })));
secret.command('set').description('store a secret, read from stdin (a hidden prompt on a terminal), --from-file or --from-env').argument('<name>')
  .option('--from-file <file>', 'read the value from a file (one trailing newline dropped)')
  .option('--from-env <var>', 'read the value from an environment variable')
  .action(secretVerb('set'));
secret.command('get').description('print a secret (to a pipe or file; on a terminal only with --show)').argument('<name>')
  .option('--show', 'print it on a terminal too').action(secretVerb('get'));
secret.command('list').alias('ls').description('list entries: names and dates, no values').action(secretVerb('list'));
secret.command('rm').description('delete an entry').argument('<name>').action(secretVerb('rm'));
secret.command('rotate').description('re-encrypt every entry under a new key (default: a new random key in the current key file)')
  .option('--new-key-file <file>', 'lock the vault with this key file (created, mode 0600, when missing)')
  .option('--new-passphrase-env <var>', 'lock the vault with the passphrase in this environment variable')
  .action(secretVerb('rotate'));

program.command('serve').description('run the control plane: message queue, sessions, HTTP API')
  .option('-f, --file <file>', 'ControlPlane spec (YAML): models, groups, limits')
  .option('--listen <host:port>', 'address of the HTTP API (default 127.0.0.1:7878)')
  .option('--max-concurrent <n>', 'most session containers at once', (v) => Number(v))
  .action(verb(() => import('./serve.js'), { connect: true }));

program.command('activator').description("wake tenants in a cluster on a request: scale an idle tenant's StatefulSet to 0 and back to 1 (deploy/activator/)")
  .option('--listen <host:port>', 'address of the front (default 0.0.0.0:8080)')
  .option('-n, --namespace <ns>', "namespace of the routes ConfigMap (default: the Pod's own, else clawpod-system)")
  .option('--context <name>', 'kubeconfig context of the cluster (in a Pod: its ServiceAccount)')
  .option('--config-map <name>', 'the routes ConfigMap (default clawpod-activator-routes)')
  .option('--wake-timeout <duration>', 'how long a request is held while its tenant wakes, then 503 + Retry-After (default 30s)')
  .option('--interval <duration>', 'how often idle tenants are checked (default 10s)')
  .action(verb(() => import('./activator.js')));

program.command('send').description('send a message to a group and stream the answer')
  .argument('<group>').argument('<text...>').option('--no-wait', 'print the message id and return')
  .action(verb(() => import('./send.js')));

program.command('chat').description('talk with a group interactively').argument('<group>')
  .action(verb(() => import('./chat.js')));

program.command('mcp').description("an MCP server with clawpod's sandbox tools (sandbox_create, sandbox_exec, sandbox_files_*, …) for Claude Code, OpenClaw and other MCP clients: stdio, or streamable HTTP with --http")
  .option('--http <host:port>', 'serve streamable HTTP at http://HOST:PORT/mcp; each client sends its own bearer token')
  .action(verb(() => import('./mcp.js')));

const group = program.command('group').description('groups of the control plane');
group.command('ls').description('list groups and their sessions').action(verb(() => import('./group.js').then((m) => ({ default: m.list }))));
group.command('revoke').description("revoke the gateway tokens of a group's sessions").argument('<name>')
  .option('--reason <text>', 'recorded with the revocation and shown to the agent')
  .action(verb(() => import('./group.js').then((m) => ({ default: m.revoke }))));
group.command('token').description('issue a gateway token for an agent of this group (printed once)').argument('<name>')
  .action(verb(() => import('./group.js').then((m) => ({ default: m.token }))));
group.command('usage').description("a group's model usage in the current budget period").argument('<name>')
  .action(verb(() => import('./group.js').then((m) => ({ default: m.usage }))));
group.command('add').description('add or update a group').argument('<name>')
  .requiredOption('--model <name>', 'a model defined in the ControlPlane file').option('--system <prompt>', 'system prompt')
  .action(verb(() => import('./group.js').then((m) => ({ default: m.add }))));
group.command('history').description("a group's stored conversation: turns and summaries").argument('<name>')
  .option('--json', 'export it as one JSON object')
  .action(verb(() => import('./group.js').then((m) => ({ default: m.history }))));
group.command('forget').description("delete a group's stored conversation (turns and summaries); its next session starts with none").argument('<name>')
  .option('--json', 'print what was deleted as JSON')
  .action(verb(() => import('./group.js').then((m) => ({ default: m.forget }))));

const schedule = program.command('schedule').description('prompts sent to a group on a cron schedule, kept by clawpod serve (docs/schedules.md)');
const scheduleVerb = (name: 'add' | 'list' | 'rm') => verb(() => import('./schedule.js').then((m) => ({ default: m[name] })));
schedule.command('add').description('send PROMPT to GROUP whenever CRON matches; runs are queued like messages').argument('<group>').argument('<prompt...>')
  .requiredOption('--cron <expr>', 'five fields (minute hour day month weekday), e.g. "0 9 * * 1-5"; or six with seconds first')
  .option('--tz <zone>', 'IANA time zone the expression is read in (default UTC)')
  .option('--missed <policy>', 'a run missed while clawpod serve was down: skip (default) or once')
  .option('--name <name>', 'a name to know it by').action(scheduleVerb('add'));
schedule.command('ls').alias('list').description('list schedules: next and last run, from the file or the API').action(scheduleVerb('list'));
schedule.command('rm').description('remove schedules made with schedule add, by id').argument('<ids...>').action(scheduleVerb('rm'));

const channel = program.command('channel').description('chat channels of clawpod serve (Telegram, Slack, webhook) and which chat reaches which group (docs/channels.md)');
const channelVerb = (name: 'list' | 'bind' | 'unbind') => verb(() => import('./channel.js').then((m) => ({ default: m[name] })));
channel.command('ls').alias('list').description('list channels: state (down: why), bound chats and their groups').action(channelVerb('list'));
channel.command('bind').description("send CHAT's messages (a Telegram chat id, a Slack channel id) to GROUP's agent").argument('<channel>').argument('<chat>').argument('<group>').action(channelVerb('bind'));
channel.command('unbind').description('stop passing a chat\'s messages on (it gets the "not connected" answer)').argument('<channel>').argument('<chat>').action(channelVerb('unbind'));

const token = program.command('token').description("the control plane's API tokens, each with a scope: admin, metrics, group:NAME, tenant:NAME or sandbox:OWNER");
token.command('create').description('make a token (its value is printed once)')
  .requiredOption('--scope <scope>', 'admin | metrics | group:NAME | tenant:NAME | sandbox:OWNER').option('--name <name>', 'what it is for (shown by token ls)')
  .option('--max-sandboxes <n>', 'sandbox:OWNER: sandboxes at once (default 5)').option('--cpus <x>', 'sandbox:OWNER: cores per sandbox (default 1)')
  .option('--memory <q>', 'sandbox:OWNER: memory per sandbox (default 512Mi)').option('--pids <n>', 'sandbox:OWNER: processes per sandbox (default 256)')
  .action(verb(() => import('./token.js').then((m) => ({ default: m.create }))));
token.command('ls').alias('list').description('list tokens: id, scope, name, dates (never a value)').action(verb(() => import('./token.js').then((m) => ({ default: m.list }))));
token.command('revoke').description('revoke tokens by id').argument('<ids...>').action(verb(() => import('./token.js').then((m) => ({ default: m.revoke }))));

program.parseAsync(process.argv).catch((e: unknown) => {
  process.exitCode = report(e);
});
