// Benchmark: `clawpod run` of a trivial agent to its first output vs raw `podman run` of the
// same image and command, interleaved round by round. Prints p50/p95 of each and the ratio.
// "clawpod run (new spec)" changes the spec text every round, so it never hits the
// validated-spec cache (src/spec/load.ts): the first run of a spec costs that much.
//   npm run bench            (ROUNDS=20 by default; needs the agent image: clawpod image build)
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 20);
const IMAGE = 'localhost/clawpod-agent:latest';
const CMD = ['node', '-e', 'console.log("ready")'];

/** Milliseconds from spawn to the first byte on stdout; the process is awaited before returning. */
function firstOutput(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let first: number | undefined;
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stdout.once('data', () => { first = Number(process.hrtime.bigint() - t0) / 1e6; });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 && first !== undefined ? resolve(first) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'clawpod-bench-'));
  const spec = join(dir, 'bench.yaml');
  const specText = (round: number) => `# round ${round}\napiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: bench}\nspec:\n  image: ${IMAGE}\n  command: ${JSON.stringify(CMD)}\n  workspace: {enabled: false}\n`;
  writeFileSync(spec, specText(0));
  const fresh = join(dir, 'fresh.yaml');
  const env = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(ROOT, '.clawpod/containers.conf') };
  const clawpod = ['node', [join(ROOT, 'bin/clawpod.js'), 'run', '--rm', '-f', spec]] as const;
  // The same hardening clawpod applies, so the baseline does the same work.
  const podman = ['podman', ['run', '--rm', '--user', '1000:1000', '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL',
    '--security-opt', 'no-new-privileges', '--memory', '512m', '--cpus', '1', '--pids-limit', '256', '--network', 'none', IMAGE, ...CMD]] as const;
  // warm-up: page cache, image layers, the Podman service
  await firstOutput(clawpod[0], [...clawpod[1]], env);
  await firstOutput(podman[0], [...podman[1]], env);
  const ours: number[] = [];
  const cold: number[] = [];
  const raw: number[] = [];
  const orders = [['ours', 'cold', 'raw'], ['raw', 'ours', 'cold'], ['cold', 'raw', 'ours']] as const;
  for (let i = 0; i < ROUNDS; i++) {
    for (const which of orders[i % orders.length]!) {
      if (which === 'ours') ours.push(await firstOutput(clawpod[0], [...clawpod[1]], env));
      else if (which === 'cold') {
        writeFileSync(fresh, specText(Date.now() + i));
        cold.push(await firstOutput('node', [join(ROOT, 'bin/clawpod.js'), 'run', '--rm', '-f', fresh], env));
      } else raw.push(await firstOutput(podman[0], [...podman[1]], env));
    }
    process.stderr.write(`round ${i + 1}/${ROUNDS}: clawpod ${ours.at(-1)!.toFixed(0)} ms, clawpod (new spec) ${cold.at(-1)!.toFixed(0)} ms, podman ${raw.at(-1)!.toFixed(0)} ms\n`);
  }
  const row = (name: string, xs: number[]) => `${name.padEnd(26)} p50 ${pct(xs, 50).toFixed(0).padStart(5)} ms   p95 ${pct(xs, 95).toFixed(0).padStart(5)} ms`;
  console.log(`clawpod run vs podman run, time to first output, ${ROUNDS} interleaved rounds`);
  console.log(row('clawpod run', ours));
  console.log(row('clawpod run (new spec)', cold));
  console.log(row('podman run', raw));
  const ratio = (xs: number[]) => `p50 ${(pct(xs, 50) / pct(raw, 50)).toFixed(2)}   p95 ${(pct(xs, 95) / pct(raw, 95)).toFixed(2)}`;
  console.log(`ratio clawpod/podman             ${ratio(ours)}   (goal: p50 <= 1.15)`);
  console.log(`ratio clawpod (new spec)/podman  ${ratio(cold)}`);
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
