// A connection to one Kubernetes cluster for `clawpod apply` and `clawpod delete`: the kubeconfig
// (config.kubeconfig, i.e. KUBECONFIG, else ~/.kube/config), its context and namespace, a client
// that sends objects byte for byte (server-side apply, strict field validation), and the one
// mapping from API failures to ClawpodErrors that name the object, the reason and the fix.
import { ApiException, HttpMethod, KubeConfig, KubernetesObjectApi, type KubernetesObject, type ResponseContext } from '@kubernetes/client-node';
import { ClawpodError, messageOf } from '../errors.js';

/** The field manager of every apply: `kubectl get -o yaml` shows it in managedFields. */
export const FIELD_MANAGER = 'clawpod';

export interface ClusterOptions {
  /** Kubeconfig file (config.kubeconfig); absent: ~/.kube/config, or in-cluster. */
  readonly kubeconfig?: string;
  /** Context of the kubeconfig (default: its current-context). */
  readonly context?: string;
  /** Namespace (default: the context's namespace, else "default"). */
  readonly namespace?: string;
}

export interface ObjectRef { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } }

/** "job/hello" – how kubectl names an object, and how every message here does. */
export function refName(o: { kind?: string; metadata?: { name?: string } }): string {
  return `${(o.kind ?? '?').toLowerCase()}/${o.metadata?.name ?? '?'}`;
}

/**
 * KubernetesObjectApi whose answers are the API server's JSON as is. The stock client maps
 * request bodies through its typed models, which silently drops fields it does not know: a
 * misspelt field would then never reach the server's strict validation.
 */
export class ClusterApi extends KubernetesObjectApi {
  static make(kc: KubeConfig, namespace: string): ClusterApi {
    const api = kc.makeApiClient(ClusterApi);
    api.defaultNamespace = namespace;
    return api;
  }

  protected override async processResponse<T>(response: ResponseContext): Promise<T> {
    const text = await response.body.text();
    let body: unknown = text;
    try { body = text ? JSON.parse(text) : undefined; } catch { /* not JSON: keep the text */ }
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return body as T;
    throw new ApiException(response.httpStatusCode, 'Unsuccessful HTTP Request', body, response.headers);
  }

  /** Server-side apply of `obj` exactly as given; dryRun → `dryRun=All`. */
  async apply(obj: ObjectRef, dryRun: boolean): Promise<unknown> {
    // the path needs only apiVersion, kind, name and namespace (the client's type wants Date timestamps)
    const ctx = this.configuration.baseServer.makeRequestContext(await this.specUriPath(obj as KubernetesObject, 'patch'), HttpMethod.PATCH);
    ctx.setHeaderParam('Accept', 'application/json');
    ctx.setHeaderParam('Content-Type', 'application/apply-patch+yaml'); // JSON is YAML
    ctx.setQueryParam('fieldManager', FIELD_MANAGER);
    ctx.setQueryParam('force', 'true');
    ctx.setQueryParam('fieldValidation', 'Strict');
    if (dryRun) ctx.setQueryParam('dryRun', 'All');
    ctx.setBody(JSON.stringify(obj));
    return this.requestPromise(ctx);
  }

  /** GET of an API path (e.g. /api/v1/namespaces/x/events) with query parameters. */
  async getPath<T>(path: string, query: Record<string, string> = {}): Promise<T> {
    return this.send<T>(HttpMethod.GET, path, query);
  }

  /** A JSON merge patch (RFC 7386) of the object at `path`: changes one field without taking ownership of the rest. */
  async mergePatch<T>(path: string, patch: unknown): Promise<T> {
    return this.send<T>(HttpMethod.PATCH, path, {}, { type: 'application/merge-patch+json', body: patch });
  }

  /** DELETE of the object at `path` (query: propagationPolicy, gracePeriodSeconds). */
  async deletePath<T>(path: string, query: Record<string, string> = {}): Promise<T> {
    return this.send<T>(HttpMethod.DELETE, path, query);
  }

  private async send<T>(method: HttpMethod, path: string, query: Record<string, string>, body?: { type: string; body: unknown }): Promise<T> {
    const ctx = this.configuration.baseServer.makeRequestContext(path, method);
    ctx.setHeaderParam('Accept', 'application/json');
    for (const [k, v] of Object.entries(query)) ctx.setQueryParam(k, v);
    if (body) { ctx.setHeaderParam('Content-Type', body.type); ctx.setBody(JSON.stringify(body.body)); }
    return this.requestPromise(ctx) as Promise<T>;
  }
}

export interface Cluster {
  readonly kc: KubeConfig;
  readonly context: string;
  readonly server: string;
  readonly namespace: string;
  readonly api: ClusterApi;
}

