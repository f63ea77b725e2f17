// `clawpod validate` on YAML that used to escape as a bare JavaScript error: each is a coded
// error naming file:line:col, exit 2. Runs the built CLI (npm run build first); no runtime needed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clawpod, scratchEnv, tmpDir } from '../helpers/cli.js';

const dir = tmpDir();
const env = scratchEnv();
const head = 'apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata:\n  name: a\nspec:\n  image: localhost/x:1\n';

async function validate(name: string, content: string | Buffer) {
  const file = join(dir, name);
  writeFileSync(file, content);
  return { file, ...(await clawpod(['validate', file], { env })) };
}

describe('clawpod validate: YAML that used to escape uncoded', () => {
  it('an alias without its anchor (kind: *a) is YAML_MALFORMED at file:line:col, exit 2', async () => {
    const r = await validate('alias.yaml', head.replace('kind: Agent', 'kind: *a'));
    expect(r.stderr).toContain('Error [YAML_MALFORMED]');
    expect(r.stderr).toContain(`${r.file}:2:7`);
    expect(r.stderr).not.toMatch(/ReferenceError|\n\s+at /);
    expect(r.code).toBe(2);
  });

  it('an alias bomb is refused at the alias, not expanded', async () => {
    const bomb = 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
    const r = await validate('bomb.yaml', head + bomb);
    expect(r.stderr).toContain('Error [YAML_MALFORMED]');
    expect(r.stderr).toMatch(new RegExp(`${r.file}:\\d+:\\d+ aliases expand`));
    expect(r.code).toBe(2);
  });

  it('a cyclic alias, a __proto__ key and a !!set value are SPEC_INVALID at their lines', async () => {
    const r = await validate('shapes.yaml', `${head}  env: &e [{name: A, value: *e}]\n  labels: {__proto__: x}\n  config: {values: {s: !!set {a}}}\n`);
    expect(r.stderr).toContain('Error [SPEC_INVALID]');
    expect(r.stderr).toContain(`${r.file}:7:`);
    expect(r.stderr).toContain('__proto__');
    expect(r.stderr).toContain('!!set');
    expect(r.code).toBe(2);
  });

  it('a file that is not UTF-8 is refused at its first bad byte', async () => {
    const r = await validate('latin1.yaml', Buffer.concat([Buffer.from(head), Buffer.from('  workingDir: /caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    expect(r.stderr).toContain('Error [YAML_MALFORMED]');
    expect(r.stderr).toContain(`${r.file}:7:`);
    expect(r.stderr).toContain('0xe9');
    expect(r.code).toBe(2);
  });
});
