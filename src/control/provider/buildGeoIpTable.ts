/**
 * Child-process entry that derives the GeoIP table (see `openGeoIpDatabase`): reads
 * `{ cityDbPath, out }` as JSON on stdin, writes the table to `out` and prints one line
 * `RESULT {"ok":true}`, or `RESULT {"ok":false,"key":…,"message":…}` for a bad setting.
 * Runs in its own process so that the ~130 MB of MMDB it reads never count in the server.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../config/index.js';
import { openMmdbFiles } from './GeoIpDatabase.js';
import { buildGeoIpTableFile } from './GeoIpTableBuilder.js';

const spec = JSON.parse(readFileSync(0, 'utf8')) as { cityDbPath: string; out: string };
try {
  const files = openMmdbFiles(spec.cityDbPath);
  buildGeoIpTableFile({ v4: files.v4, v6: files.v6 }, spec.out, files.description);
  process.stdout.write(`RESULT ${JSON.stringify({ ok: true })}\n`);
} catch (err) {
  const e = err as Error;
  const key = err instanceof ConfigError ? err.key : undefined;
  const message = key ? e.message.replace(`invalid configuration: ${key}: `, '') : (e.stack ?? e.message);
  process.stdout.write(`RESULT ${JSON.stringify({ ok: false, ...(key ? { key } : {}), message })}\n`);
  process.exitCode = 1;
}
