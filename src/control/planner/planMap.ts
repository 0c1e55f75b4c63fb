/**
 * A world map of a plan as SVG, drawn offline (no tiles, no scripts): clients as
 * translucent discs whose area follows their joins (overlaps read as density), candidate
 * regions as grey points, recommended regions as red points with their ids. Plate carrée
 * projection with a 30° graticule; good enough to see where demand is and where the
 * recommended regions sit.
 */
import type { PlanResult } from '../../contracts/index.js';

const W = 1080;
const H = 540;
const x = (lon: number) => ((lon + 180) / 360) * W;
const y = (lat: number) => ((90 - lat) / 180) * H;
const f1 = (v: number) => v.toFixed(1);

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The SVG document for `plan`. */
export function renderPlanSvg(plan: PlanResult): string {
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H + 40}" width="${W}" height="${H + 40}" font-family="sans-serif" font-size="12">`);
  out.push(`<title>Meridian region plan: ${esc(plan.recommended.join(', '))}</title>`);
  out.push(`<rect width="${W}" height="${H}" fill="#eef3f8"/>`);
  for (let lon = -180; lon <= 180; lon += 30) out.push(`<line x1="${f1(x(lon))}" y1="0" x2="${f1(x(lon))}" y2="${H}" stroke="#cfd8e3" stroke-width="0.5"/>`);
  for (let lat = -90; lat <= 90; lat += 30) out.push(`<line x1="0" y1="${f1(y(lat))}" x2="${W}" y2="${f1(y(lat))}" stroke="${lat === 0 ? '#aab6c4' : '#cfd8e3'}" stroke-width="0.5"/>`);
  const maxJoins = plan.clients.reduce((m, c) => Math.max(m, c.joins), 1);
  out.push('<g fill="#2b6cb0" fill-opacity="0.25" stroke="none">');
  for (const c of plan.clients) out.push(`<circle cx="${f1(x(c.lon))}" cy="${f1(y(c.lat))}" r="${f1(2 + 14 * Math.sqrt(c.joins / maxJoins))}"/>`);
  out.push('</g>');
  const rec = new Set(plan.recommended);
  for (const r of plan.candidates) {
    const chosen = rec.has(r.id);
    out.push(`<circle cx="${f1(x(r.lon))}" cy="${f1(y(r.lat))}" r="${chosen ? 6 : 3}" fill="${chosen ? '#c53030' : '#718096'}" stroke="#fff" stroke-width="1"><title>${esc(r.id)} (${esc(r.name)})</title></circle>`);
    if (chosen) out.push(`<text x="${f1(x(r.lon) + 8)}" y="${f1(y(r.lat) + 4)}" fill="#742a2a">${esc(r.id)}</text>`);
  }
  const gain = plan.nextGain ? `; +${esc(plan.nextGain.regionId)} would give p95 ${plan.nextGain.p95Ms} ms` : '';
  out.push(
    `<text x="8" y="${H + 26}" fill="#1a202c">${plan.recommended.length} regions: p50 ${plan.p50Ms} ms, p95 ${plan.p95Ms} ms over ${plan.joins} joins from ${plan.prefixes} prefixes${gain}. Locations: IP geolocation by DB-IP (db-ip.com).</text>`,
  );
  out.push('</svg>');
  return out.join('\n');
}
