// Asks a unix socket whether an Engine API answers, and whose (Podman or Docker).
// Plain node:http so discovery stays cheap on the hot path of every command.
import { request } from 'node:http';

export interface ProbeResult {
  readonly kind: 'podman' | 'docker';
  readonly version: string;
}

export function probeSocket(socketPath: string, timeoutMs = 2000): Promise<ProbeResult | undefined> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/version', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          const v = JSON.parse(body) as { Version?: string; Components?: { Name?: string }[]; Platform?: { Name?: string } };
          const names = [v.Platform?.Name ?? '', ...(v.Components ?? []).map((c) => c.Name ?? '')].join(' ');
          resolve({ kind: /podman/i.test(names) ? 'podman' : 'docker', version: v.Version ?? 'unknown' });
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => { req.destroy(); resolve(undefined); });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}
