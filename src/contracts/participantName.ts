/**
 * Participant display names come from apps (and from anyone through the demo page) and are
 * shown to every other participant, so they are cleaned once, where joins enter the
 * platform: control characters (C0, C1, DEL) and bidirectional overrides, embeddings,
 * isolates and marks (which can make a name render as something else, "Trojan Source"
 * style) are removed, lone UTF-16 surrogates are dropped, runs of white space become one
 * space, the result is trimmed and capped at {@link PARTICIPANT_NAME_MAX_LENGTH} code
 * points (never splitting a surrogate pair). Letters, emoji (with their joiners and
 * variation selectors) and combining marks are kept.
 *
 * Dependency-free: the gateway, the demo route and the room manager import it.
 */
import { MeridianError } from './errors.js';

/** Longest display name, in code points, after cleaning. */
export const PARTICIPANT_NAME_MAX_LENGTH = 100;

// C0 and C1 controls and DEL; bidi embeddings/overrides (U+202A–202E), isolates
// (U+2066–2069), marks (U+200E, U+200F, U+061C); line/paragraph separators.
const REMOVED = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;
// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const WHITE_SPACE = /[\s\u2028\u2029]+/g;

/** The cleaned name (possibly empty: the caller decides whether that is an error). */
export function cleanParticipantName(raw: string): string {
  const cleaned = raw.replace(LONE_SURROGATE, '').replace(REMOVED, '').replace(WHITE_SPACE, ' ').trim();
  const points = Array.from(cleaned);
  return points.length > PARTICIPANT_NAME_MAX_LENGTH ? points.slice(0, PARTICIPANT_NAME_MAX_LENGTH).join('').trimEnd() : cleaned;
}

/** The cleaned name; `VALIDATION_FAILED` when nothing printable is left. */
export function requireParticipantName(raw: string): string {
  const name = cleanParticipantName(raw);
  if (!name) throw new MeridianError('VALIDATION_FAILED', 'The participant name has no printable characters', { violations: ['participant/name: empty after removing control and bidi characters'] });
  return name;
}
