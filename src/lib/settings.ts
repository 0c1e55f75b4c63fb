/**
 * What every settings object (the platform configuration, a meeting node's settings) does
 * after merging its sources: validate against its schema, naming the first bad key as a
 * dotted path, then freeze.
 */
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** The first value `schema` refuses: its dotted key (`geoip.cacheSize`), why, and what was given. */
export interface SettingProblem {
  readonly key: string;
  readonly message: string;
  readonly value: unknown;
  /** The key is not in the schema at all (a typo in a file). */
  readonly unknownKey: boolean;
}

/** The first problem `schema` finds in `value`, or undefined when it is valid. */
export function firstSettingProblem(schema: TSchema, value: unknown): SettingProblem | undefined {
  const first = Value.Errors(schema, value).First();
  if (!first) return undefined;
  const key = first.path.replace(/^\//, '').replaceAll('/', '.') || '(root)';
  return { key, message: first.message, value: first.value, unknownKey: first.message.includes('Unexpected property') };
}

/** Freezes `o` and everything in it; returns it. */
export function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
