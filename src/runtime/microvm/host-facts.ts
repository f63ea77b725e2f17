// What the shim learns about the host's side of a container's mounts, with real file-system calls
// (kept apart from the shim, whose module runs as the OCI runtime when loaded).
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SourceFacts } from './vm-config.js';

export const hostFacts: SourceFacts = {
  isDir: (s) => { try { return statSync(s).isDirectory(); } catch { return false; } },
  sockets: (s) => {
    try {
      const st = lstatSync(s);
      if (st.isSocket()) return [''];
      if (!st.isDirectory()) return [];
      return readdirSync(s, { withFileTypes: true }).filter((d) => d.isSocket() && /^[A-Za-z0-9._@+-]+$/.test(d.name)).map((d) => d.name);
    } catch { return []; }
  },
  linkOn: (base, rel) => {
    const parts = rel.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      let st;
      try { st = lstatSync(join(base, p)); } catch { return undefined; } // not there: runc makes a directory
      if (st.isSymbolicLink()) return p;
    }
    return undefined;
  },
};
