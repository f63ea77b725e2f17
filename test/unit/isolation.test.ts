// Each tier accepts only its own runtimes, as the engine reports them (a name, or a registered path).
import { describe, expect, it } from 'vitest';
import { isolationMismatch, TIERS } from '../../src/runtime/isolation.js';

describe('isolationMismatch', () => {
  it('accepts each tier\'s own runtimes, by name or by registered path', () => {
    expect(isolationMismatch('runc', 'runc', 'a')).toBeUndefined();
    expect(isolationMismatch('runc', 'crun', 'a')).toBeUndefined();
    expect(isolationMismatch('gvisor', 'runsc', 'a')).toBeUndefined();
    expect(isolationMismatch('gvisor', '/work/main/.clawpod/runsc', 'a')).toBeUndefined();
  });

  it('refuses another tier\'s runtime, an unknown one and none, naming the container and what was found', () => {
    expect(isolationMismatch('gvisor', 'runc', 'a')).toMatchObject({ code: 'ISOLATION_MISMATCH', message: expect.stringMatching(/container a .*gvisor.*"runc"/) });
    expect(isolationMismatch('runc', 'runsc', 'a')?.code).toBe('ISOLATION_MISMATCH');
    expect(isolationMismatch('gvisor', 'oci', 'a')?.code).toBe('ISOLATION_MISMATCH');
    expect(isolationMismatch('gvisor', '', 'a')?.message).toContain('no runtime reported');
  });

  it('every tier names at least one runtime (a new tier must say what proves it)', () => {
    for (const def of Object.values(TIERS)) expect(def.runtimes.length).toBeGreaterThan(0);
  });
});
