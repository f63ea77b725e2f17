// Kubernetes objects checked against the official OpenAPI schema, two ways: kubernetes-models'
// validators (generated from Kubernetes 1.33's schema; they let unknown fields through) and a
// strict check of the swagger.json of the release the kube harness builds (the k8s.io/kubernetes
// module), compiled with ajv with additionalProperties: false on every object, as kubeconform
// -strict does. Shared by the renderer tests and the deploy/ manifests test.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Pod, Service, ServiceAccount } from 'kubernetes-models/v1';

/** The release scripts/kube-harness.sh builds: the schema the API server of the tests enforces. */
export const KUBE_VERSION = 'v1.37.2';

type Validating = new (d: never) => { validate(): void };
const MODELS: Record<string, Validating> = {
  'v1/Pod': Pod, 'v1/ConfigMap': ConfigMap, 'v1/Service': Service, 'v1/ServiceAccount': ServiceAccount, 'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Namespace': Namespace, 'apps/v1/StatefulSet': StatefulSet, 'apps/v1/Deployment': Deployment, 'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy, 'networking.k8s.io/v1/Ingress': Ingress,
  'rbac.authorization.k8s.io/v1/Role': Role, 'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': ValidatingAdmissionPolicy,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': ValidatingAdmissionPolicyBinding,
};

/** kubernetes-models' validator for the object's kind; throws on a bad object or an unknown kind. */
export function modelsValidate(o: { apiVersion?: string; kind?: string }): void {
  const M = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!M) throw new Error(`no kubernetes-models class for ${o.apiVersion}/${o.kind}`);
  new M(o as never).validate();
}

// resource.Quantity's own grammar (k8s.io/apimachinery/pkg/api/resource)
const QUANTITY = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** swagger 2.0 definition → JSON schema with unknown fields refused. */
function strict(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(strict);
  if (!isObj(s)) return s;
  const out: Json = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'description') continue;
    out[k] = k === 'properties' && isObj(v) ? Object.fromEntries(Object.entries(v).map(([p, x]) => [p, strict(x)])) : strict(v);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function loadSwagger(): Json {
  const r = spawnSync('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${KUBE_VERSION}`], { cwd: tmpdir(), encoding: 'utf8', timeout: 600_000 });
  if (r.error || r.status !== 0) throw new Error(`cannot get the Kubernetes ${KUBE_VERSION} OpenAPI schema (go mod download k8s.io/kubernetes@${KUBE_VERSION}): ${r.error?.message ?? r.stderr}`);
  const dir = (JSON.parse(r.stdout) as { Dir: string }).Dir;
  return JSON.parse(readFileSync(join(dir, 'api/openapi-spec/swagger.json'), 'utf8')) as Json;
}

export type StrictValidate = (o: { apiVersion?: string; kind?: string }) => string[];

/**
 * The pinned release's OpenAPI schema, strict: wrong types, bad quantities, missing required
 * fields and unknown fields fail. Returns the problems of one object (empty: valid). Slow to
 * build (the schema comes from the Go module cache): build it once per test file, in beforeAll.
 */
export function strictSchema(): StrictValidate {
  const defs = (loadSwagger().definitions ?? {}) as Record<string, Json>;
  const converted = Object.fromEntries(Object.entries(defs).map(([k, v]) => [k, strict(v)]));
  converted['io.k8s.apimachinery.pkg.util.intstr.IntOrString'] = { anyOf: [{ type: 'string' }, { type: 'integer' }] };
  converted['io.k8s.apimachinery.pkg.api.resource.Quantity'] = { anyOf: [{ type: 'string', pattern: QUANTITY }, { type: 'number' }] };
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('double', true);
  ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
  ajv.addFormat('date-time', true);
  ajv.addFormat('int-or-string', true);
  ajv.addSchema({ $id: 'k8s', definitions: converted });
  const byKind = new Map<string, ValidateFunction>();
  for (const [name, d] of Object.entries(defs)) {
    for (const gvk of (d['x-kubernetes-group-version-kind'] ?? []) as { group: string; version: string; kind: string }[]) {
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      if (!MODELS[`${apiVersion}/${gvk.kind}`]) continue;
      byKind.set(`${apiVersion}/${gvk.kind}`, ajv.getSchema(`k8s#/definitions/${name}`)!);
    }
  }
  return (o) => {
    const v = byKind.get(`${o.apiVersion}/${o.kind}`);
    if (!v) return [`no ${KUBE_VERSION} schema for ${o.apiVersion}/${o.kind}`];
    return v(o) ? [] : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  };
}
