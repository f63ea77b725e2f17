import { describe, expect, it } from 'vitest';
import { formatBytes, parseCpu, parseDuration, parseMemory } from '../../src/spec/quantity.js';

describe('quantities', () => {
  it('parses memory like Kubernetes', () => {
    expect(parseMemory('512Mi')).toEqual({ ok: true, value: 512 * 2 ** 20 });
    expect(parseMemory('1Gi')).toEqual({ ok: true, value: 2 ** 30 });
    expect(parseMemory('1G')).toEqual({ ok: true, value: 1e9 });
    expect(parseMemory(64 * 2 ** 20)).toEqual({ ok: true, value: 64 * 2 ** 20 });
    expect(parseMemory('1k').ok).toBe(false); // below the 4Mi floor
    expect(parseMemory('lots').ok).toBe(false);
    const typo = parseMemory('2g');
    expect(typo.ok).toBe(false);
    expect(!typo.ok && typo.expected).toContain('did you mean "2Gi"?');
  });

  it('parses cpu cores and millicores', () => {
    expect(parseCpu('500m')).toEqual({ ok: true, value: 0.5 });
    expect(parseCpu('2')).toEqual({ ok: true, value: 2 });
    expect(parseCpu(1.5)).toEqual({ ok: true, value: 1.5 });
    expect(parseCpu('0').ok).toBe(false);
    expect(parseCpu('-1').ok).toBe(false);
  });

  it('parses durations', () => {
    expect(parseDuration('90s')).toEqual({ ok: true, value: 90_000 });
    expect(parseDuration('1h30m')).toEqual({ ok: true, value: 5_400_000 });
    expect(parseDuration('7d')).toEqual({ ok: true, value: 7 * 86_400_000 });
    expect(parseDuration('10').ok).toBe(false);
    expect(parseDuration(10).ok).toBe(false);
  });

  it('formats bytes back', () => {
    expect(formatBytes(512 * 2 ** 20)).toBe('512Mi');
    expect(formatBytes(1000)).toBe('1000');
  });
});
