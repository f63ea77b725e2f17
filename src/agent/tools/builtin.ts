// bash and the file tools, as the model sees them.
import { describeBash, runBash } from './bash.js';
import { editFile, listFiles, readFile, writeFile } from './files.js';
import { arg, type Tool } from './toolbox.js';
import type { Workspace } from './workspace.js';

export interface BuiltinOptions {
  readonly workspace: Workspace;
  readonly bashTimeoutMs: number;
  readonly maxOutputBytes: number;
  /** What bash and its children see: PATH, HOME, WORKSPACE only, never the runner's secrets. */
  readonly env: Readonly<Record<string, string>>;
}

const obj = (properties: Record<string, unknown>, required: string[]): Record<string, unknown> => ({ type: 'object', properties, required });
const str = (description: string): Record<string, unknown> => ({ type: 'string', description });

export function builtinTools(o: BuiltinOptions): Tool[] {
  const ws = o.workspace;
  const sync = (fn: (input: Readonly<Record<string, unknown>>) => string): Tool['run'] => async (input) => ({ output: fn(input), isError: false });
  return [
    {
      spec: {
        name: 'bash',
        description: `Run a shell command with /bin/sh in the workspace (${ws.given}). Stdin is closed; stdout and stderr come back together, up to ${o.maxOutputBytes} bytes; the command is killed after ${o.bashTimeoutMs} ms.`,
        inputSchema: obj({ command: str('the shell command') }, ['command']),
      },
      run: async (input, signal) => {
        const r = await runBash(arg('bash', input, 'command', 'string')!, { cwd: ws.root, env: o.env, timeoutMs: o.bashTimeoutMs, maxOutputBytes: o.maxOutputBytes, signal });
        return describeBash(r, o.bashTimeoutMs);
      },
    },
    {
      spec: { name: 'read_file', description: 'Read a text file in the workspace.', inputSchema: obj({ path: str('path relative to the workspace') }, ['path']) },
      run: sync((i) => readFile(ws, arg('read_file', i, 'path', 'string')!, o.maxOutputBytes)),
    },
    {
      spec: {
        name: 'write_file',
        description: 'Create or overwrite a file in the workspace (parent folders are created).',
        inputSchema: obj({ path: str('path relative to the workspace'), content: str('the whole new content') }, ['path', 'content']),
      },
      run: sync((i) => writeFile(ws, arg('write_file', i, 'path', 'string')!, arg('write_file', i, 'content', 'string')!)),
    },
    {
      spec: {
        name: 'edit_file',
        description: 'Replace one exact occurrence of old_string with new_string in a file; old_string must occur exactly once.',
        inputSchema: obj({ path: str('path relative to the workspace'), old_string: str('the exact text to replace'), new_string: str('the replacement') }, ['path', 'old_string', 'new_string']),
      },
      run: sync((i) => editFile(ws, arg('edit_file', i, 'path', 'string')!, arg('edit_file', i, 'old_string', 'string')!, arg('edit_file', i, 'new_string', 'string')!)),
    },
    {
      spec: {
        name: 'list_files',
        description: 'List a folder in the workspace (folders end with /).',
        inputSchema: obj({ path: str('folder relative to the workspace; default "."'), recursive: { type: 'boolean', description: 'list subfolders too; default false' } }, []),
      },
      run: sync((i) => listFiles(ws, arg('list_files', i, 'path', 'string', true) ?? '.', arg('list_files', i, 'recursive', 'boolean', true) ?? false, o.maxOutputBytes)),
    },
  ];
}
