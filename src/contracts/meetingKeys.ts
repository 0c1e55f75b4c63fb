/**
 * Meeting ids are chosen by apps, so they are unique per app, not globally: two apps may
 * both have a meeting `standup`. The control plane names a meeting by (app, id). A meeting
 * node hosts meetings of every app, so it keys its rooms by a *room key* that carries the
 * app: `<appId>/<meetingId>` (app ids have no `/`, meeting ids neither, so the split is
 * unambiguous). The join token carries the app (`app` claim) beside the meeting (`mtg`);
 * the node reports room keys (heartbeat `meetings`, `rooms.meetingEnded`) and is told room
 * keys (`nodes.command`). A token without `app` (minted before app scoping) keys by the
 * bare meeting id.
 *
 * Dependency-free: the node, the control plane and the SDK build import it.
 */

/** Longest meeting id, everywhere: schemas, the route parameter limit, the node's token check. */
export const MEETING_ID_MAX_LENGTH = 128;

/**
 * A meeting id: 1–128 of `A-Z a-z 0-9 _ . -`, not only dots (`.` and `..` would be
 * rewritten as path segments by URL handling and could never be reached).
 */
export const MEETING_ID_PATTERN = `^(?!\\.+$)[A-Za-z0-9_.-]{1,${MEETING_ID_MAX_LENGTH}}$`;

/** An app id: 1–64 of `A-Z a-z 0-9 _ -`. */
export const APP_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

/** A room key as nodes use it: `<appId>/<meetingId>`, or a bare meeting id. */
export const ROOM_KEY_PATTERN = `^([A-Za-z0-9_-]{1,64}/)?(?!\\.+$)[A-Za-z0-9_.-]{1,${MEETING_ID_MAX_LENGTH}}$`;

const MEETING_ID = new RegExp(MEETING_ID_PATTERN);
const APP_ID = new RegExp(APP_ID_PATTERN);

/** True for a valid meeting id. */
export function isMeetingId(v: unknown): v is string {
  return typeof v === 'string' && MEETING_ID.test(v);
}

/** True for a valid app id. */
export function isAppId(v: unknown): v is string {
  return typeof v === 'string' && APP_ID.test(v);
}

/** The room key of an app's meeting (`app` undefined: the bare id, for tokens without an app). */
export function roomKey(appId: string | undefined, meetingId: string): string {
  return appId ? `${appId}/${meetingId}` : meetingId;
}

/** Splits a room key; `appId` is undefined for a bare meeting id. */
export function parseRoomKey(key: string): { appId: string | undefined; meetingId: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { appId: undefined, meetingId: key } : { appId: key.slice(0, slash), meetingId: key.slice(slash + 1) };
}
