// Docker Engine. gVisor is a runtime registered in /etc/docker/daemon.json ("runsc"); Docker honours
// HostConfig.Runtime and reports it back in inspect, which the isolation check reads. A user
// namespace is a daemon setting (userns-remap) only: `clawpod doctor` warns when it is off.
import { EngineDriver } from './engine-driver.js';
import type { IsolationTier } from './runtime.js';

export class DockerDriver extends EngineDriver {
  readonly kind = 'docker' as const;

  protected isolationHint(tier: IsolationTier): string {
    return tier === 'gvisor'
      ? 'install gVisor, add {"runtimes":{"runsc":{"path":"/usr/bin/runsc"}}} to /etc/docker/daemon.json and restart dockerd; or use isolation: runc'
      : 'check dockerd\'s runtimes in /etc/docker/daemon.json';
  }
}
