/**
 * Distance and round-trip-time estimates between two points on Earth.
 *
 * The model is deliberately simple: light in fibre covers `fibreKmPerMs` km per ms, real
 * routes are longer than the great circle by `routeFactor`, and every round trip pays a
 * fixed `baseMs` (switching, last mile). `scripts/calibrate-latency.ts` fits the last two
 * against measured AWS inter-region RTTs; docs/ranking.md records the fit and its error.
 */

/** Mean Earth radius (IUGG), km. */
export const EARTH_RADIUS_KM = 6371.0088;

const RAD = Math.PI / 180;

/** A point in degrees. */
export interface GeoPoint {
  readonly lat: number;
  readonly lon: number;
}

/** Parameters of the latency model (the `latency` section of the configuration). */
export interface LatencyModelOptions {
  /** Speed of light in fibre, km per millisecond (about 204). */
  readonly fibreKmPerMs: number;
  /** Measured RTT over great-circle fibre RTT. */
  readonly routeFactor: number;
  /** Fixed RTT added to every estimate, ms. */
  readonly baseMs: number;
}

/**
 * Great-circle distance in km (haversine). Accurate to about 0.5 % against the ellipsoid,
 * far better than the uncertainty of a GeoIP position.
 */
export function greatCircleKm(aLat: number, aLon: number, bLat: number, bLon: number): number {
  const dLat = (bLat - aLat) * RAD;
  const dLon = (bLon - aLon) * RAD;
  const s1 = Math.sin(dLat / 2);
  const s2 = Math.sin(dLon / 2);
  const h = s1 * s1 + Math.cos(aLat * RAD) * Math.cos(bLat * RAD) * s2 * s2;
  // min() guards against h creeping above 1 through rounding for antipodal points.
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Estimates RTT from distance with the calibrated fibre model. */
export class LatencyModel {
  readonly #kmPerMs: number;
  readonly #routeFactor: number;
  readonly #baseMs: number;

  constructor(opts: LatencyModelOptions) {
    if (!(opts.fibreKmPerMs > 0)) throw new RangeError(`fibreKmPerMs must be > 0 (got ${opts.fibreKmPerMs})`);
    if (!(opts.routeFactor > 0)) throw new RangeError(`routeFactor must be > 0 (got ${opts.routeFactor})`);
    if (!(opts.baseMs >= 0)) throw new RangeError(`baseMs must be >= 0 (got ${opts.baseMs})`);
    this.#kmPerMs = opts.fibreKmPerMs;
    this.#routeFactor = opts.routeFactor;
    this.#baseMs = opts.baseMs;
  }

  /** Great-circle distance between two points, km. */
  distanceKm(a: GeoPoint, b: GeoPoint): number {
    return greatCircleKm(a.lat, a.lon, b.lat, b.lon);
  }

  /** Estimated RTT for a great-circle distance: `baseMs + 2·d·routeFactor / fibreKmPerMs`. */
  rttMs(distanceKm: number): number {
    return this.#baseMs + (2 * distanceKm * this.#routeFactor) / this.#kmPerMs;
  }

  /** The parameters in use (for logs and `/status` answers). */
  get options(): LatencyModelOptions {
    return { fibreKmPerMs: this.#kmPerMs, routeFactor: this.#routeFactor, baseMs: this.#baseMs };
  }
}
