// The fleet verbs (plan, tenant, fleet), registered apart from main.ts to keep it readable.
import type { Command } from 'commander';

type Loader = () => Promise<{ default: (...a: never[]) => Promise<number | void> }>;
type VerbFn = (load: Loader, opts?: { connect?: boolean }) => (...args: unknown[]) => Promise<void>;

export function registerFleet(program: Command, verb: VerbFn): void {
  const t = (name: keyof typeof import('./tenant.js')) => verb(() => import('./tenant.js').then((m) => ({ default: m[name] as never })), { connect: true });
  const f = (name: 'upgrade' | 'status') => verb(() => import('./fleet.js').then((m) => ({ default: m[name] })), { connect: true });
  const timeout = ['--timeout <duration>', "startup budget of each tenant's payload (default: the profile's; 10m in a cluster)"] as const;
  /** The cluster forms: the kubeconfig's cluster, one namespace per tenant. */
  const kube = (c: Command, full = true) => {
    c.option('--kube', "tenants in the kubeconfig's cluster (implied by --context)").option('--context <name>', 'kubeconfig context');
    if (full) {
      c.option('--gateway-url <url>', "where tenant Pods reach clawpod's LLM gateway (plans with models), e.g. http://clawpod.clawpod:7879")
        .option('--gateway-namespace <ns>', "namespace of clawpod's control plane, for the tenants' egress policy (default clawpod)")
        .option('--gateway-port <port>', "the gateway's port there (default 7879)")
        .option('--ingress-class <class>', 'ingressClassName of tenant Ingresses').option('--ingress-namespace <ns>', 'namespace of the ingress controller (default ingress-nginx)')
        .option('--cluster-issuer <name>', 'cert-manager ClusterIssuer for tenant TLS (default letsencrypt)').option('--openshift', 'render Routes and OpenShift policies (default: detected)')
        .option('--activator-namespace <ns>', "namespace of clawpod's activator, which scales idle tenants to 0 and wakes them (plans with lifecycle.idle; default clawpod-system)");
    }
    return c;
  };

  program.command('plan').description('plans tenants are provisioned on (kind: Plan in a fleet file)')
    .command('ls').alias('list').description('list the plans clawpod knows, with their limits and tenants').action(t('plans'));

  const tenant = program.command('tenant').description('tenants: one isolated assistant per customer, on a plan');
  kube(tenant.command('apply').description('provision or update every Plan and Tenant of a file (hundreds at once)')
    .requiredOption('-f, --file <file>', 'fleet file: kind Plan and kind Tenant documents; - reads stdin')
    .option('--concurrency <n>', 'tenants provisioned at once (default 4)').option(...timeout)).action(t('apply'));
  tenant.command('create').description('provision one tenant on a known plan').argument('<name>')
    .requiredOption('--plan <plan>', 'a plan from `clawpod plan ls`').option('--profile <profile>', 'payload profile (default openclaw)')
    .option('--version <version>', "payload version (default: the profile's)").option('--owner <owner>', 'who the tenant belongs to')
    .option('--domain <domain>', 'the tenant answers at NAME.DOMAIN (clusters)').option(...timeout).action(t('create'));
  kube(tenant.command('ls').alias('list').description('list tenants: plan, version, phase, URL'), false).action(t('list'));
  kube(tenant.command('status').description("each tenant's phase and what it waits on (exit 1 unless all are Ready)").argument('[names...]'), false).action(t('status'));
  tenant.command('update').description("move a tenant to another plan or version (same volumes; gated and rolled back like an upgrade)").argument('<name>')
    .option('--plan <plan>', 'the new plan').option('--version <version>', 'the new payload version').option(...timeout).action(t('update'));
  kube(tenant.command('delete').alias('rm').description('delete tenants and everything they own: containers, volumes, network, tokens (in a cluster: the namespace)').argument('<names...>'), false).action(t('remove'));
  tenant.command('chat').description("send one message to a tenant's payload (recorded for canary replays)").argument('<name>').argument('<message...>').action(t('chat'));

  const fleet = program.command('fleet').description('operations over many tenants');
  fleet.command('upgrade').description('rolling upgrade: canaries first, then N at a time, each gated on readiness and a chat round trip; halts and rolls back on the first failure')
    .requiredOption('--version <version>', 'the payload version to move to').option('--selector <k=v,...>', 'only tenants matching (plan, profile, version, owner, labels)')
    .option('--max-unavailable <n>', 'tenants upgraded at once (default 1)').option('--canary <k>', 'tenants upgraded (and replayed) before the rest (default 1)')
    .option('--replay-threshold <share>', 'share of replayed canary turns that may diverge (default 0.2)').option(...timeout);
  kube(fleet.commands.at(-1)!.option('-f, --file <file>', 'with --kube: the fleet file the tenants were applied from')).action(f('upgrade'));
  fleet.command('status').description('the last rollout: each tenant\'s state (exit 1 when it halted)').action(f('status'));
}
