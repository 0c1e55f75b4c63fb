/**
 * The deployment files a user applies (deploy/): there is no Kubernetes here, so this
 * checks what can go wrong without one — every file parses, every role has its workload,
 * probes point at the routes the processes really serve, and every setting they pass is a
 * real configuration key (src/config/loadConfig.ts ENV_VARS).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ENV_VARS } from '../../../src/config/loadConfig.js';
import { DEFAULTS } from '../../../src/config/defaults.js';
import { DATABASE_ROLES, ROLES } from '../../../src/apps/roles.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const K8S = join(ROOT, 'deploy/kubernetes');
const CONFIG_VARS = new Set([...ENV_VARS.map(([name]) => name), 'MERIDIAN_CONFIG']);
/** Kubernetes downward-API helpers the manifests may define to compose a setting. */
const HELPER_VARS = new Set(['POD_NAME', 'POD_IP', 'NODE_NAME', 'HOST_IP']);
const REGIONS = ['us-east-1', 'eu-central-1', 'ap-south-1'];

type Obj = Record<string, any>;
interface Doc {
  file: string;
  obj: Obj;
}

function loadDocs(): Doc[] {
  const out: Doc[] = [];
  for (const file of readdirSync(K8S).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(K8S, file), 'utf8'))) {
      assert.deepEqual(d.errors, [], `${file} parses`);
      const obj = d.toJS() as Obj | null;
      if (obj) out.push({ file, obj });
    }
  }
  return out;
}

const docs = loadDocs();
const ofKind = (kind: string) => docs.filter((d) => d.obj.kind === kind);
const workloads = docs.filter((d) => ['Deployment', 'StatefulSet'].includes(d.obj.kind) && d.obj.metadata?.labels?.['app.kubernetes.io/name'] === 'meridian');
const containerOf = (d: Doc): Obj => d.obj.spec.template.spec.containers[0];
/** The container's command line as one string (the SFU's goes through `sh -c`). */
const commandLine = (d: Doc): string => [...(containerOf(d).command ?? []), ...(containerOf(d).args ?? [])].join(' ');
const SERVE = /(?:^|\s)(?:node bin\/meridian\.js )?serve --role (\S+)(?: --region (\S+))?/;
const roleOf = (d: Doc): string => {
  const m = SERVE.exec(commandLine(d));
  assert.ok(m, `${d.obj.metadata.name} runs \`meridian serve --role …\` (got ${commandLine(d)})`);
  if (!containerOf(d).command) assert.equal(containerOf(d).args[0], 'serve', 'the image entrypoint is the CLI');
  return m[1]!;
};
const regionOf = (d: Doc): string | undefined => SERVE.exec(commandLine(d))?.[2];
const configMap = ofKind('ConfigMap').find((d) => d.obj.metadata.name === 'meridian-config')!.obj;
const secret = ofKind('Secret').find((d) => d.obj.metadata.name === 'meridian-secrets')!.obj;

/** The env a container ends up with (names only), and the port it listens on. */
function containerEnv(c: Obj): { names: Set<string>; port: number } {
  const names = new Set<string>();
  let port = DEFAULTS.port;
  for (const from of c.envFrom ?? []) {
    const cm = from.configMapRef && ofKind('ConfigMap').find((d) => d.obj.metadata.name === from.configMapRef.name);
    assert.ok(cm, `envFrom ${JSON.stringify(from)} names a ConfigMap in deploy/kubernetes`);
    for (const k of Object.keys(cm.obj.data ?? {})) names.add(k);
    if (cm.obj.data?.MERIDIAN_PORT) port = Number(cm.obj.data.MERIDIAN_PORT);
  }
  for (const e of c.env ?? []) {
    names.add(e.name);
    if (e.name === 'MERIDIAN_PORT') port = Number(e.value);
  }
  return { names, port };
}

test('every manifest parses, and kustomization.yaml lists each of them (the Secret is an example)', () => {
  assert.ok(workloads.length > 0);
  const kustomization = docs.find((d) => d.file === 'kustomization.yaml')!.obj;
  const files = readdirSync(K8S).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml' && f !== 'secret.example.yaml');
  assert.deepEqual([...kustomization.resources].sort(), files.sort());
  for (const d of docs.filter((x) => x.obj.kind !== 'Kustomization')) {
    assert.ok(d.obj.apiVersion && d.obj.metadata?.name, `${d.file}: ${d.obj.kind} has apiVersion and a name`);
  }
});

