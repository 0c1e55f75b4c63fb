import type { Migration } from 'kysely';
import * as m001 from './001_initial.js';
import * as m002 from './002_meetings_per_app.js';
import * as m003 from './003_key_last_used.js';
import * as m004 from './004_prefix_measurements.js';
import * as m005 from './005_meeting_nodes.js';

/** Every migration, in order. Names never change once released. */
export const MIGRATIONS: Record<string, Migration> = {
  '001_initial': m001,
  '002_meetings_per_app': m002,
  '003_key_last_used': m003,
  '004_prefix_measurements': m004,
  '005_meeting_nodes': m005,
};
