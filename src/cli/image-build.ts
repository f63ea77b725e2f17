import type { Ctx } from './context.js';
import { ClawpodError } from '../errors.js';
import { buildLayeredImage, buildProfileImage, type BuildReport } from '../images/build.js';
import { profileNamed } from '../profiles/index.js';

interface Opts { tag?: string; base?: string; from?: string; add?: string[]; profile?: string; version?: string }

export default async function imageBuild(ctx: Ctx, opts: Opts): Promise<void> {
  const add = opts.add ?? [];
  if (add.length > 0 && !opts.from) throw new ClawpodError('USAGE', '--add needs --from IMAGE (the image the layers go on)', { hint: 'clawpod image build --from localhost/clawpod-agent:latest --add ./team --tag localhost/team:1' });
  if (opts.from && !opts.tag) throw new ClawpodError('USAGE', '--from needs --tag for the image it produces', { hint: 'add --tag localhost/NAME:VERSION' });
  if (opts.from && (opts.profile || opts.version)) throw new ClawpodError('USAGE', '--from adds layers to an image; --profile/--version build a payload image', { hint: 'use one of them per build' });
  const profile = profileNamed(opts.profile ?? 'reference');
  const rt = await ctx.runtime();
  const say = (s: string) => ctx.say(s);
  const r: BuildReport = opts.from
    ? await buildLayeredImage(rt, ctx.config, { from: opts.from, add, tag: opts.tag!, say })
    : await buildProfileImage(rt, ctx.config, profile, { ...(opts.version ? { version: opts.version } : {}), ...(opts.tag ? { tag: opts.tag } : {}), ...(opts.base ? { base: opts.base } : {}), say });
  if (ctx.json) ctx.printJson({ tag: r.tag, id: r.image.id, base: r.base, sizeBytes: r.image.sizeBytes, seconds: r.seconds });
  else ctx.print(`${r.tag} (${r.image.id.replace(/^sha256:/, '').slice(0, 12)}, ${(r.image.sizeBytes / 2 ** 20).toFixed(0)} MiB, ${r.seconds.toFixed(1)} s)`);
}
