// The names and labels of an agent's egress proxy, apart from the code that makes it (cheap to
// import for whoever only needs to find one: the lifecycle, `clawpod logs --egress`).
import { LABELS } from '../spec/defaults.js';

/** The label that ties a proxy container and its network to the agent instance they serve. */
export const EGRESS_LABEL = 'dev.clawpod.egress-of';

/**
 * Whose proxy a container uses: the instance it was made as. A claimed warm-pool member keeps its
 * member name in that label (the engine cannot relabel), and its proxy is named after it.
 */
export const egressKeyOf = (c: { readonly name: string; readonly labels: Readonly<Record<string, string>> }): string => c.labels[LABELS.instance] ?? c.name;

export const egressNames = (instance: string) => ({ container: `clawpod-egress-${instance}`, network: `clawpod-egress-${instance}`, folder: `${instance}.egress`, trust: `${instance}.egress-trust` });
