/**
 * The operator console page: wires the live view (server-sent events from
 * `/console/api/events`) to the map, the region table and panel, the charts, the routing
 * explorer, the planner's recommendation and the app keys. Every action asks for
 * confirmation, then goes through {@link ConsoleApi} (session cookie + CSRF token).
 */
import type { KeyInfo, KeyCreateResult, NodeInfo, RankResult, Region, RegionAutoscalerStatus, Meeting } from '../../../contracts/index.js';
import { AWS_REGIONS } from '../../../control/provider/awsRegions.js';
import { DEMO_CITIES } from '../../demo/demoCities.js';
import { ApiError, ConsoleApi } from './ConsoleApi.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { ago, badge, button, clockTime, el, when } from './format.js';
import { SeriesCharts, type Sample } from './SeriesCharts.js';
import { WorldMap } from './WorldMap.js';

/** What `/console/api/events` pushes (see src/gateway/console/ConsoleFeed.ts). */
interface Snapshot {
  at: string;
  regions: Region[];
  meetings: Record<string, { total: number; meetings: Meeting[] }>;
  autoscaler: RegionAutoscalerStatus[] | null;
  latest: Record<string, Sample>;
  stale: string[];
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const api = new ConsoleApi();
const confirmDialog = new ConfirmDialog($<HTMLDialogElement>('confirm'));
const charts = new SeriesCharts();
let map: WorldMap;
let snapshot: Snapshot | null = null;
let selected: string | null = null;

// ---------------------------------------------------------------- feedback
let toastTimer: ReturnType<typeof setTimeout> | undefined;
function toast(text: string, error = false): void {
  const t = $('toast');
  t.textContent = text;
  t.classList.toggle('error', error);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.textContent = ''), error ? 12_000 : 6_000);
}

/** Runs an action, reports its outcome, and refreshes the view at once. */
async function act(label: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
    toast(`${label}: done`);
  } catch (err) {
    const e = err as ApiError;
    toast(`${label} failed: ${e.code ? `${e.code} — ` : ''}${e.message}`, true);
  }
  await refreshState();
}

// ---------------------------------------------------------------- live view
function participants(r: Region): number {
  return r.nodes.reduce((sum, n) => sum + n.load.participants, 0);
}

function render(s: Snapshot): void {
  snapshot = s;
  const live = $('live');
  live.dataset.state = s.stale.length ? 'stale' : 'live';
  live.textContent = s.stale.length ? `partial: ${s.stale.join(', ')} unavailable` : `live · ${clockTime(s.at)}`;
  const regions = [...s.regions].sort((a, b) => a.id.localeCompare(b.id));
  map.setRegions(regions.map((r) => ({ id: r.id, name: r.name, lat: r.lat, lon: r.lon, status: r.status, participants: participants(r) })));
  renderRegionTable(regions, s);
  renderRegionPanel();
  charts.add(s.latest);
}

function renderRegionTable(regions: readonly Region[], s: Snapshot): void {
  const rows = regions.map((r) => {
    const healthy = r.nodes.filter((n) => n.healthy && n.status === 'active').length;
    const open = el('button', { type: 'button', class: 'quiet small', 'aria-label': `Open ${r.id}` }, r.id);
    open.addEventListener('click', () => selectRegion(r.id, true));
    const tr = el(
      'tr',
      { 'data-region': r.id, class: r.id === selected ? 'selected' : '' },
      el('td', {}, open, el('br'), el('small', {}, r.name)),
      el('td', {}, badge(r.status)),
      el('td', { class: 'num' }, `${healthy}/${r.nodes.length}`),
      el('td', { class: 'num' }, String(participants(r))),
      el('td', { class: 'num' }, String(s.meetings[r.id]?.total ?? '—')),
    );
    return tr;
  });
  $('regions-table').querySelector('tbody')!.replaceChildren(...rows);
}

function selectRegion(id: string, focus: boolean): void {
  selected = id;
  map.select(id);
  if (snapshot) renderRegionTable([...snapshot.regions].sort((a, b) => a.id.localeCompare(b.id)), snapshot);
  renderRegionPanel();
  if (focus) $('region-title').focus();
}

