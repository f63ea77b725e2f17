// Podman through its Docker-compatible API. gVisor is known to Podman by the name the
// containers.conf [engine.runtimes] table gives runsc (clawpod's setup registers "runsc").
import { EngineDriver } from './engine-driver.js';
import type { RuntimeInfo } from './runtime.js';

export class PodmanDriver extends EngineDriver {
  readonly kind = 'podman' as const;

  protected gvisorRuntime(info: RuntimeInfo): string | undefined {
    return this.usableRuntime(info, 'runsc') ? 'runsc' : undefined;
  }

  protected override gvisorHint(): string {
    return 'install gVisor (apt-get install -y runsc) and re-run ./scripts/setup.sh, which registers runsc in .clawpod/containers.conf and restarts the Podman service; or use isolation: runc';
  }
}
