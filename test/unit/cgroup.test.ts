// The limits read from inside a container on both cgroup layouts. This machine is v1 (hybrid);
// v2 (Debian 12's default) is covered here over its real file names and contents.
import { describe, expect, it } from 'vitest';
import { CGROUP_READ_SCRIPT, cgroupLimits, readerFrom } from '../../src/runtime/cgroup.js';

const files = (m: Record<string, string>) => (p: string) => m[p];

describe('cgroupLimits', () => {
  it('reads v2 (unified): memory.max and pids.max', () => {
    expect(cgroupLimits(files({ '/sys/fs/cgroup/memory.max': '100663296\n', '/sys/fs/cgroup/pids.max': '50\n' })))
      .toEqual({ version: 2, memoryBytes: 96 * 2 ** 20, pids: 50 });
  });

  it('reads "max" on v2 as unlimited', () => {
    expect(cgroupLimits(files({ '/sys/fs/cgroup/memory.max': 'max\n', '/sys/fs/cgroup/pids.max': 'max\n' })))
      .toEqual({ version: 2, memoryBytes: undefined, pids: undefined });
  });

  it('reads v1: memory/memory.limit_in_bytes and pids/pids.max', () => {
    expect(cgroupLimits(files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '100663296\n', '/sys/fs/cgroup/pids/pids.max': '50\n' })))
      .toEqual({ version: 1, memoryBytes: 96 * 2 ** 20, pids: 50 });
  });

  it('reads v1\'s page-rounded 2^63 as unlimited', () => {
    expect(cgroupLimits(files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712', '/sys/fs/cgroup/pids/pids.max': 'max' })))
      .toEqual({ version: 1, memoryBytes: undefined, pids: undefined });
  });

  it('prefers v2 when both exist (a hybrid host exposing the unified files) and is undefined with neither', () => {
    expect(cgroupLimits(files({ '/sys/fs/cgroup/memory.max': '1024', '/sys/fs/cgroup/memory/memory.limit_in_bytes': '2048' }))?.version).toBe(2);
    expect(cgroupLimits(files({}))).toBeUndefined();
  });

  it('parses the output of the in-container read script', () => {
    expect(CGROUP_READ_SCRIPT).toContain('/sys/fs/cgroup/memory.max');
    const read = readerFrom('/sys/fs/cgroup/memory.max\t4096\n/sys/fs/cgroup/pids.max\tmax\n');
    expect(cgroupLimits(read)).toEqual({ version: 2, memoryBytes: 4096, pids: undefined });
  });
});
