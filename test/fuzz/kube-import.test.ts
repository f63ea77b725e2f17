// Property-based fuzzing of `clawpod import`: real exports of the examples (rendered by the real
// renderer, every format and mode), then mutated (values, keys, structure; aliases, tags, cut
// lines). The answer is Agents plus warnings, or a ClawpodError with a code and a message.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { exportAgents, type ExportFormat } from '../../src/kube/export.js';
import { importManifests } from '../../src/kube/import.js';
import type { RenderMode } from '../../src/kube/types.js';
import { parseAgents } from '../../src/spec/parse.js';
import { mutatedObject, mutatedText, params, timed, valueOrCoded } from './fuzz-kit.js';

const CODES = ['YAML_MALFORMED', 'SPEC_INVALID'];
const dir = join(__dirname, '../../examples');
const agents = readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => readFileSync(join(dir, f), 'utf8'))
  .filter((t) => /kind: Agent/.test(t)).flatMap((t) => parseAgents(t, 'example.yaml').map((l) => l.agent));

/** Every export of every example: text as `clawpod export` writes it (kustomization.yaml left out). */
const exports: string[] = [];
for (const a of agents) {
  for (const format of ['kube', 'kustomize', 'podman'] as ExportFormat[]) {
    for (const mode of ['session', 'persistent'] as RenderMode[]) {
      let files: ReadonlyMap<string, string>;
      try { files = exportAgents([a], { format, mode }).files; } catch { continue; } // a mode the agent does not support
      exports.push([...files.entries()].filter(([p]) => !p.endsWith('kustomization.yaml')).map(([, t]) => t).join('\n---\n'));
    }
  }
}

function check(text: string): void {
  const r = valueOrCoded(() => importManifests(text, 'fuzz.yaml'), CODES);
  if (!(r instanceof Error)) {
    expect(r.agents.length).toBeGreaterThan(0);
    for (const w of r.warnings) expect(typeof w).toBe('string');
  }
}

describe('fuzz: clawpod import of rendered Kubernetes YAML', () => {
  it('the unmutated exports import', () => {
    expect(exports.length).toBeGreaterThan(3);
    for (const t of exports) expect(importManifests(t, 'export.yaml').agents.length).toBeGreaterThan(0);
  });

  it('exports with their objects mutated → Agents or a coded error', () => {
    const objects = exports.map((t) => parseAllDocuments(t).map((d) => d.toJS() as unknown));
    timed('import structure mutations (400)', () => fc.assert(fc.property(fc.constantFrom(...objects).chain((docs) => mutatedObject(docs)), (docs) => {
      const text = (Array.isArray(docs) ? docs : [docs]).map((d) => stringify(d) ?? '').join('---\n');
      check(text);
    }), params(400)));
  });

  it('exports with their text mutated (aliases, tags, cut lines) → Agents or a coded error', () => {
    timed('import text mutations (400)', () => fc.assert(fc.property(fc.constantFrom(...exports).chain((t) => mutatedText(t)), check), params(400)));
  });
});
