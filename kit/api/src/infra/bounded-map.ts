// A per-process memo or copy store with a bound: past `max` entries, the oldest inserted goes first.
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();
  constructor(private readonly max: number) {}
  get size(): number {
    return this.entries.size;
  }
  get(key: K): V | undefined {
    return this.entries.get(key);
  }
  set(key: K, value: V): void {
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, value);
  }
  delete(key: K): void {
    this.entries.delete(key);
  }
  clear(): void {
    this.entries.clear();
  }
}
