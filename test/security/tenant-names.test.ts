// F2 a tenant document's author names a tenant after what an upgrade or a replay of another tenant
// calls its containers (tenant-acme-previous, tenant-acme-replay), to have `recoverUpgrade` or a
// replay's clean-up put its container in acme's place or delete acme's data. Refused at parse time,
// before anything exists; the CLI says which names and why.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clawpod, scratchEnv, tmpDir } from '../helpers/cli.js';

describe('F2 tenant names that would take another tenant\'s containers', () => {
  it('refuses -previous and -replay names, and makes nothing', async () => {
    const dir = tmpDir();
    const f = join(dir, 'fleet.yaml');
    writeFileSync(f, `apiVersion: clawpod.dev/v1alpha1\nkind: Plan\nmetadata: {name: p}\n---\n${['acme-previous', 'acme-replay'].map((n) => `apiVersion: clawpod.dev/v1alpha1\nkind: Tenant\nmetadata: {name: ${n}}\nspec: {plan: p, profile: runner}\n`).join('---\n')}`);
    const env = scratchEnv({ CLAWPOD_DATA_DIR: join(dir, 'data') });
    const r = await clawpod(['tenant', 'apply', '-f', f], { env });
    expect(r.code).toBe(2);
    expect(r.stderr.match(/metadata\.name: got "acme-(previous|replay)", expected a name not ending in "-previous" or "-replay"/g)).toHaveLength(2);
    const create = await clawpod(['tenant', 'create', 'acme-previous', '--plan', 'p'], { env });
    expect(create.code).toBe(2);
    expect(create.stderr).toContain('expected a name not ending in "-previous" or "-replay"');
  });
});
