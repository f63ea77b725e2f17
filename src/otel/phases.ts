// One phase of a command (spec.load, container.create, health...): a span when the command is
// traced (src/otel/command.ts), nothing more otherwise. Import-free, so the code that runs the
// phases (src/ops, src/kube) does not load OpenTelemetry.
export type Phase = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/** The default: the phase just runs. */
export const untraced: Phase = (_name, fn) => fn();
