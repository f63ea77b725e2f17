import { ClawpodError } from '../../errors.js';
import type { SecretSource } from './types.js';

export const envSource: SecretSource = {
  name: 'env',
  async resolve(ref, ctx) {
    if (ref.key !== undefined) throw new ClawpodError('SECRET_INVALID', `${ctx.where}: source env takes no key`, { hint: 'the variable named by secretRef.name is the whole value; drop secretRef.key' });
    const value = ctx.config.secretEnv[ref.name];
    if (value === undefined || value === '') {
      throw new ClawpodError('SECRET_MISSING', `${ctx.where}: the environment variable ${ref.name} is not set`, { hint: `export ${ref.name}=... before running, or keep it in the vault (\`clawpod secret set ${ref.name.toLowerCase()}\`)` });
    }
    return value;
  },
};
