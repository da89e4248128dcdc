// Restore progress from pg_restore --verbose, measured against the archive's table of contents
// (pg_restore --list). Each TOC entry weighs a little; TABLE DATA entries also weigh their data
// file's size, so one huge table moves the bar about as much as it takes time.
//
// With --jobs > 1 pg_restore logs "processing item N" for the entries it runs before the parallel
// loop and "finished item N" inside it; with one job it only logs the start of each entry
// ("creating ...", "processing data for table ...", "executing ..."), so an entry counts as done
// when the next one starts.

interface TocEntry {
  id: string;
  weight: number;
}

const TOC_LINE = /^(\d+);\s+\d+\s+\d+\s+(.*)$/;
const TABLE_DATA = /^TABLE DATA\s+(\S+)\s+(.+)\s+\S+$/;
const SERIAL_START = /^pg_restore: (creating |processing data for table "|executing )(.*)$/;
const ITEM_DONE = /^pg_restore: (?:finished|processing) item (\d+) /;

export class RestoreProgressTracker {
  private readonly entries = new Map<string, TocEntry>();
  /** "schema.name" of TABLE DATA entries, for the serial log that names tables instead of ids. */
  private readonly tables = new Map<string, TocEntry>();
  private readonly total: number;
  private readonly base: number;
  private readonly done = new Set<string>();
  private doneWeight = 0;
  private current: number | undefined;
  private startedSerial = 0;

  /**
   * @param list stdout of pg_restore --list
   * @param dataBytes size of each data file by TOC id (from "<id>.dat.gz" in the dump folder)
   */
  constructor(
    list: string,
    dataBytes: Map<string, number>,
    private readonly parallel: boolean,
  ) {
    const parsed: { id: string; table?: string }[] = [];
    for (const line of list.split('\n')) {
      const match = TOC_LINE.exec(line.trim());
      if (!match) continue;
      const data = TABLE_DATA.exec(match[2]!);
      parsed.push({ id: match[1]!, table: data ? `${data[1]}.${data[2]}` : undefined });
    }
    const dataTotal = [...dataBytes.values()].reduce((a, b) => a + b, 0);
    // All schema entries together weigh a fifth of the data: index builds take time, DDL hardly any.
    this.base = Math.max(1, dataTotal / Math.max(1, 4 * parsed.length));
    for (const item of parsed) {
      const entry = { id: item.id, weight: this.base + (dataBytes.get(item.id) ?? 0) };
      this.entries.set(item.id, entry);
      if (item.table) this.tables.set(item.table, entry);
    }
    this.total = [...this.entries.values()].reduce((sum, e) => sum + e.weight, 0);
  }

  get entryCount(): number {
    return this.entries.size;
  }

  /** Feeds one stderr line; true when the fraction moved. */
  line(text: string): boolean {
    if (this.parallel) {
      const match = ITEM_DONE.exec(text);
      const entry = match ? this.entries.get(match[1]!) : undefined;
      if (!entry || this.done.has(entry.id)) return false;
      this.done.add(entry.id);
      this.doneWeight += entry.weight;
      return true;
    }
    const match = SERIAL_START.exec(text);
    if (!match) return false;
    const table = match[1] === 'processing data for table "' ? match[2]!.replace(/"$/, '') : undefined;
    if (this.current !== undefined) this.doneWeight += this.current;
    this.current = (table ? this.tables.get(table)?.weight : undefined) ?? this.base;
    this.startedSerial++;
    return this.startedSerial > 1;
  }

  /** 0..1; never 1 before pg_restore has exited. */
  fraction(): number {
    if (this.total === 0) return 0;
    return Math.min(0.99, this.doneWeight / this.total);
  }

  /** Entries done so far (for a message like "120 of 340 objects"). */
  doneCount(): number {
    return this.parallel ? this.done.size : Math.max(0, this.startedSerial - 1);
  }
}
