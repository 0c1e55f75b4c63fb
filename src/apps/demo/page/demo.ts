/**
 * The demo page's script (browser). It gets join responses from the gateway's demo route
 * (`POST /demo/join`, which holds the app identity server-side) and uses the SDK the way an
 * app would: the SDK is loaded from `/sdk/meridian.js` at run time (the build keeps that
 * import external).
 *
 * Opening `/?meeting=<id>&name=<name>[&from=<city>]` joins at once.
 * `window.meridianDemo` exposes the client, its placement, reconnects and moves, and a
 * presented-frame counter per remote participant, for tests and the benchmark.
 *
 * When the node of the call is lost the SDK rejoins by itself: the page shows
 * "Reconnecting…" with the reason, then the new region and node, and the videos play again
 * (the same `<video>` elements get the new streams). Rejoins pass this page's participant id
 * to `/demo/join`, so the page stays the same participant.
 */
import { MeridianClient, type ConnectedEvent, type JoinRequestOptions, type JoinResponse } from '../../../client/index.js';

/** Presented video frames of one remote participant, counted on its `<video>` (across stream changes). */
interface FrameCounter {
  /** Frames presented so far. */
  count: number;
  /** performance.now() of the last one. */
  lastAt: number | null;
}

/** One entry of the page's failover timeline. */
interface DemoEvent {
  /** performance.now() */
  at: number;
  type: 'reconnecting' | 'reconnected' | 'migrating' | 'migrated' | 'disconnected';
  detail: string;
}

interface DemoTimings {
  /** performance.now() when joining started. */
  joinStartedAt?: number;
  connectedAt?: number;
  /** First frame of any remote participant's video shown. */
  firstRemoteFrameAt?: number;
  joinToFirstFrameMs?: number;
}

interface DemoState {
  client: MeridianClient | undefined;
  timings: DemoTimings;
  /** The current placement (updated on reconnect and migration). */
  connection: ConnectedEvent | undefined;
  fallbacks: Array<{ from: string; to: string; reason: string }>;
  errors: Array<{ code: string; message: string }>;
  /** Mirror of `client.state` (`connecting`, `connected`, `reconnecting`, `closed`). */
  state: string;
  /** Times the call was rejoined after losing its node (`reconnected` events). */
  reconnects: number;
  /** Planned moves completed (`migrated` events). */
  migrations: number;
  /** The latest `reconnecting` event while reconnecting, else null. */
  reconnecting: { reason: string; attempt: number } | null;
  /** Reconnect and migration timeline. */
  events: DemoEvent[];
  /** Presented frames per remote participant id. */
  frames: Record<string, FrameCounter>;
  /** The current node id, region id and this page's participant id (null before joining). */
  readonly node: string | null;
  readonly region: string | null;
  readonly participantId: string | null;
}

declare global {
  interface Window {
    meridianDemo: DemoState;
  }
}

const state: DemoState = {
  client: undefined,
  timings: {},
  connection: undefined,
  fallbacks: [],
  errors: [],
  state: 'idle',
  reconnects: 0,
  migrations: 0,
  reconnecting: null,
  events: [],
  frames: {},
  get node() {
    return this.connection?.node.id ?? null;
  },
  get region() {
    return this.connection?.region.id ?? null;
  },
  get participantId() {
    return this.client?.participantId ?? null;
  },
};
window.meridianDemo = state;

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
};

const joinPanel = $('join-panel');
const callPanel = $('call');
const form = $<HTMLFormElement>('join-form');
const meetingInput = $<HTMLInputElement>('meeting-input');
const nameInput = $<HTMLInputElement>('name-input');
const fromSelect = $<HTMLSelectElement>('from-select');
const videos = $('videos');
const localVideo = $<HTMLVideoElement>('local-video');
const statusLine = $('status');
const log = $('log');
const unmuteButton = $<HTMLButtonElement>('unmute-button');
const micButton = $<HTMLButtonElement>('mic-button');
const cameraButton = $<HTMLButtonElement>('camera-button');

/** Meeting ids allow `[A-Za-z0-9_.-]`; a typed name becomes one ("Team Standup" → "team-standup"). */
function meetingIdFrom(name: string): string {
  return (
    name
      .trim()
      .toLowerCase()
      .replace(/\s+/g, '-')
      .replace(/[^a-z0-9_.-]/g, '')
      .slice(0, 128) || 'lobby'
  );
}

function setStatus(text: string, isError = false): void {
  statusLine.textContent = text;
  statusLine.classList.toggle('error', isError);
}

function addLog(text: string): void {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  log.prepend(li);
}