function nodeState(n: NodeInfo, scaler: RegionAutoscalerStatus | undefined): HTMLElement {
  const phase = scaler?.nodes.find((x) => x.nodeId === n.id)?.phase;
  const wrap = el('span');
  wrap.append(badge(n.healthy ? 'healthy' : 'unhealthy', n.healthy ? 'ok' : 'unhealthy'), ' ');
  if (n.status === 'cordoned') wrap.append(badge('cordoned'), ' ');
  if (phase === 'draining' || phase === 'stopping' || phase === 'starting') wrap.append(badge(phase, phase === 'starting' ? 'ok' : 'draining'));
  return wrap;
}

function renderRegionPanel(): void {
  const panel = $('region-panel');
  const r = snapshot?.regions.find((x) => x.id === selected);
  if (!r || !snapshot) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  const now = Date.parse(snapshot.at);
  $('region-title').textContent = `${r.id} — ${r.name}`;
  $('region-summary').textContent = `${r.status} · ${r.lat.toFixed(2)}, ${r.lon.toFixed(2)} · ${participants(r)} participants${r.capacity ? ` · capacity ${r.capacity}` : ''}`;
  $<HTMLButtonElement>('drain-region').disabled = r.status === 'draining';
  $<HTMLButtonElement>('activate-region').hidden = r.status === 'active';
  const scaler = snapshot.autoscaler?.find((a) => a.regionId === r.id);
  const rows = [...r.nodes]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((n) => {
      const pct = n.capacity ? Math.min(100, (n.load.participants / n.capacity) * 100) : 0;
      const bar = el('span', { class: 'bar', role: 'img', 'aria-label': `${pct.toFixed(0)}% of capacity` }, el('span'));
      (bar.firstChild as HTMLElement).style.width = `${pct}%`;
      return el(
        'tr',
        { 'data-node': n.id },
        el('td', {}, el('code', {}, n.id)),
        el('td', {}, bar, `${n.load.participants}/${n.capacity}`),
        el('td', { class: 'num' }, String(n.load.meetings)),
        el('td', { class: 'num' }, `${Math.round(n.load.cpu * 100)}%`),
        el('td', {}, ago(now - n.lastHeartbeatAt)),
        el('td', { class: 'wrap' }, nodeState(n, scaler)),
        el('td', {}, n.status === 'active' ? button('Cordon', `Cordon ${n.id}`, () => void cordonNode(n.id)) : ''),
      );
    });
  $('nodes-table').querySelector('tbody')!.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '7' }, 'No nodes registered'))]));

  const m = snapshot.meetings[r.id];
  $('meetings-count').textContent = m ? `(${m.total})` : '(unavailable)';
  $('meetings-list').replaceChildren(
    ...(m?.meetings.length ? m.meetings.map((x) => el('li', { title: `app ${x.appId}, on ${x.nodeId ?? '—'}` }, x.id)) : [el('li', {}, m ? 'none' : '—')]),
  );

  if (!scaler) {
    $('autoscaler-summary').textContent = snapshot.autoscaler === null ? 'No autoscaler runs in this deployment.' : 'No autoscaler scales this region.';
    $('decisions').replaceChildren();
    return;
  }
  $('autoscaler-summary').textContent = `${scaler.policy} policy on ${scaler.provider} · wants ${scaler.desired} node(s) (${scaler.minNodes}–${scaler.maxNodes}) · forecast ${Math.round(scaler.forecastParticipants)} participants`;
  $('decisions').replaceChildren(
    ...[...scaler.decisions]
      .reverse()
      .slice(0, 30)
      .map((d) => el('li', {}, el('time', { datetime: d.at }, clockTime(d.at)), ' ', el('span', { class: 'what' }, `${d.action} ${d.current}→${d.desired}`), d.nodeId ? ` (${d.nodeId})` : '', ': ', d.reason)),
  );
}

