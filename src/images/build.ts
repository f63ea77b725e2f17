// `clawpod image build`: the agent image from images/agent, and curated layers on top of
// any image (a team base with approved skills/tools/MCP servers, then personal layers).
import { chmodSync, cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-fs';
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import { closest } from '../spec/suggest.js';
import { walkUnblocked } from '../security/blocked.js';
import type { ImageInfo, Images } from '../runtime/runtime.js';
import { resolveBase } from './base.js';
import type { Profile } from '../profiles/types.js';
import { reference } from '../profiles/reference.js';

/** What a layer folder may hold at its top level, each copied to /opt/clawpod/<name>. */
export const LAYER_ENTRIES = ['skills', 'tools', 'mcp', 'bin'] as const;

export interface BuildReport { readonly image: ImageInfo; readonly tag: string; readonly base?: string; readonly seconds: number }

/** Builds a profile's image (images/<profile.image.dir>) for one payload version. */
export async function buildProfileImage(runtime: Images, config: Config, profile: Profile, opts: { version?: string; tag?: string; base?: string; say: (s: string) => void }): Promise<BuildReport> {
  const t0 = Date.now();
  const version = opts.version ?? profile.defaultVersion;
  const tag = opts.tag ?? profile.image.tag(version);
  const base = await resolveBase(runtime, config, { ...(opts.base ? { base: opts.base } : {}), nodeMajor: profile.image.nodeMajor, say: opts.say });
  opts.say(`building ${tag} FROM ${base.ref}${profile.name === 'reference' ? '' : ` (${profile.name} ${version})`}`);
  const ctx = mkdtempSync(join(tmpdir(), `clawpod-${profile.name}-`));
  try {
    cpSync(join(config.packageRoot, 'images', profile.image.dir), ctx, { recursive: true });
    for (const f of profile.image.contextFiles?.(config.packageRoot) ?? []) {
      const from = f.candidates.find((c) => existsSync(c));
      if (!from) throw new ClawpodError('FILE_NOT_FOUND', `the ${profile.name} image needs ${f.to} in its build context, and none of ${f.candidates.join(', ')} exists`, { hint: f.hint });
      cpSync(from, join(ctx, f.to), { recursive: true, dereference: true });
      if (f.mode !== undefined) chmodSync(join(ctx, f.to), f.mode);
    }
    // The extra CA bundle (a TLS-intercepting proxy's, a company CA) goes in as a file Node
    // trusts through NODE_EXTRA_CA_CERTS, at build and at run time; an empty file when there is none.
    writeFileSync(join(ctx, 'extra-ca.crt'), config.caBundle && existsSync(config.caBundle) ? readFileSync(config.caBundle) : '');
    if (config.caBundle) opts.say(`trusting the CA bundle ${config.caBundle} inside the image (NODE_EXTRA_CA_CERTS)`);
    const image = await runtime.buildImage({
      context: pack(ctx) as unknown as Readable,
      containerfile: 'Containerfile',
      tag,
      buildArgs: { BASE: base.ref, ...profile.image.buildArgs(version) },
      labels: { 'dev.clawpod.built': 'true', 'dev.clawpod.base': base.ref, 'dev.clawpod.profile': profile.name, 'dev.clawpod.payload-version': version },
      onProgress: (l) => opts.say(`  ${l}`),
    });
    return { image, tag, base: base.ref, seconds: (Date.now() - t0) / 1000 };
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** The reference runner's agent image (images/agent). */
export function buildAgentImage(runtime: Images, config: Config, opts: { tag?: string; base?: string; say: (s: string) => void }): Promise<BuildReport> {
  return buildProfileImage(runtime, config, reference, opts);
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
  walkUnblocked(real, configDir, { what: `--add ${dir}`, into: 'images', folder: 'the layer folder' }, (p, st) => {
    if (!st.isSymbolicLink()) return;
    const target = realpathSync(p);
    if (target !== real && !target.startsWith(real + sep)) {
      throw new ClawpodError('MOUNT_BLOCKED', `--add ${dir}: ${relative(real, p)} is a symlink leading out of the folder (to ${target})`, { hint: 'replace the link with the file itself' });
    }
  });
  return real;
}

export async function buildLayeredImage(
  runtime: Images,
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
