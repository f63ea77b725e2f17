// One SecretRef source: turns `{name, key}` into a value. Errors say `${where}: what is wrong`
// and carry a hint; they never contain a value.
import type { Config } from '../../config.js';

export interface SecretRef { readonly name: string; readonly key?: string | undefined }

export interface SourceContext {
  /** e.g. `spec.secrets[0] (API_TOKEN: file ./token)`: prefix for every error. */
  readonly where: string;
  /** Folder of the spec file: relative paths resolve against it. */
  readonly specDir: string;
  readonly config: Config;
}

export interface SecretSource {
  readonly name: string;
  resolve(ref: SecretRef, ctx: SourceContext): Promise<string>;
}