async function loadCities(): Promise<void> {
  try {
    const res = await fetch('/demo/cities');
    if (!res.ok) return;
    const { cities } = (await res.json()) as { cities: Array<{ id: string; label: string }> };
    for (const c of cities) {
      const option = document.createElement('option');
      option.value = c.id;
      option.textContent = c.label;
      fromSelect.append(option);
    }
  } catch {
    // The select keeps "my real location".
  }
}

/**
 * Asks the demo route for a placement (and a new one, naming the unreachable node, on
 * fallback; on a reconnect or move also as the same participant, with the reason).
 */
function demoJoin(meetingId: string, name: string, asIfFrom: string) {
  return async (opts: JoinRequestOptions): Promise<JoinResponse> => {
    const body: Record<string, string> = { meetingId, name };
    if (asIfFrom) body.asIfFrom = asIfFrom;
    if (opts.unreachableNodeId) body.unreachableNodeId = opts.unreachableNodeId;
    if (opts.participantId) body.participantId = opts.participantId;
    if (opts.reason) body.reason = opts.reason;
    if (opts.previousNodeId) body.previousNodeId = opts.previousNodeId;
    const res = await fetch('/demo/join', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const payload = (await res.json().catch(() => ({}))) as JoinResponse & { error?: { code: string; message: string } };
    if (!res.ok) throw Object.assign(new Error(payload.error?.message ?? `join failed (HTTP ${res.status})`), { code: payload.error?.code ?? 'JOIN_REQUEST_FAILED' });
    return payload;
  };
}

function tileFor(participantId: string, name: string): HTMLVideoElement {
  const existing = videos.querySelector<HTMLVideoElement>(`video[data-participant-id="${CSS.escape(participantId)}"]`);
  if (existing) return existing;
  const figure = document.createElement('figure');
  figure.className = 'tile remote';
  figure.dataset.participantId = participantId;
  const video = document.createElement('video');
  video.className = 'remote';
  video.dataset.participantId = participantId;
  video.autoplay = true;
  video.playsInline = true;
  const caption = document.createElement('figcaption');
  caption.textContent = name;
  figure.append(video, caption);
  videos.append(figure);
  countFrames(video, participantId);
  return video;
}

/**
 * Counts presented frames of a remote `<video>` (a frozen picture keeps `currentTime`
 * running, so time is no proof of media). Keeps counting when the SDK hands the element a
 * new stream after a reconnect or move.
 */
function countFrames(video: HTMLVideoElement, participantId: string): void {
  if (typeof video.requestVideoFrameCallback !== 'function') return;
  const counter = (state.frames[participantId] ??= { count: 0, lastAt: null });
  const onFrame = (now: number) => {
    counter.count++;
    counter.lastAt = now;
    if (video.isConnected) video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}

function noteEvent(type: DemoEvent['type'], detail: string): void {
  state.events.push({ at: performance.now(), type, detail });
  if (state.events.length > 200) state.events.splice(0, state.events.length - 200);
}

const REASON_TEXT: Record<string, string> = {
  'signaling-closed': 'the connection to the meeting node was lost',
  'node-unresponsive': 'the meeting node stopped answering',
  'media-failed': 'the media connection failed',
};

function removeTile(participantId: string): void {
  videos.querySelector(`figure[data-participant-id="${CSS.escape(participantId)}"]`)?.remove();
}

/** Plays with sound if the browser allows it, else muted with a button to unmute. */
function play(video: HTMLVideoElement): void {
  video.play().catch(() => {
    video.muted = true;
    unmuteButton.hidden = false;
    void video.play().catch(() => {});
  });
}

function watchFirstFrame(video: HTMLVideoElement): void {
  if (state.timings.firstRemoteFrameAt !== undefined) return;
  const mark = () => {
    if (state.timings.firstRemoteFrameAt !== undefined || state.timings.joinStartedAt === undefined) return;
    state.timings.firstRemoteFrameAt = performance.now();
    state.timings.joinToFirstFrameMs = Math.round(state.timings.firstRemoteFrameAt - state.timings.joinStartedAt);
    addLog(`first remote video frame ${state.timings.joinToFirstFrameMs} ms after joining`);
  };
  // requestVideoFrameCallback: the moment a frame is composited (Chrome, Safari); else the first data.
  if (typeof video.requestVideoFrameCallback === 'function') video.requestVideoFrameCallback(() => mark());
  else (video as HTMLVideoElement).addEventListener('loadeddata', mark, { once: true });
}

function showPlacement(c: ConnectedEvent): void {
  $('region').textContent = `${c.region.name} (${c.region.id})`;
  $('node').textContent = c.node.id;
  $('rtt').textContent = c.rttMs === null ? 'measuring…' : `${c.rttMs} ms`;
  const where = [c.location.city, c.location.country].filter(Boolean).join(', ') || c.location.source;
  $('location').textContent = `${where} (${c.location.ip}, ${c.location.source})`;
  const list = $('fallbacks');
  list.replaceChildren(
    ...c.fallbacks.map((f) => {
      const li = document.createElement('li');
      li.textContent = `${f.region.name} (${f.region.id}), ~${Math.round(f.distanceKm)} km, est. ${Math.round(f.rttMs)} ms`;
      return li;
    }),
  );
  if (c.fallbacks.length === 0) list.append(Object.assign(document.createElement('li'), { textContent: 'none' }));
}

async function join(meetingName: string, name: string, asIfFrom: string): Promise<void> {
  const meetingId = meetingIdFrom(meetingName);
  state.timings = { joinStartedAt: performance.now() };
  state.fallbacks = [];
  state.errors = [];
  state.reconnects = 0;
  state.migrations = 0;
  state.reconnecting = null;
  state.events = [];
  joinPanel.hidden = true;
  callPanel.hidden = false;
  $('meeting-name').textContent = meetingId;
  const link = new URL('/', location.href);
  link.searchParams.set('meeting', meetingId);
  const share = $<HTMLAnchorElement>('share-link');
  share.href = link.href;
  share.textContent = link.href;
  history.replaceState(null, '', `/?${new URLSearchParams({ meeting: meetingId, name, ...(asIfFrom ? { from: asIfFrom } : {}) }).toString()}`);
  setStatus('Opening camera and microphone…');

  const client = new MeridianClient({ join: demoJoin(meetingId, name, asIfFrom) });
  state.client = client;
  state.state = client.state;
  client.on('local-stream', ({ stream }) => {
    localVideo.srcObject = stream;
    setStatus('Connecting to the meeting node…');
  });
  client.on('fallback', ({ from, to, reason }) => {
    const entry = { from: `${from.region.id}/${from.nodeId}`, to: `${to.region.id}/${to.nodeId}`, reason: reason.code };
    state.fallbacks.push(entry);
    addLog(`fallback: ${entry.from} unreachable (${reason.code}), now ${entry.to}`);
    setStatus(`${from.region.name} could not be reached; trying ${to.region.name}…`);
  });
  const syncState = () => {
    state.state = client.state;
    callPanel.dataset.state = client.state;
  };
  client.on('reconnecting', ({ reason, attempt, from }) => {
    state.reconnecting = { reason, attempt };
    syncState();
    noteEvent('reconnecting', `${reason} (attempt ${attempt})`);
    if (attempt === 1) addLog(`lost ${from.region.id}/${from.nodeId}: ${REASON_TEXT[reason] ?? reason}; reconnecting`);
    setStatus(`Reconnecting… (${REASON_TEXT[reason] ?? reason}${attempt > 1 ? `, attempt ${attempt}` : ''})`);
  });
  client.on('reconnected', (c) => {
    state.connection = c;
    state.reconnects++;
    state.reconnecting = null;
    syncState();
    showPlacement(c);
    noteEvent('reconnected', `${c.region.id}/${c.node.id} after ${c.elapsedMs} ms`);
    addLog(`reconnected to ${c.node.id} in ${c.region.id} after ${c.elapsedMs} ms (${c.reconnectAttempts} ${c.reconnectAttempts === 1 ? 'try' : 'tries'})`);
    setStatus(`Reconnected: now in ${c.region.name} (${c.region.id}) on ${c.node.id}.`);
  });
  client.on('migrating', ({ reason, from }) => {
    noteEvent('migrating', reason);
    addLog(`${from.region.id}/${from.nodeId} asked to move (${reason})`);
    setStatus(`Moving the call to another media server (${reason})…`);
  });
  client.on('migrated', (c) => {
    state.connection = c;
    state.migrations++;
    syncState();
    showPlacement(c);
    noteEvent('migrated', `${c.region.id}/${c.node.id} after ${c.elapsedMs} ms`);
    addLog(`moved to ${c.node.id} in ${c.region.id} in ${c.elapsedMs} ms`);
    setStatus(`Moved: now in ${c.region.name} (${c.region.id}) on ${c.node.id}.`);
  });
  client.on('connected', (c) => {
    syncState();
    state.connection = c;
    state.timings.connectedAt = performance.now();
    showPlacement(c);
    setStatus(c.attempts > 1 ? `Connected after ${c.attempts} attempts.` : 'Connected.');
    addLog(`connected to ${c.node.id} in ${c.region.id}${c.rttMs === null ? '' : `, RTT ${c.rttMs} ms`}`);
  });
  client.on('rtt', ({ rttMs }) => {
    $('rtt').textContent = `${rttMs} ms`;
  });
  client.on('participant-joined', ({ participant }) => {
    tileFor(participant.id, participant.name);
    addLog(`${participant.name} joined`);
  });
  client.on('participant-left', ({ participant }) => {
    removeTile(participant.id);
    addLog(`${participant.name} left`);
  });
  client.on('track', ({ participant, stream }) => {
    const video = tileFor(participant.id, participant.name);
    video.srcObject = stream;
    watchFirstFrame(video);
    play(video);
  });
  client.on('active-speaker', ({ participantId }) => {
    videos.querySelectorAll<HTMLElement>('figure.remote').forEach((tile) => tile.classList.toggle('speaking', tile.dataset.participantId === participantId));
  });
  client.on('error', ({ code, message }) => {
    state.errors.push({ code, message });
    addLog(`error ${code}: ${message}`);
    // While the SDK recovers by itself, its status line stays; the log has the details.
    if (code !== 'RECONNECT_FAILED' && (client.state === 'reconnecting' || code === 'MIGRATION_FAILED')) return;
    setStatus(`${code}: ${message}`, true);
  });
  client.on('disconnected', ({ code, reason }) => {
    syncState();
    state.reconnecting = null;
    noteEvent('disconnected', `${code}${reason ? ` ${reason}` : ''}`);
    addLog(`disconnected (${code}${reason ? `, ${reason}` : ''})`);
    videos.querySelectorAll('figure.remote').forEach((tile) => tile.remove());
    localVideo.srcObject = null;
  });
  const connecting = client.connect();
  syncState();
  await connecting.catch(() => {
    // Reported through the `error` event.
  });
}

/**
 * The pre-call test: RTT to the best regions through their nodes (the SDK), then the
 * ranking Meridian gives with those measurements (the demo backend posts them).
 */
async function testConnection(from: string): Promise<void> {
  const results = $('precall-results');
  results.replaceChildren();
  const item = (text: string) => {
    const li = document.createElement('li');
    li.textContent = text;
    results.append(li);
  };
  const q = from ? `?asIfFrom=${encodeURIComponent(from)}` : '';
  try {
    const r = await MeridianClient.precallTest({ targets: `/demo/precall/targets${q}` });
    for (const region of r.regions) item(`${region.name} (${region.regionId}): ${region.rttMs === null ? `no answer (${region.error})` : `${region.rttMs} ms`}`);
    if (r.probes.length === 0) return;
    const res = await fetch('/demo/precall', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(from ? { probes: r.probes, asIfFrom: from } : { probes: r.probes }) });
    const ranked = (await res.json()) as { source?: string; regions?: Array<{ id: string }> };
    if (res.ok && ranked.regions?.[0]) item(`Meridian would now place you in ${ranked.regions[0].id} (ranked by ${ranked.source}); test took ${r.durationMs} ms`);
  } catch (err) {
    item(`The test failed: ${(err as Error).message}`);
  }
}

$('precall-button').addEventListener('click', () => void testConnection(fromSelect.value));

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void join(meetingInput.value, nameInput.value.trim(), fromSelect.value);
});

