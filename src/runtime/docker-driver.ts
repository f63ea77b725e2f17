// Docker Engine. gVisor is a runtime registered in /etc/docker/daemon.json ("runsc").
import { EngineDriver } from './engine-driver.js';
import type { RuntimeInfo } from './runtime.js';

export class DockerDriver extends EngineDriver {
  readonly kind = 'docker' as const;

  protected gvisorRuntime(info: RuntimeInfo): string | undefined {
    return this.usableRuntime(info, 'runsc') ? 'runsc' : undefined;
  }

  protected override gvisorHint(): string {
    return 'install gVisor, add {"runtimes":{"runsc":{"path":"/usr/bin/runsc"}}} to /etc/docker/daemon.json and restart dockerd; or use isolation: runc';
  }
}
