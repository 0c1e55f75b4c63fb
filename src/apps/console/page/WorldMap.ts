/**
 * The world map, drawn offline: Natural Earth country outlines from world-atlas (110 m,
 * copied into the console's assets by the build and served by the gateway), projected with d3-geo (Natural Earth projection) into an SVG. Regions are points
 * coloured by state and sized by participants; the routing explorer adds the client and
 * great-circle lines to its ranked regions; the planner's choice is a dashed ring.
 */
import { geoGraticule10, geoNaturalEarth1, geoPath, type GeoPermissibleObjects } from 'd3-geo';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import { svg } from './format.js';

/** A region as the map draws it. */
export interface MapRegion {
  readonly id: string;
  readonly name: string;
  readonly lat: number;
  readonly lon: number;
  readonly status: string;
  readonly participants: number;
}

/** The routing explorer's answer as the map draws it. */
export interface MapRoute {
  readonly client: { lat: number; lon: number; label: string };
  readonly regions: ReadonlyArray<{ id: string; lat: number; lon: number }>;
}

const WIDTH = 960;
const HEIGHT = 500;

export class WorldMap {
  readonly #root: SVGSVGElement;
  readonly #regionsLayer: SVGGElement;
  readonly #routeLayer: SVGGElement;
  readonly #planLayer: SVGGElement;
  readonly #projection = geoNaturalEarth1();
  readonly #path = geoPath(this.#projection);
  readonly #onSelect: (id: string, viaKeyboard: boolean) => void;
  #selected: string | null = null;
  #regions: readonly MapRegion[] = [];
  readonly #points = new Map<string, SVGGElement>();

  /** `atlas` is world-atlas's `countries-110m.json`. */
  constructor(container: HTMLElement, atlas: unknown, onSelect: (id: string, viaKeyboard: boolean) => void) {
    this.#onSelect = onSelect;
    const topo = atlas as Topology<{ countries: GeometryCollection }>;
    const land = feature(topo, topo.objects.countries);
    this.#projection.fitExtent(
      [
        [4, 4],
        [WIDTH - 4, HEIGHT - 4],
      ],
      { type: 'Sphere' },
    );
    this.#root = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'group', 'aria-label': 'World map of regions' });
    this.#root.append(
      svg('path', { class: 'sphere', d: this.#path({ type: 'Sphere' }) ?? '' }),
      svg('path', { class: 'graticule', d: this.#path(geoGraticule10()) ?? '' }),
      svg('path', { class: 'land', d: this.#path(land as GeoPermissibleObjects) ?? '' }),
    );
    this.#planLayer = svg('g', { class: 'plan-layer' });
    this.#routeLayer = svg('g', { class: 'route-layer' });
    this.#regionsLayer = svg('g', { class: 'regions-layer' });
    this.#root.append(this.#planLayer, this.#routeLayer, this.#regionsLayer);
    container.replaceChildren(this.#root);
  }

  /** Screen position of a place, or null when the projection cannot show it. */
  #xy(lon: number, lat: number): [number, number] | null {
    return this.#projection([lon, lat]);
  }

  /**
   * Draws the region points. A point that stays is updated in place (keeping keyboard focus
   * and any pointer on it); points of removed regions go.
   */
  setRegions(regions: readonly MapRegion[]): void {
    this.#regions = regions;
    const keep = new Set<string>();
    for (const r of regions) {
      const p = this.#xy(r.lon, r.lat);
      if (!p) continue;
      keep.add(r.id);
      const g = this.#points.get(r.id) ?? this.#newPoint(r.id);
      const radius = 8 + Math.min(20, Math.sqrt(r.participants) * 2);
      const text = `${r.id} (${r.name}): ${r.status}, ${r.participants} participants`;
      g.setAttribute('class', `region ${r.status}${r.id === this.#selected ? ' selected' : ''}`);
      g.setAttribute('transform', `translate(${p[0].toFixed(1)},${p[1].toFixed(1)})`);
      g.setAttribute('aria-label', text);
      g.querySelector('title')!.textContent = text;
      g.querySelector('circle')!.setAttribute('r', radius.toFixed(1));
      g.querySelector('text')!.setAttribute('x', (radius + 3).toFixed(1));
    }
    for (const [id, g] of this.#points) {
      if (keep.has(id)) continue;
      g.remove();
      this.#points.delete(id);
    }
  }

  #newPoint(id: string): SVGGElement {
    const g = svg('g', { tabindex: 0, role: 'button', 'data-region': id });
    const label = svg('text', { y: 5 });
    label.textContent = id;
    g.append(svg('title'), svg('circle'), label);
    g.addEventListener('click', () => this.#onSelect(id, false));
    g.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        this.#onSelect(id, true);
      }
    });
    this.#regionsLayer.append(g);
    this.#points.set(id, g);
    return g;
  }

  /** Marks the selected region. */
  select(id: string | null): void {
    this.#selected = id;
    this.setRegions(this.#regions);
  }

  /** Draws the routing explorer's answer (or clears it). */
  setRoute(route: MapRoute | null): void {
    if (!route) return void this.#routeLayer.replaceChildren();
    const items: SVGElement[] = [];
    route.regions.forEach((r, i) => {
      const line = { type: 'LineString' as const, coordinates: [[route.client.lon, route.client.lat], [r.lon, r.lat]] };
      items.push(svg('path', { class: `route${i === 0 ? ' first' : ''}`, d: this.#path(line) ?? '' }));
      const p = this.#xy(r.lon, r.lat);
      if (p) {
        const t = svg('text', { class: 'route-label', x: (p[0] - 4).toFixed(1), y: (p[1] - 10).toFixed(1) });
        t.textContent = String(i + 1);
        items.push(t);
      }
    });
    const c = this.#xy(route.client.lon, route.client.lat);
    if (c) {
      const g = svg('g', { class: 'client', transform: `translate(${c[0].toFixed(1)},${c[1].toFixed(1)})` });
      const title = svg('title');
      title.textContent = `client: ${route.client.label}`;
      g.append(title, svg('circle', { r: 6 }));
      items.push(g);
    }
    this.#routeLayer.replaceChildren(...items);
  }

  /** Rings the regions the planner recommends (or clears them). */
  setPlan(regionIds: readonly string[]): void {
    const rings: SVGElement[] = [];
    for (const id of regionIds) {
      const r = this.#regions.find((x) => x.id === id);
      const p = r && this.#xy(r.lon, r.lat);
      if (p) rings.push(svg('circle', { class: 'plan', cx: p[0].toFixed(1), cy: p[1].toFixed(1), r: 26 }));
    }
    this.#planLayer.replaceChildren(...rings);
  }
}