async function refreshState(): Promise<void> {
  try {
    render(await api.get<Snapshot>('/console/api/state'));
  } catch {
    // The stream keeps trying; the status pill says so.
  }
}

function connect(): void {
  const source = new EventSource('/console/api/events');
  source.addEventListener('state', (e) => render(JSON.parse((e as MessageEvent<string>).data) as Snapshot));
  source.addEventListener('expired', () => {
    source.close();
    window.location.assign('/console/login');
  });
  source.addEventListener('error', () => {
    const live = $('live');
    live.dataset.state = 'stale';
    live.textContent = 'reconnecting…';
  });
}

// ---------------------------------------------------------------- actions
async function drainRegion(id: string): Promise<void> {
  const ok = await confirmDialog.ask(`Drain ${id}?`, `New meetings stop going to ${id}. Live meetings stay unless you migrate them.`, 'Drain', [
    { name: 'migrate', label: 'Migrate live calls to other regions now', checked: true },
  ]);
  if (!ok) return;
  await act(`Drain ${id}`, () => api.post(`/console/api/admin/regions/${encodeURIComponent(id)}/drain`, ok.migrate ? { migrate: true } : {}));
}

async function activateRegion(id: string): Promise<void> {
  const ok = await confirmDialog.ask(`Reactivate ${id}?`, `${id} takes new meetings again.`, 'Reactivate');
  if (!ok) return;
  await act(`Reactivate ${id}`, () => api.patch(`/console/api/admin/regions/${encodeURIComponent(id)}`, { status: 'active' }));
}

async function removeRegion(id: string): Promise<void> {
  const ok = await confirmDialog.ask(`Remove ${id}?`, `${id} and its node registrations are deleted. A region with live meetings is only removed with one of the options.`, 'Remove', [
    { name: 'migrate', label: 'Migrate live calls to other regions first' },
    { name: 'force', label: 'Force: end live meetings that cannot move' },
  ]);
  if (!ok) return;
  const q = new URLSearchParams();
  if (ok.migrate) q.set('migrate', 'true');
  if (ok.force) q.set('force', 'true');
  await act(`Remove ${id}`, () => api.delete(`/console/api/admin/regions/${encodeURIComponent(id)}${q.size ? `?${q}` : ''}`));
  if (selected === id) selected = null;
}

async function cordonNode(id: string): Promise<void> {
  const ok = await confirmDialog.ask(`Cordon ${id}?`, `No new meetings are placed on ${id}. Its autoscaler may then stop it.`, 'Cordon', [
    { name: 'migrate', label: 'Move its live calls to other nodes now', checked: true },
  ]);
  if (!ok) return;
  await act(`Cordon ${id}`, () => api.post(`/console/api/admin/nodes/${encodeURIComponent(id)}/drain`, ok.migrate ? { migrate: true } : {}));
}

function setUpRegionForms(): void {
  $('drain-region').addEventListener('click', () => selected && void drainRegion(selected));
  $('activate-region').addEventListener('click', () => selected && void activateRegion(selected));
  $('remove-region').addEventListener('click', () => selected && void removeRegion(selected));
  $('aws-regions').replaceChildren(...AWS_REGIONS.map((r) => el('option', { value: r.id }, r.name)));
  const idInput = $<HTMLInputElement>('add-region-id');
  idInput.addEventListener('change', () => {
    const aws = AWS_REGIONS.find((r) => r.id === idInput.value.trim());
    if (!aws) return;
    $<HTMLInputElement>('add-region-name').value ||= aws.name;
    $<HTMLInputElement>('add-region-lat').value ||= String(aws.lat);
    $<HTMLInputElement>('add-region-lon').value ||= String(aws.lon);
  });
  $<HTMLFormElement>('add-region-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void (async () => {
      const id = idInput.value.trim();
      const aws = AWS_REGIONS.find((r) => r.id === id);
      const name = $<HTMLInputElement>('add-region-name').value.trim() || aws?.name;
      const latText = $<HTMLInputElement>('add-region-lat').value || (aws ? String(aws.lat) : '');
      const lonText = $<HTMLInputElement>('add-region-lon').value || (aws ? String(aws.lon) : '');
      if (!name || latText === '' || lonText === '') return toast(`'${id}' is not a known AWS region: give its name, latitude and longitude`, true);
      const body = { id, name, lat: Number(latText), lon: Number(lonText) };
      const ok = await confirmDialog.ask(`Add ${id}?`, `${name} at ${body.lat}, ${body.lon}. Meetings go there once it has healthy nodes.`, 'Add region');
      if (!ok) return;
      await act(`Add ${id}`, () => api.post('/console/api/admin/regions', body));
      $<HTMLFormElement>('add-region-form').reset();
    })();
  });
}

