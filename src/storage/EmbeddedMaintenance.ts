/**
 * What autovacuum does for a PostgreSQL server, done for the embedded engine, which has none.
 *
 * PGlite runs PostgreSQL's single-user backend inside this process: no autovacuum worker,
 * so nothing ever vacuums or analyzes its tables.
 * - Without statistics the planner guesses. At 7,000 live meetings it ran the batched node
 *   addition as a sequential scan of every meeting and a hash join (3 ms of a 9 ms statement,
 *   growing with the table); analyzed, it takes one primary-key lookup per meeting
 *   (docs/performance.md, section 7).
 * - Without vacuum, the old versions of updated rows and their index entries stay. A meeting
 *   row is rewritten at every placement, node change and activity stamp, so the tables and
 *   their indexes would grow for as long as the process runs.
 *
 * The rule: every `intervalMs`, each table's size in pages is compared with its size at its
 * last VACUUM (`pg_class.relpages`, which VACUUM sets). A table at least `minPages` large
 * that grew by more than `growth` since then is vacuumed and analyzed. Growth is both what
 * makes old statistics wrong and what dead rows cause, so one measure serves both. Tables
 * are done one at a time, each in its own turn of the event loop: the engine runs on it, and
 * a VACUUM of a table of thousands of rows takes tens of milliseconds.
 */
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from './schema.js';

export interface EmbeddedMaintenanceOptions {
  /** How often the tables are looked at (default 30 s). */
  intervalMs?: number;
  /** Growth since the last VACUUM that makes a table due, as a fraction (default 0.2, like autovacuum's scale factor). */
  growth?: number;
  /** Smaller tables are left alone (default 8 pages, 64 KiB): the planner reads them whole anyway. */
  minPages?: number;
  logger?: Logger;
}

interface TableSize {
  name: string;
  /** Pages now. */
  pages: number;
  /** Pages at the last VACUUM or ANALYZE; 0 if never. */
  pagesThen: number;
}

export class EmbeddedMaintenance {
  readonly #db: Kysely<Database>;
  readonly #intervalMs: number;
  readonly #growth: number;
  readonly #minPages: number;
  readonly #log: Logger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<string[]> | undefined;
  #stopped = false;

  constructor(db: Kysely<Database>, opts: EmbeddedMaintenanceOptions = {}) {
    this.#db = db;
    this.#intervalMs = opts.intervalMs ?? 30_000;
    this.#growth = opts.growth ?? 0.2;
    this.#minPages = opts.minPages ?? 8;
    this.#log = opts.logger;
  }

  /** Looks at the tables every `intervalMs` until `stop()`; the timer does not keep the process alive. */
  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => void this.runOnce(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a pass under way (the database is about to close). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => {});
  }

  /** One pass: vacuums and analyzes the tables that are due; returns their names. Never throws. */
  runOnce(): Promise<string[]> {
    this.#running ??= this.#pass().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #pass(): Promise<string[]> {
    const done: string[] = [];
    try {
      for (const t of await this.#sizes()) {
        if (this.#stopped) break;
        if (t.pages < this.#minPages || t.pages <= t.pagesThen * (1 + this.#growth)) continue;
        // Each table in its own turn of the event loop, so requests are answered in between.
        await new Promise((resolve) => setImmediate(resolve));
        if (this.#stopped) break;
        const started = performance.now();
        await sql`vacuum (analyze) ${sql.table(t.name)}`.execute(this.#db);
        done.push(t.name);
        this.#log?.debug({ table: t.name, pages: t.pages, pagesBefore: t.pagesThen, ms: Math.round(performance.now() - started) }, 'embedded database: table vacuumed and analyzed');
      }
    } catch (err) {
      // The database closing, or a statement refused: the next pass tries again.
      this.#log?.debug({ err }, 'embedded database maintenance pass failed');
    }
    return done;
  }

  async #sizes(): Promise<TableSize[]> {
    const { rows } = await sql<{ name: string; pages: number | string; pages_then: number }>`
      select c.relname as name,
             pg_relation_size(c.oid) / current_setting('block_size')::integer as pages,
             c.relpages as pages_then
      from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind = 'r'
      order by c.relname`.execute(this.#db);
    return rows.map((r) => ({ name: r.name, pages: Number(r.pages), pagesThen: Number(r.pages_then) }));
  }
}
