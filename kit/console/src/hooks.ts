// Loading a value from Kit: state for the page, a reload for after an action or a live event.
import { useCallback, useEffect, useRef, useState } from "react";
import { describeError, errorCode } from "./api";

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  /** The typed error's code (NOT_FOUND, FORBIDDEN, …) when the load failed with one. */
  errorCode: string | undefined;
  loading: boolean;
  reload(): Promise<void>;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<{ message: string; code: string | undefined }>();
  const [loading, setLoading] = useState(true);
  const latest = useRef(load);
  latest.current = load;
  const generation = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const value = await latest.current();
      if (mine !== generation.current) return;
      setData(value);
      setError(undefined);
    } catch (caught) {
      if (mine !== generation.current) return;
      setError({ message: describeError(caught), code: errorCode(caught) });
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  // The caller names what the load depends on (plain values); a change of any of them reloads.
  const key = JSON.stringify(deps);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for the caller's dependencies
  useEffect(() => {
    void reload();
  }, [reload, key]);

  return { data, error: error?.message, errorCode: error?.code, loading, reload };
}
