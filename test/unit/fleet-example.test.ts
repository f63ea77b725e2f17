// examples/fleet.yaml is what the docs point a new user at: it must parse and derive.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFleet } from '../../src/fleet/load.js';
import { tenantAgent } from '../../src/fleet/derive.js';
import { renderTenant } from '../../src/fleet/kube-render.js';

describe('examples/fleet.yaml', () => {
  it('parses, derives an agent for every tenant, and renders for a cluster', () => {
    const f = parseFleet(readFileSync(new URL('../../examples/fleet.yaml', import.meta.url), 'utf8'), 'examples/fleet.yaml');
    expect(f.tenants.map((t) => t.metadata.name)).toEqual(['acme', 'globex', 'initech']);
    for (const t of f.tenants) {
      expect(tenantAgent(t, f.plans[0]).metadata.name).toBe(`tenant-${t.metadata.name}`);
      expect(renderTenant(t, f.plans[0]!).length).toBeGreaterThan(10);
    }
  });
});