/** Loads the kubeconfig and picks context and namespace. Contacts nothing. */
export function openCluster(opts: ClusterOptions): Cluster {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig); else kc.loadFromDefault();
  } catch (e) {
    throw new ClawpodError('USAGE', `cannot load the kubeconfig ${opts.kubeconfig ?? '~/.kube/config'}: ${messageOf(e)}`, {
      hint: 'set KUBECONFIG to the kubeconfig of your cluster (kind get kubeconfig, k3d kubeconfig get, oc login)', cause: e,
    });
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      const names = kc.getContexts().map((c) => c.name);
      throw new ClawpodError('USAGE', `--context ${opts.context} is not in the kubeconfig ${opts.kubeconfig ?? '~/.kube/config'}`, {
        hint: names.length ? `use one of: ${names.join(', ')}` : 'the kubeconfig has no contexts: set KUBECONFIG',
      });
    }
    kc.setCurrentContext(opts.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new ClawpodError('USAGE', `the kubeconfig ${opts.kubeconfig ?? '~/.kube/config'} has no current cluster`, {
      hint: 'kubectl config use-context NAME, or pass --context NAME',
    });
  }
  const context = kc.getCurrentContext();
  const namespace = opts.namespace ?? kc.getContextObject(context)?.namespace ?? 'default';
  return { kc, context, server: cluster.server, namespace, api: ClusterApi.make(kc, namespace) };
}

interface Status { message?: string; reason?: string; details?: { causes?: { field?: string; message?: string; reason?: string }[] } }

function statusOf(e: unknown): { code?: number; status?: Status; text: string } {
  if (e instanceof ApiException) {
    const body = e.body as unknown;
    const status = body && typeof body === 'object' ? (body as Status) : undefined;
    return { code: e.code, status, text: status?.message ?? (typeof body === 'string' && body ? body : `HTTP ${e.code}`) };
  }
  // node-fetch wraps the socket error; the client prefixes it ("Failed to fetch resource metadata ...")
  return { text: messageOf(e) };
}

/** HTTP status of an API failure, undefined when the server was not reached. */
export function httpCode(e: unknown): number | undefined {
  return e instanceof ApiException ? e.code : undefined;
}

/**
 * One API failure as a ClawpodError: what was done to which object, the server's reason, the fix.
 * `done` lists what had already been changed, so nothing is left half-applied without saying so.
 */
export function apiError(e: unknown, c: Cluster, what: { action: string; object?: string; done?: readonly string[] }): ClawpodError {
  const { code, status, text } = statusOf(e);
  const on = `${what.object ? ` ${what.object}` : ''} in namespace ${c.namespace}`;
  const done = what.done === undefined ? [] : [what.done.length ? `already ${what.action === 'delete' ? 'deleted' : 'applied'}: ${what.done.join(', ')}` : `nothing was ${what.action === 'delete' ? 'deleted' : 'applied'}`];
  const causes = (status?.details?.causes ?? []).map((x) => `${x.field ? `${x.field}: ` : ''}${x.message ?? x.reason ?? ''}`);
  const details = [...causes, ...done];
  if (code === undefined) {
    return new ClawpodError('RUNTIME_UNAVAILABLE', `cannot reach the Kubernetes API server ${c.server} (context ${c.context}) to ${what.action}${on}: ${text}`, {
      hint: `check that the cluster runs and the kubeconfig points at it: kubectl --context ${c.context} cluster-info (or set KUBECONFIG / --context)`, details, cause: e,
    });
  }
  const base = `cannot ${what.action}${on} on ${c.server}: ${text}`;
  if (code === 401) return new ClawpodError('RUNTIME_ERROR', `${base} (HTTP 401: the credentials were refused)`, { hint: `log in again (a fresh token for context ${c.context})`, details, cause: e });
  if (code === 403) {
    return new ClawpodError('RUNTIME_ERROR', `${base} (HTTP 403, RBAC)`, {
      hint: `ask a cluster admin for a Role in namespace ${c.namespace} allowing get/create/patch${what.action === 'delete' ? '/list/delete' : ''} on ${what.object ? what.object.split('/')[0] : 'these objects'}s, or use --namespace/--context where you have one`, details, cause: e,
    });
  }
  if (code === 404 && status?.reason === 'NotFound' && /namespaces? "?[^"]*"? not found/.test(text)) {
    return new ClawpodError('NOT_FOUND', base, { hint: `kubectl create namespace ${c.namespace}, or pass --create-namespace`, details, cause: e });
  }
  // server-side apply reports a field unknown to the schema as HTTP 500 "failed to create typed patch object"
  const unknown = /(\.[\w.[\]"=-]+): field not declared in schema/.exec(text)?.[1] ?? /unknown field "([^"]+)"/.exec(text)?.[1];
  if (code === 400 || code === 422 || unknown) {
    return new ClawpodError('SPEC_INVALID', `${base} (HTTP ${code})`, {
      hint: unknown
        ? `this server's schema has no field ${unknown} in ${what.object ?? 'the object'}: remove it (a clawpod newer than the cluster may render fields the cluster does not know)`
        : 'the object has a field or value this server refuses: fix the field named above (a newer clawpod, or an older server, may disagree on the schema)',
      details, cause: e,
    });
  }
  if (code === 409) return new ClawpodError('RUNTIME_ERROR', `${base} (HTTP 409 conflict)`, { hint: 'another writer changed the object at the same time: run the command again', details, cause: e });
  return new ClawpodError('RUNTIME_ERROR', `${base} (HTTP ${code})`, { hint: `kubectl --context ${c.context} -n ${c.namespace} get events`, details, cause: e });
}
