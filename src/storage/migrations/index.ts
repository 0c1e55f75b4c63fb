import type { Migration } from 'kysely';
import * as m001 from './001_initial.js';
import * as m004 from './004_prefix_measurements.js';

/** Every migration, in order. Names never change once released. */
export const MIGRATIONS: Record<string, Migration> = {
  '001_initial': m001,
  '004_prefix_measurements': m004,
};
