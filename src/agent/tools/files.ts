// read_file, write_file, edit_file, list_files: confined to the workspace (see workspace.ts).
// Failures throw ToolFailure; its message is what the model reads.
import { mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync, type Dirent, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { capOutput } from './output.js';
import type { Workspace } from './workspace.js';

export class ToolFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolFailure';
  }
}

// folders whose contents are rarely what the model is after and can be huge
const NOT_DESCENDED = new Set(['.git', 'node_modules']);
const LIST_LIMIT = 2000;

export function readFile(ws: Workspace, path: string, maxBytes: number): string {
  const real = ws.resolve(path);
  const st = statOr(real, path);
  if (st.isDirectory()) throw new ToolFailure(`${path} is a folder; use list_files to see what is in it`);
  const buf = readFileSync(real);
  if (buf.subarray(0, 8192).includes(0)) return `[${path} is a binary file of ${buf.length} bytes; not shown]`;
  return capOutput(buf, maxBytes);
}

export function writeFile(ws: Workspace, path: string, content: string): string {
  const real = ws.resolve(path);
  if (statOr(real, path, true)?.isDirectory()) throw new ToolFailure(`${path} is a folder; give a file path`);
  // the parents that do not exist yet are below a real folder inside the workspace (resolve checked it)
  mkdirSync(dirname(real), { recursive: true });
  writeFileSync(real, content);
  return `wrote ${Buffer.byteLength(content)} bytes to ${ws.show(real)}`;
}

export function editFile(ws: Workspace, path: string, oldString: string, newString: string): string {
  if (oldString === '') throw new ToolFailure('old_string is empty; give the exact text to replace (use write_file to create a file)');
  const real = ws.resolve(path);
  if (statOr(real, path).isDirectory()) throw new ToolFailure(`${path} is a folder; give a file path`);
  const text = readFileSync(real, 'utf8');
  const count = text.split(oldString).length - 1;
  if (count === 0) throw new ToolFailure(`old_string was not found in ${path}; it must match the file exactly (whitespace included); read_file shows the current text`);
  if (count > 1) throw new ToolFailure(`old_string occurs ${count} times in ${path}; include more surrounding text so it matches exactly once`);
  const at = text.indexOf(oldString);
  // slicing, not String.replace: `$&` and friends in new_string must stay literal
  writeFileSync(real, text.slice(0, at) + newString + text.slice(at + oldString.length));
  return `replaced 1 occurrence in ${ws.show(real)}`;
}

export function listFiles(ws: Workspace, path: string, recursive: boolean, maxBytes: number): string {
  const real = ws.resolve(path);
  if (!statOr(real, path).isDirectory()) throw new ToolFailure(`${path} is a file, not a folder`);
  const lines: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (lines.length >= LIST_LIMIT) return;
      lines.push(prefix + describe(dir, e));
      if (recursive && e.isDirectory() && !NOT_DESCENDED.has(e.name)) walk(join(dir, e.name), `${prefix}${e.name}/`);
    }
  };
  walk(real, '');
  if (lines.length >= LIST_LIMIT) lines.push(`[listing stopped after ${LIST_LIMIT} entries; list a subfolder]`);
  if (lines.length === 0) return `${ws.show(real)} is empty`;
  return capOutput(Buffer.from(lines.join('\n')), maxBytes);
}

function describe(dir: string, e: Dirent): string {
  if (e.isDirectory()) return `${e.name}/${NOT_DESCENDED.has(e.name) ? ' (not descended)' : ''}`;
  if (e.isSymbolicLink()) {
    let target = '?';
    try { target = readlinkSync(join(dir, e.name)); } catch { /* raced away */ }
    return `${e.name} -> ${target}`;
  }
  return e.name;
}

function statOr(real: string, path: string): Stats;
function statOr(real: string, path: string, missingOk: true): Stats | undefined;
function statOr(real: string, path: string, missingOk = false): Stats | undefined {
  try { return statSync(real); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      if (missingOk) return undefined;
      throw new ToolFailure(`${path} does not exist; list_files shows what is there`);
    }
    throw new ToolFailure(`${path}: ${(e as Error).message}`);
  }
}
