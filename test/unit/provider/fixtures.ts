/** Test fixtures for the region provider: regions and nodes with sensible defaults. */
import type { NodeInfo, Region } from '../../../src/contracts/index.js';
import { findAwsRegion } from '../../../src/control/provider/awsRegions.js';

/** The time the fixtures' heartbeats are stamped with; give directories `new ManualClock(FIXTURE_NOW)`. */
export const FIXTURE_NOW = Date.UTC(2026, 0, 1);

/** A node that can host (active, heartbeat at {@link FIXTURE_NOW}, spare capacity) unless overridden. */
export function node(regionId: string, over: Partial<NodeInfo> = {}): NodeInfo {
  return {
    id: `${regionId}-n1`,
    regionId,
    url: `wss://${regionId}.example.test/`,
    capacity: 100,
    status: 'active',
    load: { participants: 10, meetings: 1, tracks: 0, packetsPerSecond: 0, cpu: 0.1 },
    lastHeartbeatAt: FIXTURE_NOW,
    healthy: true,
    ...over,
  };
}

/** An AWS region (by id) as the registry would list it, with one good node unless overridden. */
export function region(id: string, over: Partial<Region> = {}): Region {
  const aws = findAwsRegion(id);
  if (!aws) throw new Error(`fixture: unknown AWS region ${id}`);
  return {
    id,
    name: aws.name,
    lat: aws.lat,
    lon: aws.lon,
    status: 'active',
    capacity: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    nodes: [node(id)],
    ...over,
  };
}

/** The three default regions of a fresh installation. */
export const DEFAULT_REGION_IDS = ['us-east-1', 'eu-central-1', 'ap-south-1'] as const;
