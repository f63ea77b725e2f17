// What keeps a sandbox running when its spec names no command: exec needs a running container to
// enter, and an image's own CMD may exit at once (the agent image's hello agent does). The agent
// image has /bin/sh (busybox or dash) and sleep, and no init (tini, catatonit); a shell as PID 1
// ignores SIGTERM unless it traps it, so the trap is what lets `stop` end it at once instead of
// after the engine's timeout. While it waits it also reaps the orphans of exec'd processes.
import type { Agent } from '../spec/schema.js';

export const KEEPER_COMMAND: readonly string[] = Object.freeze(['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done']);

/** The agent with the keeper as PID 1, unless its spec says what to run (a command, or args for the image's entrypoint). */
export function withKeeper(agent: Agent): Agent {
  if (agent.spec.command || agent.spec.args) return agent;
  return { ...agent, spec: { ...agent.spec, command: [...KEEPER_COMMAND] } };
}
