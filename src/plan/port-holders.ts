// Who holds a host port: a container (by name), else a host process (pid and command,
// read from /proc/net/tcp* and /proc/*/fd), else "something we cannot see".
import { createServer } from 'node:net';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { ContainerInfo } from '../runtime/runtime.js';

/** Resolves true when hostIP:port can be bound right now. */
export function canBind(hostIP: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: hostIP, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try { text = readFileSync(f, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const localPort = parseInt(cols[1]!.split(':')[1] ?? '', 16);
      if (localPort === port && cols[3] === '0A') inodes.add(cols[9]!);
    }
  }
  return inodes;
}

export function hostProcessOnPort(port: number): string | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try { fds = readdirSync(`/proc/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      let link: string;
      try { link = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) {
        let cmd = '?';
        try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 80); } catch { /* gone */ }
        return `process ${pid} (${cmd})`;
      }
    }
  }
  return 'a process this user cannot see';
}

/** A description of who holds hostIP:port, or undefined when it is free. */
export async function portHolder(hostIP: string, port: number, running: readonly ContainerInfo[]): Promise<string | undefined> {
  const c = running.find((r) => r.ports.some((p) => p.hostPort === port));
  if (c) return `container ${c.name}${c.labels['dev.clawpod.agent'] ? ` (clawpod agent ${c.labels['dev.clawpod.agent']})` : ''}`;
  if (await canBind(hostIP, port)) return undefined;
  return hostProcessOnPort(port) ?? 'an unknown holder';
}
