// The OpenClaw Control UI's allowed browser origins, rendered from the published gateway port.
import { describe, expect, it } from 'vitest';
import { openclaw } from '../../src/profiles/openclaw.js';

const render = (published?: { containerPort: number; hostPort: number; hostIP: string }[]) =>
  openclaw.config!.render({ instance: 'a', secretsDir: '/run/secrets', ...(published ? { published } : {}) }) as { gateway: { controlUi?: { allowedOrigins: string[] } } };

describe('openclaw allowedOrigins', () => {
  it('lists 127.0.0.1 and localhost for each host port of the gateway port, nothing for other ports', () => {
    expect(render([{ containerPort: 18789, hostPort: 18809, hostIP: '127.0.0.1' }, { containerPort: 9999, hostPort: 9999, hostIP: '127.0.0.1' }]).gateway.controlUi)
      .toEqual({ allowedOrigins: ['http://127.0.0.1:18809', 'http://localhost:18809'] });
    expect(render([{ containerPort: 18789, hostPort: 18789, hostIP: '0.0.0.0' }]).gateway.controlUi?.allowedOrigins).toEqual(['http://127.0.0.1:18789', 'http://localhost:18789']);
    expect(render([{ containerPort: 18789, hostPort: 18829, hostIP: '::1' }]).gateway.controlUi?.allowedOrigins).toEqual(['http://[::1]:18829', 'http://localhost:18829']);
    expect(render([{ containerPort: 18789, hostPort: 18849, hostIP: '192.168.1.5' }]).gateway.controlUi?.allowedOrigins).toEqual(['http://192.168.1.5:18849']);
  });

  it('leaves OpenClaw its own default where no port is known (a cluster)', () => {
    expect(render().gateway.controlUi).toBeUndefined();
  });
});
