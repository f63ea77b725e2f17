// Host ports for instance i: base + step·i, checked against what actually holds ports.
import { DEFAULTS } from '../spec/defaults.js';
import { ClawpodError } from '../errors.js';
import type { PortSpec } from '../spec/schema.js';
import type { PortBinding } from '../runtime/runtime.js';

export type HolderLookup = (hostIP: string, port: number) => Promise<string | undefined>;

const MAX_AUTO_TRIES = 50;

export async function allocatePorts(
  ports: readonly PortSpec[], index: number, holder: HolderLookup, say: (s: string) => void, step: number = DEFAULTS.portStep,
): Promise<PortBinding[]> {
  const out: PortBinding[] = [];
  const taken = new Set<number>();
  for (const [i, p] of ports.entries()) {
    const base = p.hostPort === 'auto' ? p.containerPort : p.hostPort;
    let port = base + step * index;
    for (let tries = 0; ; tries++) {
      if (port > 65535) throw new ClawpodError('PORT_TAKEN', `spec.ports[${i}]: no free host port from ${base + step * index} upwards in steps of ${step}`, { hint: 'set hostPort to a free port' });
      const who = taken.has(port) ? 'another port of this agent' : await holder(p.hostIP, port);
      if (!who) break;
      if (p.hostPort !== 'auto') {
        throw new ClawpodError('PORT_TAKEN', `spec.ports[${i}]: host port ${p.hostIP}:${port} (instance ${index}: ${base} + ${step}·${index}) is held by ${who}`, {
          hint: `stop ${who}, choose another hostPort, or set hostPort: auto`,
        });
      }
      if (tries >= MAX_AUTO_TRIES) throw new ClawpodError('PORT_TAKEN', `spec.ports[${i}]: ${MAX_AUTO_TRIES} host ports from ${base} were all taken`, { hint: 'set hostPort to a free port' });
      say(`host port ${port} is held by ${who}; trying ${port + step}`);
      port += step;
    }
    taken.add(port);
    out.push({ containerPort: p.containerPort, hostPort: port, hostIP: p.hostIP, protocol: p.protocol });
  }
  return out;
}
