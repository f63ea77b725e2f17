// `clawpod image build`: the agent image from images/agent, and curated layers on top of
// any image (a team base with approved skills/tools/MCP servers, then personal layers).
import { chmodSync, cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-fs';
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import { DEFAULTS } from '../spec/defaults.js';
import { closest } from '../spec/suggest.js';
import { blockedRule } from '../security/blocked.js';
import type { ImageInfo, Runtime } from '../runtime/runtime.js';
import { resolveBase } from './base.js';

/** What a layer folder may hold at its top level, each copied to /opt/clawpod/<name>. */
export const LAYER_ENTRIES = ['skills', 'tools', 'mcp', 'bin'] as const;

export interface BuildReport { readonly image: ImageInfo; readonly tag: string; readonly base?: string; readonly seconds: number }

export async function buildAgentImage(runtime: Runtime, config: Config, opts: { tag?: string; base?: string; say: (s: string) => void }): Promise<BuildReport> {
  const t0 = Date.now();
  const tag = opts.tag ?? DEFAULTS.image;
  const base = await resolveBase(runtime, config, { ...(opts.base ? { base: opts.base } : {}), say: opts.say });
  opts.say(`building ${tag} FROM ${base.ref}`);
  // The extra CA bundle (a TLS-intercepting proxy's, a company CA) goes in as a file Node
  // trusts through NODE_EXTRA_CA_CERTS; an empty file when there is none.
  const ctx = mkdtempSync(join(tmpdir(), 'clawpod-agent-'));
  try {
    cpSync(join(config.packageRoot, 'images', 'agent'), ctx, { recursive: true });
    // the reference runner is built (npm run build), not checked in: copy it into the context only
    const runner = join(config.packageRoot, 'dist', 'agent', 'clawpod-agent.mjs');
    if (!existsSync(runner)) {
      throw new ClawpodError('FILE_NOT_FOUND', `the agent runner ${runner} is missing, so the image would have no clawpod-agent`, { hint: `run npm run build in ${config.packageRoot}, then build the image again` });
    }
    cpSync(runner, join(ctx, 'clawpod-agent.mjs'));
    // COPY keeps the context's mode; `COPY --chmod` would need BuildKit on Docker
    chmodSync(join(ctx, 'clawpod-agent.mjs'), 0o755);
    writeFileSync(join(ctx, 'extra-ca.crt'), config.caBundle && existsSync(config.caBundle) ? readFileSync(config.caBundle) : '');
    if (config.caBundle) opts.say(`trusting the CA bundle ${config.caBundle} inside the image (NODE_EXTRA_CA_CERTS)`);
    const image = await runtime.buildImage({
      context: pack(ctx) as unknown as Readable,
      containerfile: 'Containerfile',
      tag,
      buildArgs: { BASE: base.ref },
      labels: { 'dev.clawpod.built': 'true', 'dev.clawpod.base': base.ref },
      onProgress: (l) => opts.say(`  ${l}`),
    });
    return { image, tag, base: base.ref, seconds: (Date.now() - t0) / 1000 };
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** Checks a layer folder: known top-level entries only, no secrets, no symlinks leading out. */
export function checkLayerDir(dir: string, configDir: string): string {
  const abs = resolve(dir);
  if (!existsSync(abs) || !lstatSync(abs).isDirectory()) {
    throw new ClawpodError('FILE_NOT_FOUND', `--add ${dir}: no such folder`, { hint: `create it with some of: ${LAYER_ENTRIES.map((e) => `${e}/`).join(', ')}` });
  }
  const real = realpathSync(abs);
  for (const entry of readdirSync(real)) {
    if (!(LAYER_ENTRIES as readonly string[]).includes(entry)) {
      const guess = closest(entry, LAYER_ENTRIES);
      throw new ClawpodError('USAGE', `--add ${dir}: unexpected entry "${entry}"`, {
        hint: `${guess ? `did you mean "${guess}"? ` : ''}a layer folder holds only ${LAYER_ENTRIES.map((e) => `${e}/`).join(', ')} (copied to /opt/clawpod/)`,
      });
    }
  }
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const rule = blockedRule(p, configDir);
      if (rule) {
        throw new ClawpodError('MOUNT_BLOCKED', `--add ${dir}: ${relative(real, p)} matches the blocked pattern "${rule.pattern}" (${rule.why}); secrets never go into images`, {
          hint: 'move it out of the layer folder; give secrets to agents with spec.secrets',
        });
      }
      const st = lstatSync(p);
      if (st.isSymbolicLink()) {
        const target = realpathSync(p);
        if (target !== real && !target.startsWith(real + sep)) {
          throw new ClawpodError('MOUNT_BLOCKED', `--add ${dir}: ${relative(real, p)} is a symlink leading out of the folder (to ${target})`, { hint: 'replace the link with the file itself' });
        }
      } else if (st.isDirectory()) walk(p);
    }
  };
  walk(real);
  return real;
}

export async function buildLayeredImage(
  runtime: Runtime,
  config: Config,
  opts: { from: string; add: readonly string[]; tag: string; say: (s: string) => void },
): Promise<BuildReport> {
  const t0 = Date.now();
  if (opts.add.length === 0) throw new ClawpodError('USAGE', '--from needs at least one --add DIR', { hint: 'clawpod image build --from TEAM_IMAGE --add ./my-skills --tag localhost/me:1' });
  const from = await runtime.inspectImage(opts.from);
  if (!from) throw new ClawpodError('IMAGE_NOT_FOUND', `--from ${opts.from}: no such image`, { hint: 'build the team image first, e.g. `clawpod image build --from localhost/clawpod-agent:latest --add ./team --tag localhost/team:1`' });
  const dirs = opts.add.map((d) => checkLayerDir(d, config.configDir));
  const ctx = mkdtempSync(join(tmpdir(), 'clawpod-layer-'));
  try {
    const lines = ['ARG FROM', 'FROM ${FROM}', 'USER 0'];
    const names: string[] = [];
    dirs.forEach((d, i) => {
      cpSync(d, join(ctx, `layer${i}`), { recursive: true, dereference: true });
      lines.push(`COPY layer${i}/ /opt/clawpod/`);
      names.push(basename(d));
    });
    // Layers are read-only for the agent: approved tools are not the agent's to change.
    lines.push('RUN chmod -R a+rX,go-w /opt/clawpod && (chmod -R a+x /opt/clawpod/bin 2>/dev/null || true)');
    lines.push('USER 1000:1000');
    writeFileSync(join(ctx, 'Containerfile'), `${lines.join('\n')}\n`);
    const previous = from.labels['dev.clawpod.layers'];
    const layers = [...(previous ? previous.split(',') : []), ...names].join(',');
    opts.say(`building ${opts.tag} FROM ${opts.from} + ${names.join(', ')}`);
    const image = await runtime.buildImage({
      context: pack(ctx) as unknown as Readable,
      containerfile: 'Containerfile',
      tag: opts.tag,
      buildArgs: { FROM: opts.from },
      labels: { 'dev.clawpod.built': 'true', 'dev.clawpod.layers': layers, 'dev.clawpod.from': opts.from },
      onProgress: (l) => opts.say(`  ${l}`),
    });
    return { image, tag: opts.tag, base: opts.from, seconds: (Date.now() - t0) / 1000 };
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}
