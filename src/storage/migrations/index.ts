import type { Migration } from 'kysely';
import * as m001 from './001_initial.js';
import * as m002 from './002_meetings_per_app.js';

/** Every migration, in order. Names never change once released. */
export const MIGRATIONS: Record<string, Migration> = {
  '001_initial': m001,
  '002_meetings_per_app': m002,
};