test('every role has its workload: a Deployment per role, the SFU nodes as a StatefulSet per region', () => {
  const deployed = new Set(workloads.filter((d) => d.obj.kind === 'Deployment').map(roleOf));
  for (const role of ROLES.filter((r) => r !== 'sfu')) assert.ok(deployed.has(role), `a Deployment runs --role ${role}`);
  const sfus = workloads.filter((d) => d.obj.kind === 'StatefulSet');
  assert.ok(sfus.every((d) => roleOf(d) === 'sfu'), 'only SFU nodes are StatefulSets');
  for (const region of REGIONS) {
    const s = sfus.find((d) => regionOf(d) === region);
    assert.ok(s, `an SFU StatefulSet for ${region}`);
    assert.equal(s.obj.spec.template.metadata.labels['meridian.io/region'], region);
    const svc = ofKind('Service').find((d) => d.obj.metadata.name === s.obj.spec.serviceName);
    assert.ok(svc, `${s.obj.metadata.name}: its serviceName is a Service`);
    assert.equal(svc.obj.spec.clusterIP, 'None', 'the governing Service is headless (stable per-node names)');
    // Node id = pod name (stable in a StatefulSet); its key from the region's key Secret.
    const env = containerOf(s).env as Obj[];
    assert.equal(env.find((e) => e.name === 'MERIDIAN_NODE_ID')?.valueFrom?.fieldRef?.fieldPath, 'metadata.name');
    const keys = s.obj.spec.template.spec.volumes.find((v: Obj) => v.secret?.secretName === `meridian-sfu-keys-${region}`);
    assert.ok(keys, `${s.obj.metadata.name} mounts meridian-sfu-keys-${region}`);
    const mount = containerOf(s).volumeMounts.find((m: Obj) => m.name === keys.name);
    assert.ok(commandLine(s).includes(`MERIDIAN_NODE_KEY="$(cat "${mount.mountPath}/$MERIDIAN_NODE_ID")"`), 'the node gets its own key from the mounted Secret');
  }
  assert.ok(ofKind('Secret').some((d) => d.obj.metadata.name === 'meridian-sfu-keys-us-east-1'), 'secret.example.yaml shows a node-key Secret');
  for (const d of workloads) {
    const role = roleOf(d);
    assert.ok((ROLES as readonly string[]).includes(role), `${d.obj.metadata.name}: ${role} is a role`);
    const region = regionOf(d);
    if (role === 'sfu' || role === 'autoscaler') assert.ok(region && REGIONS.includes(region), `${d.obj.metadata.name} names its region`);
    else assert.equal(region, undefined);
    // Selectors match the pod template (otherwise the API server rejects the object).
    for (const [k, v] of Object.entries(d.obj.spec.selector.matchLabels)) assert.equal(d.obj.spec.template.metadata.labels[k], v);
  }
});

test('the gateway runs several copies behind a Service', () => {
  const gw = workloads.find((d) => roleOf(d) === 'gateway')!;
  assert.ok(gw.obj.spec.replicas >= 2);
  const svc = ofKind('Service').find((s) => Object.entries(s.obj.spec.selector ?? {}).every(([k, v]) => gw.obj.spec.template.metadata.labels[k] === v) && s.obj.spec.clusterIP !== 'None');
  assert.ok(svc, 'a Service selects the gateway pods');
  const http = containerOf(gw).ports.find((p: Obj) => p.name === svc.obj.spec.ports[0].targetPort);
  assert.ok(http, 'the Service targets a named container port');
});

test('probes point at /healthz and /readyz on the port the process listens on (MERIDIAN_PORT)', () => {
  for (const d of workloads) {
    const c = containerOf(d);
    const { port } = containerEnv(c);
    assert.equal(c.readinessProbe?.httpGet?.path, '/readyz', `${d.obj.metadata.name} readiness`);
    assert.equal(c.livenessProbe?.httpGet?.path, '/healthz', `${d.obj.metadata.name} liveness`);
    if (c.startupProbe) assert.equal(c.startupProbe.httpGet?.path, '/healthz');
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe].filter(Boolean)) {
      const named = c.ports.find((p: Obj) => p.name === probe.httpGet.port);
      const target = typeof probe.httpGet.port === 'number' ? probe.httpGet.port : named?.containerPort;
      assert.equal(target, port, `${d.obj.metadata.name}: probe port is MERIDIAN_PORT (${port})`);
    }
  }
});

