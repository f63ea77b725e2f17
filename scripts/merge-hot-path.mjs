// Folds the chunks a cold `clawpod run` loads into main.js. esbuild splits code shared by several
// lazily loaded verbs into one chunk per set of verbs that share it, so the run path alone was ~30
// files, and Node's ESM loader pays per file (resolve, read, compile, link): one file instead cost
// ~50 ms less CPU per `clawpod run` here (bench/README.md). The folded chunks are gone afterwards;
// every other chunk imports what it used from them from main.js, under a name that says which, so
// each module still exists once per process (one redactor, one trace switch, one error class).
import { build } from 'esbuild';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

/** The name of the generated module that imports main.js and re-exports the folded chunks. */
const ENTRY = 'merge-hot-path-entry.js';

/**
 * `dir`: the split bundle; `metafile`: esbuild's for it; `hotSources`: the entry modules (as esbuild
 * names them) whose static imports are folded in with main.js's own. The folded chunks keep their
 * own `require` (the banner), renamed apart by esbuild.
 */
export async function mergeHotPath(dir, metafile, mainSource, hotSources) {
  const outs = metafile.outputs;
  const keyOf = (src) => Object.keys(outs).find((k) => outs[k].entryPoint === src);
  const hot = new Set();
  const visit = (key) => {
    if (hot.has(key)) return;
    hot.add(key);
    for (const i of outs[key].imports) if (i.kind === 'import-statement' && !i.external && outs[i.path]) visit(i.path);
  };
  const mainKey = keyOf(mainSource);
  visit(mainKey);
  for (const src of hotSources) {
    const k = keyOf(src);
    if (!k) throw new Error(`merge-hot-path: no chunk has the entry ${src}`);
    visit(k);
  }
  hot.delete(mainKey);
  const id = new Map([...hot].map((k, i) => [basename(k), `$h${i}`]));
  const dynamicTargets = new Set(Object.values(outs).flatMap((o) => o.imports.filter((i) => i.kind === 'dynamic-import').map((i) => basename(i.path))));

  // main.js re-exports each folded chunk's exports (and, for one loaded with import(), its namespace)
  const entry = ['import "./main.js";'];
  for (const k of hot) {
    const base = basename(k);
    const exports = outs[k].exports;
    if (exports.length) entry.push(`export { ${exports.map((e) => `${e} as ${e}${id.get(base)}`).join(', ')} } from "./${base}";`);
    if (dynamicTargets.has(base)) entry.push(`export * as ns${id.get(base)} from "./${base}";`);
  }
  const merged = join(dir, 'main.merged.js');
  await build({
    stdin: { contents: entry.join('\n'), resolveDir: resolve(dir), sourcefile: ENTRY },
    bundle: true, platform: 'node', target: 'node20', format: 'esm', outfile: merged, logLevel: 'warning',
    plugins: [{
      name: 'hot-only',
      setup(b) {
        b.onResolve({ filter: /.*/ }, (a) => {
          const base = a.path.startsWith('./') ? a.path.slice(2) : undefined;
          if (base && (id.has(base) || (base === 'main.js' && basename(a.importer) === ENTRY))) return { path: resolve(dir, base) };
          return { path: a.path, external: true };
        });
      },
    }],
  });

  // the other chunks import from main.js what they imported from a folded chunk
  const spec = (s, tag) => s.split(',').map((x) => x.trim()).filter(Boolean).map((x) => {
    const [name, as] = x.split(/\s+as\s+/);
    return `${name}${tag} as ${as ?? name}`;
  }).join(', ');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.js') && !id.has(n) && n !== 'main.js' && n !== 'main.merged.js')) {
    const path = join(dir, f);
    const text = readFileSync(path, 'utf8');
    const out = text
      .replace(/import\s*\{([^}]*)\}\s*from\s*"\.\/([^"]+)";/g, (m, names, base) => (id.has(base) ? `import { ${spec(names, id.get(base))} } from "./main.js";` : m))
      .replace(/import\s+([A-Za-z_$][\w$]*)\s+from\s*"\.\/([^"]+)";/g, (m, name, base) => (id.has(base) ? `import { default${id.get(base)} as ${name} } from "./main.js";` : m))
      .replace(/import\s*"\.\/([^"]+)";/g, (m, base) => (id.has(base) ? 'import "./main.js";' : m))
      .replace(/import\("\.\/([^"]+)"\)/g, (m, base) => (id.has(base) ? `import("./main.js").then((m) => m.ns${id.get(base)})` : m));
    if (out !== text) writeFileSync(path, out);
  }
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.js') && !id.has(n) && n !== 'main.js')) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const base of id.keys()) if (text.includes(`"./${base}"`)) throw new Error(`merge-hot-path: ${f} still refers to the folded chunk ${base}`);
  }
  for (const base of id.keys()) rmSync(join(dir, base));
  renameSync(merged, join(dir, 'main.js'));
  return { folded: id.size };
}