$('leave-button').addEventListener('click', () => {
  void state.client?.leave().then(() => {
    setStatus('You left the meeting.');
    callPanel.hidden = true;
    joinPanel.hidden = false;
  });
});

unmuteButton.addEventListener('click', () => {
  videos.querySelectorAll<HTMLVideoElement>('video.remote').forEach((v) => {
    v.muted = false;
    void v.play().catch(() => {});
  });
  unmuteButton.hidden = true;
});

micButton.addEventListener('click', () => {
  const on = micButton.getAttribute('aria-pressed') !== 'true';
  state.client?.setMicrophoneEnabled(on);
  micButton.setAttribute('aria-pressed', String(on));
  micButton.textContent = on ? 'Mute microphone' : 'Unmute microphone';
});

cameraButton.addEventListener('click', () => {
  const on = cameraButton.getAttribute('aria-pressed') !== 'true';
  state.client?.setCameraEnabled(on);
  cameraButton.setAttribute('aria-pressed', String(on));
  cameraButton.textContent = on ? 'Turn camera off' : 'Turn camera on';
});

window.addEventListener('pagehide', () => {
  void state.client?.leave();
});

const params = new URLSearchParams(location.search);
const presetMeeting = params.get('meeting');
const presetName = params.get('name');
const presetFrom = params.get('from') ?? '';
if (presetMeeting) meetingInput.value = presetMeeting;
if (presetName) nameInput.value = presetName;
void loadCities().then(() => {
  if (presetFrom) fromSelect.value = presetFrom;
});
if (presetMeeting && presetName) void join(presetMeeting, presetName, presetFrom);