test('every setting passed to a role is a real configuration key', () => {
  for (const [k] of Object.entries(configMap.data)) assert.ok(CONFIG_VARS.has(k), `ConfigMap key ${k} is in ENV_VARS`);
  for (const [k] of Object.entries(secret.stringData)) assert.ok(CONFIG_VARS.has(k), `Secret key ${k} is in ENV_VARS`);
  // Variables set on the command line (sh -c "NAME=… exec …") are settings too.
  for (const d of workloads) for (const m of commandLine(d).matchAll(/\b(MERIDIAN_[A-Z0-9_]+)=/g)) assert.ok(CONFIG_VARS.has(m[1]!), `${d.obj.metadata.name}: ${m[1]} is in ENV_VARS`);
  for (const d of workloads) {
    const c = containerOf(d);
    const defined: string[] = [];
    for (const e of c.env ?? []) {
      assert.ok(CONFIG_VARS.has(e.name) || HELPER_VARS.has(e.name), `${d.obj.metadata.name}: env ${e.name} is in ENV_VARS`);
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) {
        assert.equal(ref.name, 'meridian-secrets');
        assert.ok(ref.key in secret.stringData, `${d.obj.metadata.name}: secret key ${ref.key} is in secret.example.yaml`);
        assert.equal(ref.key, e.name, 'secret keys are the variable names');
      }
      // $(VAR) only refers to variables defined before it in the same container.
      for (const m of String(e.value ?? '').matchAll(/\$\(([A-Z_]+)\)/g)) assert.ok(defined.includes(m[1]!), `${d.obj.metadata.name}: ${e.name} uses $(${m[1]}) defined above`);
      defined.push(e.name);
    }
  }
});

test('each role gets the credentials it needs and no others', () => {
  for (const d of workloads) {
    const role = roleOf(d);
    const { names } = containerEnv(containerOf(d));
    assert.equal(names.has('MERIDIAN_TRANSPORTER') && names.has('MERIDIAN_NAMESPACE'), true, `${role}: NATS and namespace`);
    assert.equal(names.has('MERIDIAN_DATABASE_URL'), DATABASE_ROLES.has(role as never), `${role}: database URL iff it owns tables`);
    assert.equal(names.has('MERIDIAN_ADMIN_KEY'), role === 'gateway', `${role}: admin key only on the gateway`);
  }
});

test('the container image runs the CLI from the build and listens on the default port', () => {
  const file = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
  const lines = file.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  assert.match(lines.find((l) => l.startsWith('ENTRYPOINT'))!, /"node", "bin\/meridian\.js"/);
  assert.ok(existsSync(join(ROOT, 'bin/meridian.js')));
  assert.match(file, new RegExp(`EXPOSE ${DEFAULTS.port}\\b`));
  for (const l of lines.filter((x) => x.startsWith('COPY ') && !x.includes('--from='))) {
    for (const src of l.split(/\s+/).slice(1, -1)) assert.ok(existsSync(join(ROOT, src)), `COPY source ${src} exists`);
  }
  const ignore = readFileSync(join(ROOT, 'deploy/Dockerfile.dockerignore'), 'utf8');
  for (const l of lines.filter((x) => x.startsWith('COPY ') && !x.includes('--from='))) {
    for (const src of l.split(/\s+/).slice(1, -1)) assert.ok(ignore.includes(`!${src.replace(/\/$/, '')}`), `${src} is in the build context`);
  }
});

test('docs/deployment.md names only real settings and every role', () => {
  const doc = readFileSync(join(ROOT, 'docs/deployment.md'), 'utf8');
  for (const m of doc.matchAll(/\bMERIDIAN_[A-Z0-9_]+/g)) {
    if (['MERIDIAN_URL', 'MERIDIAN_APP_KEY'].includes(m[0])) continue; // the CLI's and the benchmark's, not the server's
    assert.ok(CONFIG_VARS.has(m[0]), `${m[0]} (docs/deployment.md) is in ENV_VARS`);
  }
  for (const role of ROLES) assert.ok(doc.includes(`\`${role}\``), `docs/deployment.md describes \`${role}\``);
});
