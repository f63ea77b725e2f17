// @clawpod/sdk: clawpod's sandboxes from TypeScript (Node ≥ 20, no dependencies). The API it
// speaks is docs/sandbox-api.md of clawpod; `clawpod serve` serves it.
export { Sandbox, type CreateOptions } from './sandbox.js';
export { SandboxError } from './errors.js';
export type { ClientOptions } from './client.js';
export type { Files } from './files.js';
export type { ExecOptions, ExecResult, FileEntry, SandboxInfo } from './types.js';
