// pg_restore 15's own output (captured from a real run), fed line by line.
import { describe, expect, it } from 'vitest';
import { RestoreProgressTracker } from './restore-progress.js';

const LIST = `;
; Archive created at 2026-11-26 16:26:51 UTC
;     dbname: exp
;     TOC Entries: 16
;
; Selected TOC Entries:
;
214; 1259 16385 TABLE public a postgres
216; 1259 16393 TABLE public b postgres
215; 1259 16392 SEQUENCE public b_id_seq postgres
3363; 0 0 SEQUENCE OWNED BY public b_id_seq postgres
217; 1259 16402 VIEW public v postgres
3205; 2604 16396 DEFAULT public b id postgres
3354; 0 16385 TABLE DATA public a postgres
3356; 0 16393 TABLE DATA public b postgres
3364; 0 0 SEQUENCE SET public b_id_seq postgres
3207; 2606 16391 CONSTRAINT public a a_pkey postgres
3210; 2606 16400 CONSTRAINT public b b_pkey postgres
3208; 1259 16401 INDEX public a_t_idx postgres
`;
// Table a holds almost all the data.
const SIZES = new Map([
  ['3354', 1_091_959],
  ['3356', 4_453],
]);

const PARALLEL = `pg_restore: connecting to database for restore
pg_restore: processing item 3359 ENCODING ENCODING
pg_restore: processing item 214 TABLE a
pg_restore: creating TABLE "public.a"
pg_restore: processing item 216 TABLE b
pg_restore: creating TABLE "public.b"
pg_restore: processing item 215 SEQUENCE b_id_seq
pg_restore: processing item 3363 SEQUENCE OWNED BY b_id_seq
pg_restore: processing item 217 VIEW v
pg_restore: processing item 3205 DEFAULT b id
pg_restore: entering main parallel loop
pg_restore: launching item 3354 TABLE DATA a
pg_restore: launching item 3356 TABLE DATA b
pg_restore: finished item 3356 TABLE DATA b
pg_restore: launching item 3210 CONSTRAINT b b_pkey
pg_restore: finished item 3210 CONSTRAINT b b_pkey
pg_restore: finished item 3364 SEQUENCE SET b_id_seq
pg_restore: finished item 3354 TABLE DATA a
pg_restore: finished item 3207 CONSTRAINT a a_pkey
pg_restore: finished item 3208 INDEX a_t_idx
pg_restore: finished main parallel loop`.split('\n');

const SERIAL = `pg_restore: connecting to database for restore
pg_restore: creating TABLE "public.a"
pg_restore: creating TABLE "public.b"
pg_restore: creating SEQUENCE "public.b_id_seq"
pg_restore: creating SEQUENCE OWNED BY "public.b_id_seq"
pg_restore: creating VIEW "public.v"
pg_restore: creating DEFAULT "public.b id"
pg_restore: processing data for table "public.a"
pg_restore: processing data for table "public.b"
pg_restore: executing SEQUENCE SET b_id_seq
pg_restore: creating CONSTRAINT "public.a a_pkey"
pg_restore: creating CONSTRAINT "public.b b_pkey"
pg_restore: creating INDEX "public.a_t_idx"`.split('\n');

function feed(tracker: RestoreProgressTracker, lines: string[]): number[] {
  const fractions: number[] = [];
  for (const line of lines) if (tracker.line(line)) fractions.push(tracker.fraction());
  return fractions;
}

describe('restore progress from pg_restore --verbose', () => {
  it('counts the TOC entries of pg_restore --list', () => {
    expect(new RestoreProgressTracker(LIST, SIZES, true).entryCount).toBe(12);
  });

  it('parallel: finished items, weighted by their data, rising to just below 1', () => {
    const tracker = new RestoreProgressTracker(LIST, SIZES, true);
    const fractions = feed(tracker, PARALLEL);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    // Until table a's data is in, most of the work is still ahead.
    const beforeA = PARALLEL.indexOf('pg_restore: finished item 3354 TABLE DATA a');
    const early = new RestoreProgressTracker(LIST, SIZES, true);
    feed(early, PARALLEL.slice(0, beforeA));
    expect(early.fraction()).toBeLessThan(0.2);
    expect(tracker.fraction()).toBe(0.99);
    expect(tracker.doneCount()).toBe(12);
  });

  it('one job: an entry is done when the next starts, the big table by its size', () => {
    const tracker = new RestoreProgressTracker(LIST, SIZES, false);
    const atB = SERIAL.indexOf('pg_restore: processing data for table "public.b"');
    feed(tracker, SERIAL.slice(0, atB));
    const beforeA = tracker.fraction();
    tracker.line(SERIAL[atB]!);
    expect(tracker.fraction() - beforeA).toBeGreaterThan(0.5);
    feed(tracker, SERIAL.slice(atB + 1));
    expect(tracker.doneCount()).toBe(11);
    expect(tracker.fraction()).toBeGreaterThan(0.9);
    expect(tracker.fraction()).toBeLessThan(1);
  });

  it('ignores lines that are not progress', () => {
    const tracker = new RestoreProgressTracker(LIST, SIZES, true);
    expect(tracker.line('pg_restore: connecting to database for restore')).toBe(false);
    expect(tracker.line('pg_restore: processing item 3359 ENCODING ENCODING')).toBe(false);
    expect(tracker.fraction()).toBe(0);
  });
});
