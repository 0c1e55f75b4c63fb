/**
 * "Join as if from" for the demo: a public address per city that the bundled DB-IP City Lite
 * data places in (or right next to) that city, so the region provider ranks regions for a
 * client there. Checked against the bundled database by test/unit/client/demoRoutes.test.ts;
 * an operator's own GeoIP file may place some of them differently.
 */

/** One selectable city. */
export interface DemoCity {
  readonly id: string;
  readonly label: string;
  /** An address that geolocates there. */
  readonly ip: string;
  /** ISO country code the bundled database gives for `ip` (checked by the test). */
  readonly country: string;
}

/** The cities of the demo's "join as if from" switch, west to east. */
export const DEMO_CITIES = [
  { id: 'california', label: 'San Jose, California', ip: '13.56.0.1', country: 'US' },
  { id: 'oregon', label: 'Boardman, Oregon', ip: '34.208.0.1', country: 'US' },
  { id: 'virginia', label: 'Ashburn, Virginia', ip: '3.80.0.1', country: 'US' },
  { id: 'montreal', label: 'Montreal', ip: '99.79.0.1', country: 'CA' },
  { id: 'sao-paulo', label: 'São Paulo', ip: '18.228.0.1', country: 'BR' },
  { id: 'dublin', label: 'Dublin', ip: '34.240.0.1', country: 'IE' },
  { id: 'london', label: 'London', ip: '81.2.69.142', country: 'GB' },
  { id: 'paris', label: 'Paris', ip: '15.236.0.1', country: 'FR' },
  { id: 'frankfurt', label: 'Frankfurt', ip: '2a00:1450:4001::1', country: 'DE' },
  { id: 'cape-town', label: 'Cape Town', ip: '13.244.0.1', country: 'ZA' },
  { id: 'bahrain', label: 'Manama, Bahrain', ip: '15.185.0.1', country: 'BH' },
  { id: 'mumbai', label: 'Mumbai', ip: '49.36.0.1', country: 'IN' },
  { id: 'singapore', label: 'Singapore', ip: '13.228.0.1', country: 'SG' },
  { id: 'seoul', label: 'Seoul', ip: '13.124.0.1', country: 'KR' },
  { id: 'tokyo', label: 'Tokyo', ip: '126.0.0.1', country: 'JP' },
  { id: 'sydney', label: 'Sydney', ip: '1.1.1.1', country: 'AU' },
] as const satisfies readonly DemoCity[];

/** A city id of {@link DEMO_CITIES}. */
export type DemoCityId = (typeof DEMO_CITIES)[number]['id'];

/** The city with this id. */
export function demoCity(id: string): DemoCity | undefined {
  return DEMO_CITIES.find((c) => c.id === id);
}
