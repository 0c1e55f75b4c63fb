/**
 * Table types for Kysely. One schema for embedded (PGlite) and distributed (PostgreSQL):
 * both speak the same SQL dialect, so there is one set of migrations.
 */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** PostgreSQL returns BIGINT as a string; we only store ms timestamps that fit in a double. */
type BigIntMs = ColumnType<string | number, number, number>;

export interface RegionsTable {
  id: string;
  name: string;
  lat: number;
  lon: number;
  status: string;
  capacity: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface NodesTable {
  id: string;
  region_id: string;
  url: string;
  capacity: number;
  status: string;
  participants: number;
  meetings: number;
  tracks: number;
  packets_per_second: number;
  cpu: number;
  last_heartbeat_at: BigIntMs;
  registered_at: Timestamp;
}

export interface MeetingsTable {
  id: string;
  app_id: string;
  force_region: string | null;
  status: string;
  region_id: string | null;
  node_id: string | null;
  /** Bumped each time the meeting is placed or its node set changes; lets copies of the room manager detect races. */
  epoch: Generated<number>;
  created_at: Timestamp;
  placed_at: Timestamp | null;
  ended_at: Timestamp | null;
  /** Last created, placed, joined (throttled) or ended: drives expiry and the release of unconnected placements. */
  active_at: Generated<Date>;
}

/**
 * The nodes of a live meeting, home included (migration 005). Changed only together with an
 * epoch-guarded UPDATE of the meeting's row, in one transaction.
 */
export interface MeetingNodesTable {
  app_id: string;
  meeting_id: string;
  node_id: string;
  region_id: string;
  /** `home` (the node `meetings.node_id` names), `regional` or `overflow`. */
  role: string;
  added_at: Timestamp;
}

export interface ApiKeysTable {
  id: string;
  app_id: string;
  /** SHA-256 of the key (keys are 256-bit random, so a fast hash is enough). */
  hash: string;
  label: string | null;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
  /** Last verification by a gateway (throttled to one write a minute); migration 003. */
  last_used_at: Timestamp | null;
}

export interface SecretsTable {
  name: string;
  value: string;
  created_at: Timestamp;
}

/**
 * RTT measurements per client network prefix (IPv4 /24, IPv6 /48) and region: never per
 * address. `values_json` holds the most recent probe results as `[[rttMs, atMs], …]`.
 */
export interface PrefixMeasurementsTable {
  prefix: string;
  region_id: string;
  values_json: string;
  updated_at: BigIntMs;
}

/** Joins per client network prefix, with the prefix's GeoIP location: the planner's demand. */
export interface PrefixJoinsTable {
  prefix: string;
  lat: number;
  lon: number;
  joins: number;
  updated_at: BigIntMs;
}

export interface Database {
  regions: RegionsTable;
  nodes: NodesTable;
  meetings: MeetingsTable;
  meeting_nodes: MeetingNodesTable;
  api_keys: ApiKeysTable;
  secrets: SecretsTable;
  prefix_measurements: PrefixMeasurementsTable;
  prefix_joins: PrefixJoinsTable;
}