// ---------------------------------------------------------------- routing explorer and planner
function setUpExplorer(): void {
  $('explorer-city').append(...DEMO_CITIES.map((c) => el('option', { value: c.ip }, c.label)));
  $<HTMLSelectElement>('explorer-city').addEventListener('change', (e) => {
    const ip = (e.target as HTMLSelectElement).value;
    if (ip) $<HTMLInputElement>('explorer-ip').value = ip;
  });
  $<HTMLFormElement>('explorer-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const ip = $<HTMLInputElement>('explorer-ip').value.trim();
    if (!ip) return toast('Type an IP address or pick a city', true);
    void explore(ip);
  });
}

async function explore(ip: string): Promise<void> {
  let result: RankResult;
  try {
    result = await api.get<RankResult>(`/console/api/rank?ip=${encodeURIComponent(ip)}`);
  } catch (err) {
    const e = err as ApiError;
    return toast(`Routing explorer: ${e.code} — ${e.message}`, true);
  }
  const loc = result.location;
  const place = [loc.city, loc.country].filter(Boolean).join(', ') || 'unknown place';
  $('explorer-location').textContent = `${loc.ip} → ${place} (${loc.lat.toFixed(2)}, ${loc.lon.toFixed(2)}; ${loc.source}) · strategy ${result.strategy}`;
  const table = $<HTMLTableElement>('explorer-table');
  table.hidden = false;
  table.querySelector('tbody')!.replaceChildren(
    ...result.regions.map((r, i) =>
      el('tr', { 'data-region': r.id }, el('td', { class: 'num' }, String(i + 1)), el('td', {}, r.id, el('br'), el('small', {}, r.name)), el('td', { class: 'num' }, `${r.distanceKm.toLocaleString()} km`), el('td', { class: 'num' }, `${Math.round(r.rttMs)} ms`), el('td', { class: 'num' }, String(r.availableNodes))),
    ),
  );
  if (!result.regions.length) table.querySelector('tbody')!.append(el('tr', {}, el('td', { colspan: '5' }, 'No region with healthy nodes')));
  map.setRoute({ client: { lat: loc.lat, lon: loc.lon, label: `${loc.ip} (${place})` }, regions: result.regions });
}

interface Plan {
  recommended: string[];
  p50Ms?: number;
  p95Ms?: number;
}

async function loadPlan(): Promise<void> {
  try {
    const answer = await api.get<{ available: boolean; plan?: Plan }>('/console/api/plan');
    if (!answer.available || !answer.plan) throw new ApiError(404, 'ROUTE_NOT_FOUND', 'no region planner');
    const plan = answer.plan;
    $('plan-panel').hidden = false;
    const figures = [plan.p50Ms !== undefined ? `p50 ${Math.round(plan.p50Ms)} ms` : '', plan.p95Ms !== undefined ? `p95 ${Math.round(plan.p95Ms)} ms` : ''].filter(Boolean).join(', ');
    $('plan-summary').textContent = `Recommended regions: ${plan.recommended.join(', ') || 'none'}${figures ? ` (${figures})` : ''}; ringed on the map.`;
    map.setPlan(plan.recommended);
  } catch (err) {
    // No planner in this deployment: the panel stays hidden.
    $('plan-panel').hidden = true;
    map.setPlan([]);
    if ((err as ApiError).status !== 404) toast(`Region planner: ${(err as ApiError).message}`, true);
  }
}

