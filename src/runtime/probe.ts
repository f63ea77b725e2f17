// Asks a unix socket whether an Engine API answers, and whose (Podman or Docker).
// GET /_ping answers in milliseconds (Podman's /version takes ~0.3 s: it asks conmon and
// the OCI runtime), and its headers say who is speaking. Plain node:http keeps it cheap.
import { request } from 'node:http';

export interface ProbeResult {
  readonly kind: 'podman' | 'docker';
  readonly version: string;
}

export function probeSocket(socketPath: string, timeoutMs = 2000): Promise<ProbeResult | undefined> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      const libpod = res.headers['libpod-api-version'];
      const server = String(res.headers.server ?? '');
      if (res.statusCode !== 200) return resolve(undefined);
      if (typeof libpod === 'string') return resolve({ kind: 'podman', version: libpod });
      const docker = /Docker\/(\S+)/.exec(server)?.[1];
      resolve({ kind: 'docker', version: docker ?? String(res.headers['api-version'] ?? 'unknown') });
    });
    req.on('timeout', () => { req.destroy(); resolve(undefined); });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}
