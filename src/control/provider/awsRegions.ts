/**
 * The AWS regions Meridian knows by id, with approximate coordinates (city centroids; AWS
 * publishes no exact sites). Copied from `aws-regions.csv` in the shared reference data, so
 * the CLI and the first-start defaults can add `us-east-1` without typing coordinates.
 */

/** One well-known region: its id, the city it sits in, and where that is. */
export interface AwsRegion {
  /** AWS region id, used as the Meridian region id. */
  readonly id: string;
  /** City (and area) of the region; becomes the region's display name. */
  readonly name: string;
  readonly lat: number;
  readonly lon: number;
}

/** All known AWS regions, in the order of the reference CSV. */
export const AWS_REGIONS: readonly AwsRegion[] = Object.freeze(
  [
    { id: 'us-east-1', name: 'Ashburn (N. Virginia)', lat: 39.04, lon: -77.49 },
    { id: 'us-west-2', name: 'Boardman (Oregon)', lat: 45.46, lon: -119.63 },
    { id: 'eu-west-1', name: 'Dublin', lat: 53.35, lon: -6.27 },
    { id: 'eu-central-1', name: 'Frankfurt', lat: 50.11, lon: 8.68 },
    { id: 'ap-south-1', name: 'Mumbai', lat: 19.08, lon: 72.88 },
    { id: 'ap-southeast-1', name: 'Singapore', lat: 1.29, lon: 103.85 },
    { id: 'ap-northeast-1', name: 'Tokyo', lat: 35.69, lon: 139.69 },
    { id: 'sa-east-1', name: 'Sao Paulo', lat: -23.53, lon: -46.63 },
    { id: 'ap-southeast-2', name: 'Sydney', lat: -33.87, lon: 151.21 },
    { id: 'af-south-1', name: 'Cape Town', lat: -33.92, lon: 18.42 },
    { id: 'me-central-1', name: 'Abu Dhabi', lat: 24.45, lon: 54.38 },
  ].map((r) => Object.freeze(r)),
);

const BY_ID: ReadonlyMap<string, AwsRegion> = new Map(AWS_REGIONS.map((r) => [r.id, r]));

/** The known AWS region with this id, or `undefined`. */
export function findAwsRegion(id: string): AwsRegion | undefined {
  return BY_ID.get(id);
}
