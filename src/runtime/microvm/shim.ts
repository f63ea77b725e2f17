// clawpod-microvm: the OCI runtime Podman calls (through conmon) for `isolation: microvm`. It
// rewrites the bundle on `create` so the container's process boots a microVM (vm-config.ts), then
// hands every verb to runc unchanged: state, start, kill, pause, delete and the engine's own
// bookkeeping stay runc's. `exec` is routed into the guest: its process.json becomes a client in
// the jail that hands the process to the guest's exec server. Registered by scripts/setup.sh with
// CLAWPOD_RUNC (the runc to delegate to) and CLAWPOD_MICROVM_JAIL (scripts/microvm/build.sh).
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { hostFacts } from './host-facts.js';
import { execProcess, MICROVM_ANNOTATION, vmBundle, type OciConfig } from './vm-config.js';

/** runc's global options that take a value (the verb is the first word after them). */
const VALUED = new Set(['--root', '--log', '--log-format', '--criu', '--rootless']);

function verbAt(args: readonly string[]): number {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (VALUED.has(a)) { i++; continue; }
    if (!a.startsWith('-')) return i;
  }
  return -1;
}

function bundleOf(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--bundle' || a === '-b') return resolve(args[i + 1] ?? '.');
    if (a.startsWith('--bundle=')) return resolve(a.slice('--bundle='.length));
  }
  return process.cwd();
}


function writeOwned(path: string, text: string, owner: { uid: number; gid: number }): void {
  writeFileSync(path, text, { mode: 0o600 });
  chownSync(path, owner.uid, owner.gid);
}

/**
 * Writes the VMM container's bundle to B/microvm and returns it. The engine's B/config.json stays as
 * it made it: Podman reads it back for inspect, which then shows the agent's mounts, not the jail's.
 */
function prepare(bundle: string, jail: string): string {
  const cfg = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as OciConfig;
  // runc reads a relative root against the bundle; the VM's bundle is another folder
  cfg.root.path = resolve(bundle, cfg.root.path);
  if (cfg.annotations?.[MICROVM_ANNOTATION]) throw new Error(`${bundle}/config.json is already a microVM's`);
  const ctlDir = join(bundle, 'microvm');
  rmSync(ctlDir, { recursive: true, force: true });
  mkdirSync(ctlDir, { mode: 0o700 });
  const kvmNode = join(ctlDir, 'kvm');
  const accel = readFileSync(join(jail, 'vm', 'accel'), 'utf8').trim() === 'kvm' ? 'kvm' : 'tcg';
  const vm = vmBundle(cfg, { jail, ctlDir: join(ctlDir, 'ctl'), kvmNode, hostCpus: availableParallelism(), accel, execToken: randomBytes(24).toString('hex') }, hostFacts);
  // the VMM runs as the container's user: it alone may open its /dev/kvm and read its control files
  chownSync(ctlDir, vm.owner.uid, vm.owner.gid);
  const ctl = join(ctlDir, 'ctl');
  mkdirSync(ctl, { mode: 0o700 });
  chownSync(ctl, vm.owner.uid, vm.owner.gid);
  for (const [name, text] of Object.entries(vm.files)) writeOwned(join(ctl, name), text, vm.owner);
  if (accel === 'kvm') {
    const mk = spawnSync('mknod', ['-m', '0600', kvmNode, 'c', '10', '232'], { encoding: 'utf8' });
    if (mk.status !== 0) throw new Error(`mknod ${kvmNode}: ${mk.stderr || mk.error?.message}`);
    chownSync(kvmNode, vm.owner.uid, vm.owner.gid);
    chmodSync(kvmNode, 0o600);
  }
  writeFileSync(join(ctlDir, 'config.json'), JSON.stringify(vm.config), { mode: 0o600 });
  return ctlDir;
}

function withoutBundle(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--bundle' || a === '-b') { i++; continue; }
    if (!a.startsWith('--bundle=')) out.push(a);
  }
  return out;
}

/** Rewrites the exec's process.json (--process F) to run in the guest; the container's user is read from its VM bundle. */
function routeExec(runc: string, globals: readonly string[], rest: readonly string[]): void {
  let file: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--process' || rest[i] === '-p') file = rest[i + 1];
    else if (rest[i]!.startsWith('--process=')) file = rest[i]!.slice('--process='.length);
  }
  if (!file) throw new Error('only `exec --process FILE` is supported (the form the engine uses)');
  const id = rest.at(-1)!;
  const st = spawnSync(runc, [...globals, 'state', id], { encoding: 'utf8' });
  if (st.status !== 0) throw new Error(`${runc} state ${id}: ${st.stderr.trim()}`);
  const bundle = (JSON.parse(st.stdout) as { bundle: string }).bundle;
  const cfg = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as OciConfig;
  if (!cfg.annotations?.[MICROVM_ANNOTATION]) throw new Error(`${id} is not a microVM container`);
  const proc = JSON.parse(readFileSync(file, 'utf8')) as OciConfig['process'];
  writeFileSync(file, JSON.stringify(execProcess(proc, cfg.process.user)));
}

function main(argv: readonly string[]): number {
  let args = argv;
  const runc = process.env.CLAWPOD_RUNC ?? 'runc';
  const jail = process.env.CLAWPOD_MICROVM_JAIL ?? '';
  const at = verbAt(args);
  const verb = at >= 0 ? args[at] : undefined;
  if (verb === 'create' || verb === 'run') {
    if (!jail || !existsSync(join(jail, 'vm', 'launch'))) {
      process.stderr.write(`clawpod-microvm: no VM jail at "${jail}" (CLAWPOD_MICROVM_JAIL); run ./scripts/setup.sh, which builds it with scripts/microvm/build.sh\n`);
      return 1;
    }
    try {
      const vmBundleDir = prepare(bundleOf(args.slice(at + 1)), jail);
      args = [...args.slice(0, at + 1), '--bundle', vmBundleDir, ...withoutBundle(args.slice(at + 1))];
    } catch (e) {
      process.stderr.write(`clawpod-microvm: cannot prepare the VM: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
  }
  if (verb === 'exec') {
    try { routeExec(runc, args.slice(0, at), args.slice(at + 1)); } catch (e) {
      process.stderr.write(`clawpod-microvm: exec: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
  }
  const r = spawnSync(runc, args, { stdio: 'inherit' });
  if (r.error) { process.stderr.write(`clawpod-microvm: ${runc}: ${r.error.message}\n`); return 1; }
  return r.status ?? 128 + 9;
}

process.exitCode = main(process.argv.slice(2));