// ---------------------------------------------------------------- app keys
async function loadKeys(): Promise<void> {
  let keys: KeyInfo[];
  try {
    keys = (await api.get<{ keys: KeyInfo[] }>('/console/api/admin/keys')).keys;
  } catch (err) {
    return toast(`App keys: ${(err as ApiError).message}`, true);
  }
  const rows = keys.map((k) =>
    el(
      'tr',
      { 'data-key': k.keyId },
      el('td', {}, el('code', {}, k.keyId)),
      el('td', {}, k.appId, el('br'), el('small', {}, k.label ?? '—')),
      el('td', { class: 'wrap' }, when(k.createdAt)),
      el('td', { class: 'wrap' }, k.lastUsedAt ? when(k.lastUsedAt) : 'never'),
      el('td', { class: 'wrap' }, k.revokedAt ? badge('revoked') : badge('active')),
      el('td', {}, k.revokedAt ? '' : button('Revoke', `Revoke ${k.keyId}`, () => void revokeKey(k))),
    ),
  );
  $('keys-table').querySelector('tbody')!.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '6' }, 'No app keys'))]));
}

async function revokeKey(k: KeyInfo): Promise<void> {
  const ok = await confirmDialog.ask(`Revoke ${k.keyId}?`, `App ${k.appId}${k.label ? ` (${k.label})` : ''} can no longer create or join meetings with this key, on every gateway, within a second. This cannot be undone.`, 'Revoke key');
  if (!ok) return;
  await act(`Revoke ${k.keyId}`, () => api.delete(`/console/api/admin/keys/${encodeURIComponent(k.keyId)}`));
  await loadKeys();
}

function setUpKeys(): void {
  $<HTMLFormElement>('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void (async () => {
      const body: Record<string, string> = {};
      const appId = $<HTMLInputElement>('key-app').value.trim();
      const label = $<HTMLInputElement>('key-label').value.trim();
      if (appId) body.appId = appId;
      if (label) body.label = label;
      try {
        const created = await api.post<KeyCreateResult>('/console/api/admin/keys', body);
        $('new-key-value').textContent = created.key;
        $('new-key').hidden = false;
        toast(`Key ${created.keyId} created for app ${created.appId}`);
        $<HTMLFormElement>('key-form').reset();
      } catch (err) {
        toast(`Create key failed: ${(err as ApiError).message}`, true);
      }
      await loadKeys();
    })();
  });
  $('copy-key').addEventListener('click', () => {
    void navigator.clipboard?.writeText($('new-key-value').textContent ?? '').then(
      () => toast('Key copied'),
      () => toast('Copy failed: select the key and copy it', true),
    );
  });
  $('dismiss-key').addEventListener('click', () => {
    $('new-key-value').textContent = '';
    $('new-key').hidden = true;
  });
}

// ---------------------------------------------------------------- start
async function main(): Promise<void> {
  const [atlas] = await Promise.all([fetch('/console/assets/countries-110m.json').then((r) => r.json() as Promise<unknown>), api.start()]);
  map = new WorldMap($('map'), atlas, (id, viaKeyboard) => selectRegion(id, viaKeyboard));
  $('session').textContent = `session until ${clockTime(api.expiresAt)}`;
  $('logout').addEventListener('click', () => {
    void api.post('/console/logout').finally(() => window.location.assign('/console/login'));
  });
  setUpRegionForms();
  setUpExplorer();
  setUpKeys();
  const series = await api.get<{ regions: Record<string, Sample[]> }>('/console/api/series');
  charts.load(series.regions);
  new ResizeObserver(() => charts.resize()).observe(document.querySelector('.charts')!);
  await refreshState();
  connect();
  void loadKeys();
  void loadPlan();
  setInterval(() => void loadKeys(), 30_000);
  setInterval(() => void loadPlan(), 60_000);
}

void main().catch((err: unknown) => toast(`The console could not start: ${(err as Error).message}`, true));
