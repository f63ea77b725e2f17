// NetworkPolicy enforcement on the harness node (scripts/kube-harness-netpol.sh: kube-router,
// firewall only) and the probes the enforcement tests run inside Pods. The shared node runs
// without enforcement (other files reach this machine's gateway from agents whose policies would
// forbid it); a file that tests policies turns it on for its own run and off again at the end.
import { execFile, spawnSync } from 'node:child_process';
import { kubectlBin, KUBE_HARNESS, type Kube } from './kube.js';
import { runScript } from './harness.js';

/** Turns enforcement on for this cluster; returns how to turn it off. An external cluster is taken as enforcing already. */
export async function enforcePolicies(kube: Kube): Promise<() => Promise<void>> {
  if (!kube.dir) return async () => {};
  const on = await runScript(KUBE_HARNESS, ['netpol', kube.dir, 'start'], process.env, true);
  if (on.code !== 0) throw new Error(`scripts/kube-harness.sh netpol ${kube.dir} start failed (exit ${on.code}):\n${on.stderr.slice(-3000)}`);
  return async () => { await runScript(KUBE_HARNESS, ['netpol', kube.dir, 'stop'], process.env, false); };
}

/**
 * Builds the enforcer ahead (one-time, minutes), so that no single hook's time-out covers both it
 * and a node start. With CLAWPOD_KUBE_BUILD=0 nothing is built: exit code 3 ("unavailable") then.
 */
export async function buildEnforcer(): Promise<{ code: number; stderr: string }> {
  if (process.env.CLAWPOD_KUBE_BUILD === '0') {
    const paths = spawnSync('bash', [KUBE_HARNESS, 'paths'], { encoding: 'utf8' }).stdout ?? '';
    if (!/^kube-router=\S+$/m.test(paths)) return { code: 3, stderr: 'kube-router not built and CLAWPOD_KUBE_BUILD=0; run scripts/kube-harness.sh netpol - build' };
  }
  return runScript(KUBE_HARNESS, ['netpol', '-', 'build'], process.env, true);
}

/**
 * A Pod that passes the restricted Pod Security Standard (tenant namespaces enforce it), running
 * `node -e script` from the agent image with the given labels.
 */
export function probePod(ns: string, name: string, labels: Record<string, string>, script: string): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels },
    spec: {
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 0,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'probe', image: 'localhost/clawpod-agent:latest', imagePullPolicy: 'IfNotPresent',
        command: ['node', '-e', script],
        resources: { limits: { cpu: '100m', memory: '64Mi' }, requests: { cpu: '10m', memory: '32Mi' } },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
      }],
    },
  };
}

/** An HTTP server answering `NAME` on each port, for probePod. */
export const serveScript = (name: string, ports: readonly number[]) =>
  `for (const p of ${JSON.stringify(ports)}) require('http').createServer((q, s) => s.end(${JSON.stringify(name)})).listen(p)`;

/**
 * From inside a Pod: GET url, print the body, or the error code (ETIMEDOUT after `ms`). A denied
 * connection is dropped or rejected by the enforcer: the probe then prints an error code. Async:
 * the test's own servers answer from this process's event loop meanwhile.
 */
export function fetchFrom(kube: Kube, ns: string, pod: string, url: string, ms = 2500): Promise<string> {
  const js = `const r = require('http').get(${JSON.stringify(url)}, (s) => { let b = ''; s.on('data', (d) => b += d); s.on('end', () => console.log(b)); });
r.setTimeout(${ms}, () => { console.log('ETIMEDOUT'); process.exit(0); }); r.on('error', (e) => console.log(e.code || e.message));`;
  return new Promise((resolve, reject) => {
    execFile(kubectlBin(), ['--kubeconfig', kube.kubeconfig, '-n', ns, 'exec', pod, '--', 'node', '-e', js], { encoding: 'utf8', timeout: ms + 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl exec ${ns}/${pod}: ${stderr || err.message}`));
      else resolve(stdout.trim());
    });
  });
}

/** Polls `probe` until it gives `want` (a policy takes effect a moment after its Pods and objects exist); the last answer. */
export async function eventually(probe: () => Promise<string>, want: (s: string) => boolean, ms = 20_000): Promise<string> {
  const end = Date.now() + ms;
  let got = await probe();
  while (!want(got) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    got = await probe();
  }
  return got;
}
